// v2_binary.hpp — Triton's binary tensor data extension (triton-inference-server/server
// docs/protocol/extension_binary_data.md) for the v2 inference routes: the byte layout only.
//
// Owns: splitting a request body into its JSON header (the first Inference-Header-Content-Length
// bytes) and the binary section that follows; reading one tensor's binary data (BYTES: each
// element a 4-byte little-endian length then its bytes; FP32 / UINT8: little-endian, row-major,
// no padding); writing an output's binary data the same way. Which tensor owns which slice is
// v2_request's and v2_response's business (the order of the JSON's inputs / outputs).
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "api/api_error.hpp"

namespace predictd {

struct V2BinaryBody {
    std::string_view json;    // the inference request object
    std::string_view binary;  // every binary tensor, in the JSON's input order
};

// `header_length`: the Inference-Header-Content-Length header's text as sent. Error: 400
// invalid_request when it is not a decimal number or exceeds the body.
Result<V2BinaryBody> splitV2BinaryBody(std::string_view body, std::string_view header_length);

// A BYTES tensor's `count` elements as views into `data` (which must hold exactly those: each a
// 4-byte little-endian length and the bytes). Errors: 400 invalid_request (truncated, too few or
// too many elements); 413 image_too_large (an element longer than `max_element_bytes`).
Result<std::vector<std::string_view>> readV2BinaryBytes(std::string_view data, std::size_t count,
                                                        std::size_t max_element_bytes,
                                                        const std::string& where);

// An FP32 or UINT8 tensor's `count` elements, as floats. Error: 400 invalid_request when `data`
// is not exactly count × the element size.
Result<std::vector<float>> readV2BinaryNumbers(std::string_view data, std::string_view datatype,
                                               std::size_t count, const std::string& where);

// Appends the binary form of an FP32 tensor or of BYTES elements to `out`; returns the bytes
// written (the output's "binary_data_size").
std::size_t appendV2BinaryFloats(std::string& out, const std::vector<float>& values);
std::size_t appendV2BinaryBytes(std::string& out, const std::vector<std::string>& elements);

}  // namespace predictd
