// predictor.hpp — what the request handler needs from "the model": digits in, predictions out.
//
// DigitModel is the plain one (one forward pass per call, one thread); DynamicBatcher merges
// concurrent calls from a worker's acceptor threads into shared forward passes. The handler does
// not know which one it talks to.
#pragma once

#include <string>
#include <vector>

#include <opencv2/core/mat.hpp>

#include "api/api_error.hpp"

namespace predictd {

struct Prediction;

class Predictor {
  public:
    virtual ~Predictor() = default;
    // One Prediction per 28x28 CV_32FC1 digit, in order. Error: 500 inference_failed.
    virtual Result<std::vector<Prediction>> predict(const std::vector<cv::Mat>& digits) = 0;
    // The ONNX file behind it, for /ready.
    [[nodiscard]] virtual const std::string& path() const = 0;
};

}  // namespace predictd
