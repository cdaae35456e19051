// inference_backend.cpp — picks the engine a model's config names.
#include "models/backends/inference_backend.hpp"

#include <filesystem>
#include <system_error>

namespace predictd {

Result<std::unique_ptr<InferenceBackend>> openBackend(const std::string& onnx_path,
                                                      const ModelSpec& spec) {
    std::error_code ec;
    const auto status = std::filesystem::status(onnx_path, ec);
    if (!std::filesystem::exists(status)) {
        return modelLoadFailed(onnx_path, "no such file");
    }
    if (!std::filesystem::is_regular_file(status)) {
        return modelLoadFailed(onnx_path, "not a regular file");
    }
    return spec.backend == Backend::kOnnxRuntime ? openOnnxRuntime(onnx_path, spec)
                                                 : openOpenCvDnn(onnx_path, spec);
}

}  // namespace predictd
