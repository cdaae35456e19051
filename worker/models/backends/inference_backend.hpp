// inference_backend.hpp — one loaded network behind an engine: a float blob in, named float
// tensors out. ONNX Runtime (onnxruntime_backend.cpp) is the default engine; OpenCV DNN
// (opencv_backend.cpp) stays selectable per model.
//
// Knows nothing of images, preprocessing or HTTP; ImageModel builds the blob and splits the
// outputs per image.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include <opencv2/core/mat.hpp>

#include "api/api_error.hpp"
#include "models/model_spec.hpp"

namespace predictd {

// A graph input or output: its name and shape, -1 for a dynamic dimension (unknown: empty).
struct TensorInfo {
    std::string name;
    std::vector<std::int64_t> shape;
};

// One output of a forward pass over the whole batch: shape [N, ...], row-major floats.
struct BatchOutput {
    std::string name;
    std::vector<std::int64_t> shape;
    std::vector<float> values;
};

// The model path's errors, shared by the engines and ImageModel.
inline ApiError modelLoadFailed(const std::string& path, const std::string& reason) {
    return ApiError{500, "model_load_failed", "cannot load model '" + path + "': " + reason};
}
inline ApiError inferenceFailed(const std::string& reason) {
    return ApiError{500, "inference_failed", "inference failed: " + reason};
}

class InferenceBackend {
  public:
    virtual ~InferenceBackend() = default;
    // One forward pass. `blob` is float32 with the input's dimensions ([N,C,H,W] or [N,H,W,C]).
    // Returns the outputs named in `names`, in that order. Error: 500 inference_failed.
    virtual Result<std::vector<BatchOutput>> run(const cv::Mat& blob,
                                                 const std::vector<std::string>& names) = 0;
    // The graph's inputs and outputs as the engine reports them.
    [[nodiscard]] virtual const std::vector<TensorInfo>& inputs() const = 0;
    [[nodiscard]] virtual const std::vector<TensorInfo>& outputs() const = 0;
};

// Loads `onnx_path` (which must be a regular file) with the engine the spec names. Error: 500
// model_load_failed.
Result<std::unique_ptr<InferenceBackend>> openBackend(const std::string& onnx_path,
                                                      const ModelSpec& spec);

// The engines, for openBackend and for tests that compare them.
Result<std::unique_ptr<InferenceBackend>> openOnnxRuntime(const std::string& onnx_path,
                                                          const ModelSpec& spec);
Result<std::unique_ptr<InferenceBackend>> openOpenCvDnn(const std::string& onnx_path,
                                                        const ModelSpec& spec);

}  // namespace predictd
