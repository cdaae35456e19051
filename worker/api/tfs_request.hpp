// tfs_request.hpp — TF Serving REST request bodies (tensorflow/serving
// tensorflow_serving/g3doc/api_rest.md) → TfsPredictRequest / TfsInput values.
//
// Owns the request schemas of POST /v1/models/{m}[/versions/{v}|/labels/{l}]:predict (row format
// {"instances": [...]} or columnar {"inputs": ...}, optional "signature_name") and :classify
// ({"examples": [{feature: value}, ...]}). An image model has one input, so a value is either an
// encoded image, {"b64": "<base64>"} (api_rest.md "Encoding binary values"), or a numeric tensor
// in its natural nested form; named ({"<input>": value}) or bare. Checking the input's name and
// the tensor's shape against the model is the handler's job (it knows the model).
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "api/api_error.hpp"
#include "api/request_limits.hpp"

namespace predictd {

enum class TfsFormat { kRow, kColumnar };

// The one input of a request, for `count` instances: encoded images or a numeric tensor.
struct TfsInput {
    std::optional<std::string> name;  // the input's name when the request names it
    std::size_t count = 0;            // instances (the batch dimension)
    std::vector<std::string> images;  // base64 text, one per instance (images)
    std::vector<float> values;        // numeric: row-major, count × the instance shape
    std::vector<std::int64_t> shape;  // numeric: one instance's shape (no batch dimension)
    bool flat = false;                // :classify: a feature is a flat list; only its length counts
    // How a message names instance i ("instances", "inputs", "examples").
    std::string where;

    [[nodiscard]] bool isImages() const { return !images.empty(); }
};

struct TfsPredictRequest {
    TfsFormat format = TfsFormat::kRow;
    TfsInput input;
};

// Errors: the JSON ones of parseJsonBody (400 invalid_json, json_too_deep); 400 invalid_request
// (neither or both of "instances" and "inputs", a signature other than "serving_default", more
// than one named input, instances of different kinds, names or shapes, a ragged or empty
// tensor, a non-number leaf, a string not wrapped as {"b64": ...}); 413 batch_too_large (more
// than limits.max_batch instances); 413 image_too_large (a "b64" longer than
// limits.max_base64_bytes).
Result<TfsPredictRequest> parseTfsPredictRequest(std::string_view body,
                                                 const RequestLimits& limits);

// {"signature_name"?, "context"?, "examples": [{"<feature>": value}, ...]}: one feature per
// example (an image model has one input; its name is free, as a tf.Example's feature names are
// the model's own), {"b64": ...} or a list of numbers. A non-empty "context" is refused (400).
// Errors as parseTfsPredictRequest.
Result<TfsInput> parseTfsClassifyRequest(std::string_view body, const RequestLimits& limits);

}  // namespace predictd
