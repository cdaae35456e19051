// response_encode.hpp — predictions and errors → the JSON response bodies.
//
// Owns the response schema. Numbers are written with 4 decimal digits (0.99812 -> 0.9981).
#pragma once

#include <string>
#include <vector>

#include "api/api_error.hpp"
#include "models/postprocess.hpp"

namespace predictd {

// Keys in alphabetical order (jsoncpp's), numbers with 4 decimals:
//   classification:    {"confidence":0.9981,"prediction":7,"probabilities":[p0,...],
//                       "top_k":[{"label":7,"score":0.9981},...]}  (top_k only when asked;
//                       "prediction" and "label" are the label name when the model has labels)
//   scores:            {"scores":{"<output>":1.25 or [...]}}
//   distribution_mean: {"distribution":[p1,...,pN],"score":5.43}
std::string encodeAnswer(const Answer& answer);

// The same through jsoncpp's writer: the reference encodeAnswer is tested against.
std::string encodeAnswerWithJsoncpp(const Answer& answer);

// {"predictions":[{...as encodeAnswer...},...]}
std::string encodeBatch(const std::vector<Answer>& answers);

// The one error renderer, in the shape of the protocol the route speaks:
//   native:                    {"error":{"code":"...","message":"..."}}
//   TF Serving, v2 (KServe):   {"error":"<message>"}  (api_rest.md; inference_rest.md)
std::string encodeError(const ApiError& error, ApiProtocol protocol = ApiProtocol::kNative);

}  // namespace predictd
