// opencv_backend.cpp — the OpenCV DNN engine (cv::dnn::readNetFromONNX, CPU, OpenCV's own
// backend). Kept for models ONNX Runtime is not wanted for; it cannot load everything ONNX
// Runtime can (torch's MobileNetV2 export, for one: FIELD-NOTES) and is slower, so it is not the
// default. OpenCV does not report input shapes: the model's config must declare the input size.
#include <filesystem>
#include <system_error>
#include <utility>

#include <opencv2/core.hpp>
#include <opencv2/dnn/dnn.hpp>

#include "models/backends/inference_backend.hpp"

namespace predictd {
namespace {

class OpenCvDnnBackend final : public InferenceBackend {
  public:
    OpenCvDnnBackend(cv::dnn::Net net, std::string input_name)
        : net_(std::move(net)), input_name_(std::move(input_name)) {
        inputs_.push_back({input_name_, {}});
        for (const auto& n : net_.getUnconnectedOutLayersNames()) {
            outputs_.push_back({n, {}});
        }
    }

    Result<std::vector<BatchOutput>> run(const cv::Mat& blob,
                                         const std::vector<std::string>& names) override {
        try {
            net_.setInput(blob, input_name_);
            std::vector<cv::Mat> outs;
            std::vector<cv::String> wanted(names.begin(), names.end());
            net_.forward(outs, wanted);
            std::vector<BatchOutput> result;
            result.reserve(outs.size());
            for (std::size_t i = 0; i < outs.size(); ++i) {
                cv::Mat m = outs[i];
                if (m.type() != CV_32F) {
                    return inferenceFailed("output '" + names[i] + "' is not float32");
                }
                if (!m.isContinuous()) {
                    m = m.clone();
                }
                BatchOutput o;
                o.name = names[i];
                for (int d = 0; d < m.dims; ++d) {
                    o.shape.push_back(m.size[d]);
                }
                const auto* p = m.ptr<float>();
                o.values.assign(p, p + m.total());
                result.push_back(std::move(o));
            }
            return result;
        } catch (const cv::Exception& e) {
            return inferenceFailed(e.err);
        } catch (const std::exception& e) {
            return inferenceFailed(e.what());
        }
    }

    [[nodiscard]] const std::vector<TensorInfo>& inputs() const override { return inputs_; }
    [[nodiscard]] const std::vector<TensorInfo>& outputs() const override { return outputs_; }

  private:
    cv::dnn::Net net_;
    std::string input_name_;
    std::vector<TensorInfo> inputs_;
    std::vector<TensorInfo> outputs_;
};

}  // namespace

Result<std::unique_ptr<InferenceBackend>> openOpenCvDnn(const std::string& onnx_path,
                                                        const ModelSpec& spec) {
    if (spec.input.width <= 0 || spec.input.height <= 0 || spec.input.channels <= 0) {
        return modelLoadFailed(
            onnx_path, "the opencv backend needs input.width, height and channels declared");
    }
    try {
        cv::dnn::Net net = cv::dnn::readNetFromONNX(onnx_path);
        if (net.empty()) {
            return modelLoadFailed(onnx_path, "OpenCV read an empty network");
        }
        net.setPreferableBackend(cv::dnn::DNN_BACKEND_OPENCV);
        net.setPreferableTarget(cv::dnn::DNN_TARGET_CPU);
        std::unique_ptr<InferenceBackend> backend =
            std::make_unique<OpenCvDnnBackend>(std::move(net), spec.input.name);
        return backend;
    } catch (const cv::Exception& e) {
        return modelLoadFailed(onnx_path, e.err);
    } catch (const std::exception& e) {
        return modelLoadFailed(onnx_path, e.what());
    }
}

}  // namespace predictd
