// predict_request.hpp — the JSON body of POST /predict → a PredictRequest value.
//
// Owns the request schema ({"image": ...} or {"images": [...]}, optionally "top_k": N) and its
// errors. The images
// stay base64 text here; decoding them is base64_decode's job.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "api/api_error.hpp"
#include "api/request_limits.hpp"

namespace predictd {

struct PredictRequest {
    std::vector<std::string> images;  // base64 text, one per image, in request order
    bool batch = false;               // true for {"images": [...]}, false for {"image": ...}
    int top_k = -1;                   // "top_k": classes to list; -1: the model's default
};

// Errors (status code): 400 json_too_deep (arrays/objects nested deeper than
// limits.max_json_depth; checked first, before the JSON is parsed), 400 invalid_json (malformed,
// trailing garbage, not an object), 400 missing_field, 400 invalid_request (both keys),
// 400 wrong_type, 400 empty_batch, 413 batch_too_large (more than limits.max_batch members),
// 413 image_too_large (an image's base64 text longer than limits.max_base64_bytes; in a batch
// the message starts with "images[i]: ").
Result<PredictRequest> parsePredictRequest(std::string_view body, const RequestLimits& limits);

}  // namespace predictd
