// model_repository.hpp — the model lifecycle: find the models and their versions, load each
// version (engine, config resolved against the graph), self-check it, warm it up, and record its
// identity (path, sha256, size). A worker does this once at boot; the request path only looks
// models up here.
//
// Layout (as Triton and TF Serving users know it):
//   <repository>/<model>/config.json          the model's spec (model_spec.hpp)
//   <repository>/<model>/<version>/model.onnx  versions are positive integers
// Version policy (config): latest (default) serves the highest version that loads and passes its
// self-check — a broken new version never replaces a working older one; all serves every one
// that does; specific serves the listed ones. A model none of whose versions loads is not
// served, and the others are.
// A single ONNX file (the `model.path` setting) is served as a one-version repository: its spec
// is the config.json of the directory above its version directory when there is one, else the
// MNIST digit spec.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <json/value.h>

#include "api/request_limits.hpp"
#include "models/dynamic_batcher.hpp"
#include "models/image_model.hpp"
#include "models/model_source.hpp"
#include "models/model_spec.hpp"

namespace predictd {

struct LoadedVersion {
    int version = 0;
    std::int64_t memory_bytes = 0;  // growth of the worker's resident memory while loading it
    std::string path;               // model.onnx
    std::string sha256;
    std::uintmax_t file_bytes = 0;
    std::unique_ptr<ImageModel> model;
    std::unique_ptr<DynamicBatcher> batcher;  // every forward pass goes through it
};

struct ServedModel {
    std::string name;
    ModelSpec spec;                                        // as configured
    std::vector<std::unique_ptr<LoadedVersion>> versions;  // loaded, ascending
    std::vector<std::string> problems;                     // what failed to load, and why

    [[nodiscard]] LoadedVersion* latest() const;
    [[nodiscard]] LoadedVersion* find(int version) const;
};

// Every version of every model to load, without loading anything (for --check-config and the
// start-up check). A model whose config is invalid or that has no version is left out and
// described in `problems`; it is an error (500 invalid_model_config) only for the default model,
// which the service cannot run without, or when the repository itself is unusable.
struct VersionFile {
    std::string model;
    int version = 0;
    std::string path;
};
Result<std::vector<VersionFile>> listVersionFiles(const ModelSource& source,
                                                  std::vector<std::string>* problems = nullptr);

// A model as GET /models and /status describe it: name, state ("ready" or "unavailable"),
// versions (version, sha256, bytes, memory_bytes), problems, backend, input, output.
Json::Value describeModel(const ServedModel& model);

class ModelRepository {
  public:
    // Loads what `source` names. Never throws; failures are kept per model (problems) and the
    // models that loaded are served. `log` receives one line per loaded or failed version.
    static ModelRepository load(const ModelSource& source, const RequestLimits& limits,
                                const BatchingOptions& batching, ServiceMetrics* metrics,
                                const std::function<void(bool ok, const std::string&)>& log);

    [[nodiscard]] ServedModel* find(const std::string& name) const;
    [[nodiscard]] ServedModel* defaultModel() const { return find(default_model_); }
    [[nodiscard]] const std::string& defaultName() const { return default_model_; }
    [[nodiscard]] const std::vector<std::unique_ptr<ServedModel>>& models() const {
        return models_;
    }
    // True when at least one version of one model serves.
    [[nodiscard]] bool serving() const;
    // Tells every batcher a request started / finished (the batchers' "more is coming" hint).
    void requestStarted() const;
    void requestFinished() const;

  private:
    std::vector<std::unique_ptr<ServedModel>> models_;
    std::string default_model_;
};

}  // namespace predictd
