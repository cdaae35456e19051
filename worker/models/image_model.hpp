// image_model.hpp — one loaded version of a model: its engine, its resolved spec, and batched
// forward passes over preprocessed images.
//
// Owns the tensor side of the model contract: the input's name, layout and size (read from the
// graph where static, else from the config), building the [N,C,H,W] or [N,H,W,C] blob, checking
// and splitting the outputs per image. Knows nothing of HTTP, JSON or image formats.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "api/api_error.hpp"
#include "models/backends/inference_backend.hpp"
#include "models/model_spec.hpp"
#include "models/predictor.hpp"

namespace predictd {

class ImageModel final : public Predictor {
  public:
    // Opens `onnx_path` with the spec's engine, fills the spec's input size and output names
    // from the graph where the config left them out, and runs one warm-up pass on a blank image
    // (which also checks the outputs). Error: 500 model_load_failed naming the path and why.
    static Result<std::unique_ptr<ImageModel>> load(const std::string& onnx_path, ModelSpec spec);

    Result<std::vector<Prediction>> predict(const std::vector<cv::Mat>& images) override;

    [[nodiscard]] const ModelSpec& spec() const { return spec_; }
    [[nodiscard]] const std::string& path() const { return path_; }
    [[nodiscard]] const InferenceBackend& backend() const { return *backend_; }

    // Use load(): it resolves the spec against the graph and warms up.
    ImageModel(std::unique_ptr<InferenceBackend> backend, ModelSpec spec, std::string path);

  private:
    std::unique_ptr<InferenceBackend> backend_;
    ModelSpec spec_;
    std::string path_;
};

}  // namespace predictd
