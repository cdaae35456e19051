// digit_model.cpp — ONNX loading, warm-up and batched forward passes with cv::dnn.
#include "digit_model.hpp"

#include <algorithm>
#include <cstring>
#include <exception>
#include <filesystem>
#include <system_error>
#include <utility>

#include <opencv2/core.hpp>

#include "preprocess.hpp"

namespace predictd {
namespace {

constexpr const char* kInputName = "input";
constexpr const char* kOutputName = "probabilities";
constexpr int kClasses = 10;

ApiError loadFailed(const std::string& path, const std::string& reason) {
    return ApiError{500, "model_load_failed", "cannot load model '" + path + "': " + reason};
}

ApiError inferenceFailed(const std::string& reason) {
    return ApiError{500, "inference_failed", "inference failed: " + reason};
}

std::string shapeOf(const cv::Mat& m) {
    std::string s = "[";
    for (int i = 0; i < m.dims; ++i) {
        s += (i ? "," : "") + std::to_string(m.size[i]);
    }
    return s + "]";
}

// Runs one forward pass on an [N,1,28,28] blob and returns the [N,10] output, or an error
// message. Shared by the warm-up and predict().
Result<cv::Mat> forward(cv::dnn::Net& net, const cv::Mat& blob) {
    try {
        net.setInput(blob, kInputName);
        cv::Mat out = net.forward(kOutputName);
        const int n = blob.size[0];
        if (out.dims != 2 || out.size[0] != n || out.size[1] != kClasses || out.type() != CV_32F) {
            return inferenceFailed("output '" + std::string(kOutputName) + "' has shape " +
                                   shapeOf(out) + ", expected [" + std::to_string(n) + "," +
                                   std::to_string(kClasses) + "] float32");
        }
        return out;
    } catch (const cv::Exception& e) {
        return inferenceFailed(e.err);
    } catch (const std::exception& e) {
        return inferenceFailed(e.what());
    }
}

}  // namespace

DigitModel::DigitModel(cv::dnn::Net net, std::string path)
    : net_(std::move(net)), path_(std::move(path)) {}

Result<DigitModel> DigitModel::load(const std::string& onnx_path) {
    std::error_code ec;
    const auto status = std::filesystem::status(onnx_path, ec);
    if (!std::filesystem::exists(status)) {
        return loadFailed(onnx_path, "no such file");
    }
    if (!std::filesystem::is_regular_file(status)) {
        return loadFailed(onnx_path, "not a regular file");
    }
    cv::dnn::Net net;
    try {
        net = cv::dnn::readNetFromONNX(onnx_path);
        if (net.empty()) {
            return loadFailed(onnx_path, "OpenCV read an empty network");
        }
        net.setPreferableBackend(cv::dnn::DNN_BACKEND_OPENCV);
        net.setPreferableTarget(cv::dnn::DNN_TARGET_CPU);
    } catch (const cv::Exception& e) {
        return loadFailed(onnx_path, e.err);
    } catch (const std::exception& e) {
        return loadFailed(onnx_path, e.what());
    }

    // Warm-up and contract check: a blank digit must give a [1,10] output.
    const int shape[] = {1, 1, kDigitSide, kDigitSide};
    const cv::Mat blank(4, shape, CV_32F, cv::Scalar(0));
    const auto out = forward(net, blank);
    if (!out.ok()) {
        return loadFailed(onnx_path, "warm-up forward pass failed: " + out.error().message);
    }
    return DigitModel(std::move(net), onnx_path);
}

Result<std::vector<Prediction>> DigitModel::predict(const std::vector<cv::Mat>& digits) {
    std::vector<Prediction> predictions;
    if (digits.empty()) {
        return predictions;
    }
    // Build the [N,1,28,28] blob directly: one copy of each digit, no intermediate Mats.
    const int n = static_cast<int>(digits.size());
    const int shape[] = {n, 1, kDigitSide, kDigitSide};
    cv::Mat blob;
    try {
        blob.create(4, shape, CV_32F);
        constexpr std::size_t kDigitBytes = sizeof(float) * kDigitSide * kDigitSide;
        for (int i = 0; i < n; ++i) {
            const cv::Mat& d = digits[static_cast<std::size_t>(i)];
            if (d.type() != CV_32FC1 || d.rows != kDigitSide || d.cols != kDigitSide ||
                d.dims != 2) {
                return inferenceFailed("digit " + std::to_string(i) +
                                       " is not a 28x28 single-channel float image");
            }
            float* dst = blob.ptr<float>(i);
            if (d.isContinuous()) {
                std::memcpy(dst, d.ptr<float>(0), kDigitBytes);
            } else {
                for (int r = 0; r < kDigitSide; ++r) {
                    std::memcpy(dst + r * kDigitSide, d.ptr<float>(r), sizeof(float) * kDigitSide);
                }
            }
        }
    } catch (const cv::Exception& e) {
        return inferenceFailed(e.err);
    }

    const auto out = forward(net_, blob);
    if (!out.ok()) {
        return out.error();
    }
    const cv::Mat& probs = out.value();
    predictions.reserve(digits.size());
    for (int i = 0; i < n; ++i) {
        const float* row = probs.ptr<float>(i);
        Prediction p;
        std::copy(row, row + kClasses, p.probabilities.begin());
        const auto best = std::max_element(p.probabilities.begin(), p.probabilities.end());
        p.label = static_cast<int>(best - p.probabilities.begin());
        p.confidence = *best;
        predictions.push_back(p);
    }
    return predictions;
}

}  // namespace predictd
