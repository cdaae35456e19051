// digit_model.cpp — ONNX loading, warm-up and batched forward passes with cv::dnn.
#include "models/digit_model.hpp"

#include <algorithm>
#include <array>
#include <cstring>
#include <exception>
#include <filesystem>
#include <iterator>
#include <system_error>
#include <utility>

#include <opencv2/core.hpp>

#include "models/preprocess.hpp"

namespace predictd {
namespace {

constexpr const char* kInputName = "input";
constexpr const char* kOutputName = "probabilities";
constexpr int kClasses = 10;
constexpr std::size_t kDigitFloats = std::size_t{kDigitSide} * kDigitSide;

ApiError loadFailed(const std::string& path, const std::string& reason) {
    return ApiError{500, "model_load_failed", "cannot load model '" + path + "': " + reason};
}

ApiError inferenceFailed(const std::string& reason) {
    return ApiError{500, "inference_failed", "inference failed: " + reason};
}

std::string shapeOf(const cv::Mat& m) {
    std::string s = "[";
    for (int i = 0; i < m.dims; ++i) {
        if (i > 0) {
            s += ',';  // appended separately: GCC 12 -O3 warns (-Wrestrict) on "," + to_string
        }
        s += std::to_string(m.size[i]);
    }
    return s + "]";
}

// Runs one forward pass on an [N,1,28,28] blob and returns the [N,10] output. Shared by the
// warm-up and predict().
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

Result<cv::dnn::Net> readNet(const std::string& path) {
    std::error_code ec;
    const auto status = std::filesystem::status(path, ec);
    if (!std::filesystem::exists(status)) {
        return loadFailed(path, "no such file");
    }
    if (!std::filesystem::is_regular_file(status)) {
        return loadFailed(path, "not a regular file");
    }
    try {
        cv::dnn::Net net = cv::dnn::readNetFromONNX(path);
        if (net.empty()) {
            return loadFailed(path, "OpenCV read an empty network");
        }
        net.setPreferableBackend(cv::dnn::DNN_BACKEND_OPENCV);
        net.setPreferableTarget(cv::dnn::DNN_TARGET_CPU);
        return net;
    } catch (const cv::Exception& e) {
        return loadFailed(path, e.err);
    }
}

// Copies the digits into one [N,1,28,28] blob: one copy per digit, no intermediate Mats.
Result<cv::Mat> makeBlob(const std::vector<cv::Mat>& digits) {
    const std::array<int, 4> shape = {static_cast<int>(digits.size()), 1, kDigitSide, kDigitSide};
    cv::Mat blob(static_cast<int>(shape.size()), shape.data(), CV_32F);
    for (std::size_t i = 0; i < digits.size(); ++i) {
        const cv::Mat& d = digits[i];
        if (d.type() != CV_32FC1 || d.dims != 2 || d.rows != kDigitSide || d.cols != kDigitSide) {
            return inferenceFailed("digit " + std::to_string(i) +
                                   " is not a 28x28 single-channel float image");
        }
        auto* dst = blob.ptr<float>(static_cast<int>(i));
        if (d.isContinuous()) {
            std::memcpy(dst, d.ptr<float>(0), sizeof(float) * kDigitFloats);
            continue;
        }
        for (int r = 0; r < kDigitSide; ++r) {
            std::memcpy(dst + static_cast<std::size_t>(r) * kDigitSide, d.ptr<float>(r),
                        sizeof(float) * kDigitSide);
        }
    }
    return blob;
}

}  // namespace

DigitModel::DigitModel(const cv::dnn::Net& net, std::string path)
    : net_(net), path_(std::move(path)) {}

Result<DigitModel> DigitModel::load(const std::string& onnx_path) {
    try {
        auto net = readNet(onnx_path);
        if (!net.ok()) {
            return net.error();
        }
        // Warm-up and contract check: a blank digit must give a [1,10] output.
        const auto blank = makeBlob({cv::Mat(kDigitSide, kDigitSide, CV_32FC1, cv::Scalar(0))});
        if (!blank.ok()) {
            return loadFailed(onnx_path, blank.error().message);
        }
        const auto out = forward(net.value(), blank.value());
        if (!out.ok()) {
            return loadFailed(onnx_path, "warm-up forward pass failed: " + out.error().message);
        }
        return DigitModel(net.value(), onnx_path);
    } catch (const cv::Exception& e) {
        return loadFailed(onnx_path, e.err);
    } catch (const std::exception& e) {
        return loadFailed(onnx_path, e.what());
    }
}

Result<std::vector<Prediction>> DigitModel::predict(const std::vector<cv::Mat>& digits) {
    try {
        std::vector<Prediction> predictions;
        if (digits.empty()) {
            return predictions;
        }
        const auto blob = makeBlob(digits);
        if (!blob.ok()) {
            return blob.error();
        }
        const auto out = forward(net_, blob.value());
        if (!out.ok()) {
            return out.error();
        }
        const cv::Mat& probs = out.value();
        predictions.reserve(digits.size());
        for (int i = 0; i < probs.size[0]; ++i) {
            const auto* row = probs.ptr<float>(i);
            Prediction p;
            std::copy(row, row + kClasses, p.probabilities.begin());
            const auto best = std::max_element(p.probabilities.begin(), p.probabilities.end());
            p.label = static_cast<int>(std::distance(p.probabilities.begin(), best));
            p.confidence = *best;
            predictions.push_back(p);
        }
        return predictions;
    } catch (const cv::Exception& e) {
        return inferenceFailed(e.err);
    } catch (const std::exception& e) {
        return inferenceFailed(e.what());
    }
}

}  // namespace predictd
