// model_source.hpp — where a worker's models come from (the [model] settings): a repository
// directory, or one ONNX file, and which model POST /predict uses.
#pragma once

#include <string>

namespace predictd {

struct ModelSource {
    std::string repository;     // directory of models; ignored when single_path is set
    std::string single_path;    // one ONNX file, served as `default_model`
    std::string default_model;  // the model POST /predict uses

    // For logs: the file, or the repository.
    [[nodiscard]] const std::string& label() const {
        return single_path.empty() ? repository : single_path;
    }
};

// The file the default model would be served from: single_path, or the highest version of
// <repository>/<default_model>/ ("" when there is none). For /status and logs: the workers
// decide what really loads (model_repository.hpp).
std::string defaultModelFile(const ModelSource& source);

}  // namespace predictd
