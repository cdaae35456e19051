// predictor.hpp — what the request path needs from "a model": preprocessed images in, raw
// predictions out.
//
// ImageModel is the plain one (one forward pass per call); DynamicBatcher merges concurrent
// calls from a worker's acceptor threads into shared forward passes. The handler does not know
// which one it talks to.
#pragma once

#include <string>
#include <vector>

#include <opencv2/core/mat.hpp>

#include "api/api_error.hpp"
#include "models/prediction.hpp"

namespace predictd {

class Predictor {
  public:
    virtual ~Predictor() = default;
    // One Prediction per image, in order. Each image is preprocessImage's output for this
    // model: float32, the model's input height × width, 1 or 3 channels (HWC). Error: 500
    // inference_failed.
    virtual Result<std::vector<Prediction>> predict(const std::vector<cv::Mat>& images) = 0;
};

}  // namespace predictd
