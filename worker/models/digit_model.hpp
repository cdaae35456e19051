// digit_model.hpp — the MNIST classifier: an ONNX network run with OpenCV's dnn module.
//
// Owns the model contract (input "input" [N,1,28,28] float32 in [0,1]; output
// "probabilities" [N,10], softmax applied), loading with a warm-up pass, and batched
// inference. Knows nothing of HTTP, JSON or image formats.
#pragma once

#include <array>
#include <string>
#include <vector>

#include <opencv2/core/mat.hpp>
#include <opencv2/dnn/dnn.hpp>

#include "api/api_error.hpp"
#include "models/predictor.hpp"

namespace predictd {

struct Prediction {
    int label = -1;          // argmax of probabilities, 0..9
    float confidence = 0.f;  // probabilities[label]
    std::array<float, 10> probabilities{};
};

class DigitModel : public Predictor {
  public:
    // Reads the ONNX file, selects the OpenCV backend on the CPU and runs one forward pass on a
    // blank digit to warm up and to check the output is [1,10].
    // Error: 500 model_load_failed, naming the path and OpenCV's reason.
    static Result<DigitModel> load(const std::string& onnx_path);

    // One forward pass over the whole batch. Each digit must be 28x28 CV_32FC1 (preprocessDigit's
    // output). Returns one Prediction per digit, in order; an empty batch gives an empty result.
    // Error: 500 inference_failed.
    Result<std::vector<Prediction>> predict(const std::vector<cv::Mat>& digits) override;

    [[nodiscard]] const std::string& path() const override { return path_; }

  private:
    DigitModel(const cv::dnn::Net& net, std::string path);

    cv::dnn::Net net_;
    std::string path_;
};

}  // namespace predictd
