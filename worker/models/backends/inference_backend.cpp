// inference_backend.cpp — picks the engine a model's config names.
#include "models/backends/inference_backend.hpp"

namespace predictd {

Result<std::unique_ptr<InferenceBackend>> openBackend(const std::string& onnx_path,
                                                      const ModelSpec& spec) {
    return spec.backend == Backend::kOnnxRuntime ? openOnnxRuntime(onnx_path, spec)
                                                 : openOpenCvDnn(onnx_path, spec);
}

}  // namespace predictd
