// response_encode.hpp — predictions and errors → the JSON response bodies.
//
// Owns the response schema. Numbers are written with 4 decimal digits (0.99812 -> 0.9981).
#pragma once

#include <string>
#include <vector>

#include "api/api_error.hpp"
#include "models/digit_model.hpp"

namespace predictd {

// {"prediction":7,"confidence":0.9981,"probabilities":[p0,...,p9]}
std::string encodePrediction(const Prediction& prediction);

// The same through jsoncpp's writer: the reference encodePrediction is tested against.
std::string encodePredictionWithJsoncpp(const Prediction& prediction);

// {"predictions":[{...as encodePrediction...},...]}
std::string encodeBatch(const std::vector<Prediction>& predictions);

// {"error":{"code":"...","message":"..."}}
std::string encodeError(const ApiError& error);

}  // namespace predictd
