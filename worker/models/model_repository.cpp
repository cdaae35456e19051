// model_repository.cpp — scanning the repository, applying version policies, loading.
#include "models/model_repository.hpp"

#include <unistd.h>
#include <algorithm>
#include <charconv>

#include <json/value.h>

#include <filesystem>
#include <fstream>
#include <system_error>

#include "models/model_self_check.hpp"
#include "ops/file_digest.hpp"

namespace fs = std::filesystem;

namespace predictd {
namespace {

ApiError badRepository(const std::string& message) {
    return ApiError{500, "invalid_model_config", message};
}

std::optional<int> versionNumber(const std::string& name) {
    int v = 0;
    const auto [end, ec] = std::from_chars(name.data(), name.data() + name.size(), v);
    if (ec != std::errc() || end != name.data() + name.size() || v <= 0) {
        return std::nullopt;
    }
    return v;
}

// The numbered version directories of a model that hold a model.onnx, ascending.
std::vector<int> versionsIn(const fs::path& dir) {
    std::vector<int> out;
    std::error_code ec;
    for (const auto& entry : fs::directory_iterator(dir, ec)) {
        const auto v = versionNumber(entry.path().filename().string());
        if (v && fs::is_regular_file(entry.path() / "model.onnx", ec)) {
            out.push_back(*v);
        }
    }
    std::sort(out.begin(), out.end());
    return out;
}

// The spec a single ONNX file is served with (see the header).
Result<ModelSpec> specForSingleFile(const fs::path& file, const std::string& name) {
    const fs::path model_dir = file.parent_path().parent_path();
    std::error_code ec;
    if (versionNumber(file.parent_path().filename().string()) &&
        fs::is_regular_file(model_dir / "config.json", ec)) {
        return loadModelSpec(model_dir.string(), name);
    }
    return digitModelSpec(name);
}

struct Candidate {
    std::string name;
    Result<ModelSpec> spec;
    std::vector<std::pair<int, std::string>> versions;  // version, model.onnx
};

Result<std::vector<Candidate>> findCandidates(const ModelSource& source) {
    std::vector<Candidate> out;
    if (!source.single_path.empty()) {
        const fs::path file = source.single_path;
        const auto v = versionNumber(file.parent_path().filename().string());
        out.push_back({source.default_model,
                       specForSingleFile(file, source.default_model),
                       {{v.value_or(1), source.single_path}}});
        return out;
    }
    std::error_code ec;
    if (!fs::is_directory(source.repository, ec)) {
        return badRepository("model repository " + source.repository + " is not a directory");
    }
    std::vector<fs::path> dirs;
    for (const auto& entry : fs::directory_iterator(source.repository, ec)) {
        if (entry.is_directory(ec) && fs::is_regular_file(entry.path() / "config.json", ec)) {
            dirs.push_back(entry.path());
        }
    }
    std::sort(dirs.begin(), dirs.end());
    for (const auto& dir : dirs) {
        const std::string name = dir.filename().string();
        Candidate c{name, loadModelSpec(dir.string(), name), {}};
        std::vector<int> versions = versionsIn(dir);
        if (c.spec.ok()) {
            const ModelSpec& s = c.spec.value();
            if (s.version_policy == VersionPolicy::kSpecific) {
                std::erase_if(versions, [&](int v) {
                    return std::find(s.specific_versions.begin(), s.specific_versions.end(), v) ==
                           s.specific_versions.end();
                });
            }
        }
        for (int v : versions) {
            c.versions.emplace_back(v, (dir / std::to_string(v) / "model.onnx").string());
        }
        out.push_back(std::move(c));
    }
    if (out.empty()) {
        return badRepository("model repository " + source.repository +
                             " holds no model (a directory with a config.json)");
    }
    return out;
}

}  // namespace

// Resident memory of this process (/proc/self/statm), for each version's memory figure.
static std::int64_t residentBytes() {
    std::ifstream statm("/proc/self/statm");
    std::int64_t size = 0;
    std::int64_t resident = 0;
    statm >> size >> resident;
    return resident * ::sysconf(_SC_PAGESIZE);
}

Json::Value describeModel(const ServedModel& m) {
    Json::Value v(Json::objectValue);
    v["name"] = m.name;
    v["state"] = m.versions.empty() ? "unavailable" : "ready";
    Json::Value versions(Json::arrayValue);
    for (const auto& lv : m.versions) {
        Json::Value row(Json::objectValue);
        row["version"] = lv->version;
        row["sha256"] = lv->sha256;
        row["bytes"] = static_cast<Json::UInt64>(lv->file_bytes);
        row["memory_bytes"] = static_cast<Json::Int64>(lv->memory_bytes);
        versions.append(row);
    }
    v["versions"] = std::move(versions);
    if (!m.problems.empty()) {
        Json::Value problems(Json::arrayValue);
        for (const auto& p : m.problems) {
            problems.append(p);
        }
        v["problems"] = std::move(problems);
    }
    if (const LoadedVersion* lv = m.latest()) {
        const ModelSpec& s = lv->model->spec();
        v["backend"] = backendName(s.backend);
        Json::Value input(Json::objectValue);
        input["name"] = s.input.name;
        input["layout"] = s.input.layout == TensorLayout::kNCHW ? "NCHW" : "NHWC";
        input["width"] = s.input.width;
        input["height"] = s.input.height;
        input["channels"] = s.input.channels;
        input["resize"] = resizePolicyName(s.preprocess.resize);
        v["input"] = std::move(input);
        Json::Value output(Json::objectValue);
        output["kind"] = outputKindName(s.output.kind);
        Json::Value labels(Json::arrayValue);
        for (const auto& l : s.output.labels) {
            labels.append(l);
        }
        output["labels"] = std::move(labels);
        v["output"] = std::move(output);
    }
    return v;
}

std::string defaultModelFile(const ModelSource& source) {
    if (!source.single_path.empty()) {
        return source.single_path;
    }
    const fs::path dir = fs::path(source.repository) / source.default_model;
    const std::vector<int> versions = versionsIn(dir);
    return versions.empty() ? std::string()
                            : (dir / std::to_string(versions.back()) / "model.onnx").string();
}

LoadedVersion* ServedModel::latest() const {
    return versions.empty() ? nullptr : versions.back().get();
}

LoadedVersion* ServedModel::find(int version) const {
    for (const auto& v : versions) {
        if (v->version == version) {
            return v.get();
        }
    }
    return nullptr;
}

Result<std::vector<VersionFile>> listVersionFiles(const ModelSource& source,
                                                  std::vector<std::string>* problems) {
    auto candidates = findCandidates(source);
    if (!candidates.ok()) {
        return candidates.error();
    }
    std::vector<VersionFile> out;
    bool has_default = false;
    for (const Candidate& c : candidates.value()) {
        std::optional<ApiError> problem;
        if (!c.spec.ok()) {
            problem = c.spec.error();
        } else if (c.versions.empty()) {
            problem = badRepository("model '" + c.name + "' has no version directory with a " +
                                    "model.onnx (or none its version_policy names)");
        }
        if (problem) {
            if (c.name == source.default_model) {
                return *problem;
            }
            if (problems != nullptr) {
                problems->push_back(problem->message);
            }
            continue;
        }
        has_default = has_default || c.name == source.default_model;
        for (const auto& [v, path] : c.versions) {
            out.push_back({c.name, v, path});
        }
    }
    if (!has_default) {
        return badRepository("the default model '" + source.default_model + "' is not in " +
                             source.label() + " (model.default)");
    }
    return out;
}

ModelRepository ModelRepository::load(const ModelSource& source, const RequestLimits& limits,
                                      const BatchingOptions& batching, ServiceMetrics* metrics,
                                      const std::function<void(bool, const std::string&)>& log) {
    ModelRepository repo;
    repo.default_model_ = source.default_model;
    auto candidates = findCandidates(source);
    if (!candidates.ok()) {
        log(false, candidates.error().message);
        return repo;
    }
    for (Candidate& c : candidates.value()) {
        auto served = std::make_unique<ServedModel>();
        served->name = c.name;
        if (!c.spec.ok()) {
            served->problems.push_back(c.spec.error().message);
            log(false, c.spec.error().message);
            repo.models_.push_back(std::move(served));
            continue;
        }
        served->spec = c.spec.value();
        if (c.versions.empty()) {
            served->problems.push_back("no version directory with a model.onnx");
            log(false, "model '" + c.name + "': no version directory with a model.onnx");
        }
        // Latest: newest first, stop at the first that works. All/specific: every one.
        const bool latest_only = served->spec.version_policy == VersionPolicy::kLatest;
        std::vector<std::pair<int, std::string>> order = c.versions;
        std::reverse(order.begin(), order.end());
        for (const auto& [version, path] : order) {
            const std::int64_t rss_before = residentBytes();
            auto model = ImageModel::load(path, served->spec);
            std::optional<std::string> failure;
            if (!model.ok()) {
                failure = model.error().message;
            } else {
                failure = selfCheckModel(*model.value(), limits);
            }
            const std::string what =
                "model '" + c.name + "' version " + std::to_string(version) + " (" + path + ")";
            if (failure) {
                served->problems.push_back("version " + std::to_string(version) + ": " + *failure);
                log(false, what + " not served: " + *failure);
                continue;
            }
            auto loaded = std::make_unique<LoadedVersion>();
            loaded->version = version;
            loaded->path = path;
            loaded->sha256 = sha256OfFile(path);
            std::error_code ec;
            loaded->file_bytes = fs::file_size(path, ec);
            loaded->model = std::move(model).value();
            loaded->memory_bytes = std::max<std::int64_t>(0, residentBytes() - rss_before);
            loaded->batcher = std::make_unique<DynamicBatcher>(
                *loaded->model, batching, metrics,
                metrics != nullptr ? metrics->modelSeries(c.name, version) : nullptr);
            log(true, what + " loaded (" + backendName(served->spec.backend) + ")");
            served->versions.insert(served->versions.begin(), std::move(loaded));
            if (latest_only) {
                break;
            }
        }
        repo.models_.push_back(std::move(served));
    }
    return repo;
}

ServedModel* ModelRepository::find(const std::string& name) const {
    for (const auto& m : models_) {
        if (m->name == name && !m->versions.empty()) {
            return m.get();
        }
    }
    return nullptr;
}

bool ModelRepository::serving() const {
    return std::any_of(models_.begin(), models_.end(),
                       [](const auto& m) { return !m->versions.empty(); });
}

void ModelRepository::requestStarted() const {
    for (const auto& m : models_) {
        for (const auto& v : m->versions) {
            v->batcher->requestStarted();
        }
    }
}

void ModelRepository::requestFinished() const {
    for (const auto& m : models_) {
        for (const auto& v : m->versions) {
            v->batcher->requestFinished();
        }
    }
}

}  // namespace predictd
