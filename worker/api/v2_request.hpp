// v2_request.hpp — the Open Inference Protocol v2 (KServe v2 / Triton) inference request body
// → a V2InferRequest value.
//
// Owns the request schema of POST /v2/models/{m}[/versions/{v}]/infer as
// kserve/open-inference-protocol specification/protocol/inference_rest.md defines it ("id",
// "parameters", "inputs": [{name, shape, datatype, data}], "outputs": [{name, parameters}]) and
// Triton's classification extension (docs/protocol/extension_classification.md: an output's
// "parameters": {"classification": k}; also accepted in the request's "parameters", for every
// output). Image models take one input: BYTES (each element an encoded image, base64 in JSON,
// since JSON strings cannot carry raw bytes) or FP32 / UINT8 numbers (flat row-major or nested).
// With Triton's binary tensor data extension (v2_binary), the input's data follows the JSON as
// raw bytes ("parameters": {"binary_data_size": n}) and outputs may be asked for as binary
// ("binary_data" on an output, "binary_data_output" on the request).
// Checking the shape against the model is the handler's job (it knows the model).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "api/api_error.hpp"
#include "api/request_limits.hpp"

namespace predictd {

struct V2Input {
    std::string name;
    std::string datatype;               // "BYTES", "FP32" or "UINT8"
    std::vector<std::int64_t> shape;    // as sent (every dimension ≥ 0)
    std::vector<std::string> elements;  // BYTES in JSON: base64 text of each encoded image
    // BYTES as binary data: each encoded image's bytes, views into the request body (which
    // outlives the request). Exactly one of `elements`, `raw_elements`, `values` is filled.
    std::vector<std::string_view> raw_elements;
    std::vector<float> values;  // FP32 / UINT8: row-major
};

struct V2RequestedOutput {
    std::string name;
    int classification = 0;  // > 0: the top-k classes as "value:index[:label]" strings
    bool binary = false;     // its data as binary after the JSON (binary_data, else the default)
};

struct V2InferRequest {
    std::optional<std::string> id;
    V2Input input;
    std::vector<V2RequestedOutput> outputs;  // empty: every output of the model
    int classification = 0;                  // request-level parameters.classification
    bool binary_output = false;              // request-level parameters.binary_data_output
};

// Errors: the JSON ones of parseJsonBody (400 invalid_json, json_too_deep); 400 invalid_request
// (missing or mistyped field, no input or more than one, unknown datatype, data count ≠ the
// shape's element count, a UINT8 out of 0..255, a bad classification count); 413
// batch_too_large (more than limits.max_batch images or tensors: the shape's first dimension);
// 413 image_too_large (a BYTES element longer than limits.max_base64_bytes, or, as binary data,
// longer than the bytes that much base64 text carries).
// `header_length`: the Inference-Header-Content-Length header when the request has one: the
// JSON is then the body's first that many bytes and the binary tensor data follows. Binary
// errors (400 invalid_request): a binary_data_size without the header, or with "data" too;
// sizes that do not add up to the binary section; data that does not fit the shape.
Result<V2InferRequest> parseV2InferRequest(
    std::string_view body, const RequestLimits& limits,
    std::optional<std::string_view> header_length = std::nullopt);

}  // namespace predictd
