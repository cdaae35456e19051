// model_spec.cpp — config.json → ModelSpec, with every key checked (unknown keys are errors, so
// a typo never silently falls back to a default).
#include "models/model_spec.hpp"

#include <json/json.h>

#include <fstream>
#include <memory>
#include <optional>
#include <set>
#include <sstream>
#include <utility>

namespace predictd {
namespace {

ApiError invalid(const std::string& name, const std::string& message) {
    return ApiError{500, "invalid_model_config", "model '" + name + "': config.json: " + message};
}

// Reads the fields of one JSON object, remembering which keys were used so that the rest can be
// reported as unknown.
class Fields {
  public:
    Fields(const Json::Value& v, std::string where) : v_(v), where_(std::move(where)) {}

    [[nodiscard]] bool has(const char* key) {
        used_.insert(key);
        return v_.isMember(key);
    }
    const Json::Value& get(const char* key) {
        used_.insert(key);
        return v_[key];
    }
    // Empty when every key was read; else the first unknown one.
    [[nodiscard]] std::string unknownKey() const {
        for (const auto& key : v_.getMemberNames()) {
            if (used_.count(key) == 0) {
                return where_ + key;
            }
        }
        return {};
    }

  private:
    const Json::Value& v_;
    std::string where_;
    std::set<std::string> used_;
};

template <typename Enum>
bool pick(const Json::Value& v, std::initializer_list<std::pair<const char*, Enum>> choices,
          Enum* out) {
    if (!v.isString()) {
        return false;
    }
    for (const auto& [text, value] : choices) {
        if (v.asString() == text) {
            *out = value;
            return true;
        }
    }
    return false;
}

bool readNumber(const Json::Value& v, double lo, double hi, double* out) {
    if (!v.isNumeric() || v.asDouble() < lo || v.asDouble() > hi) {
        return false;
    }
    *out = v.asDouble();
    return true;
}

bool readInt(const Json::Value& v, int lo, int hi, int* out) {
    if (!v.isInt() || v.asInt() < lo || v.asInt() > hi) {
        return false;
    }
    *out = v.asInt();
    return true;
}

bool readTriple(const Json::Value& v, std::array<double, 3>* out) {
    if (v.isNumeric()) {
        out->fill(v.asDouble());
        return true;
    }
    if (!v.isArray() || (v.size() != 3 && v.size() != 1)) {
        return false;
    }
    for (Json::ArrayIndex i = 0; i < 3; ++i) {
        const Json::Value& x = v[v.size() == 1 ? 0 : i];
        if (!x.isNumeric()) {
            return false;
        }
        (*out)[i] = x.asDouble();
    }
    return true;
}

std::optional<std::string> readLabelsFile(const std::string& path, std::vector<std::string>* out) {
    std::ifstream in(path);
    if (!in) {
        return "cannot read labels file " + path;
    }
    std::string line;
    while (std::getline(in, line)) {
        while (!line.empty() && (line.back() == '\r' || line.back() == ' ')) {
            line.pop_back();
        }
        if (!line.empty()) {
            out->push_back(line);
        }
    }
    return std::nullopt;
}

}  // namespace

const char* backendName(Backend b) {
    return b == Backend::kOnnxRuntime ? "onnxruntime" : "opencv";
}

const char* resizePolicyName(ResizePolicy p) {
    switch (p) {
        case ResizePolicy::kStretch:
            return "stretch";
        case ResizePolicy::kCenterCrop:
            return "center_crop";
        case ResizePolicy::kLetterbox:
            return "letterbox";
        case ResizePolicy::kDigit:
            return "digit";
    }
    return "?";
}

const char* outputKindName(OutputKind k) {
    switch (k) {
        case OutputKind::kClassification:
            return "classification";
        case OutputKind::kScores:
            return "scores";
        case OutputKind::kDistributionMean:
            return "distribution_mean";
    }
    return "?";
}

ModelSpec digitModelSpec(const std::string& name) {
    ModelSpec s;
    s.name = name;
    s.input = {"input", TensorLayout::kNCHW, 28, 28, 1};
    s.preprocess.color = ColorOrder::kGray;
    s.preprocess.resize = ResizePolicy::kDigit;
    s.preprocess.exif_orientation = false;
    s.output.kind = OutputKind::kClassification;
    s.output.names = {"probabilities"};
    return s;
}

Result<ModelSpec> parseModelSpec(const std::string& json_text, const std::string& name,
                                 const std::string& directory) {
    Json::CharReaderBuilder builder;
    builder.settings_["allowComments"] = true;
    builder.settings_["failIfExtra"] = true;
    Json::Value root;
    std::string errors;
    const std::unique_ptr<Json::CharReader> reader(builder.newCharReader());
    if (!reader->parse(json_text.data(), json_text.data() + json_text.size(), &root, &errors)) {
        return invalid(name, "not valid JSON: " + errors);
    }
    if (!root.isObject()) {
        return invalid(name, "must be a JSON object");
    }
    ModelSpec s;
    s.name = name;
    s.directory = directory;
    Fields top(root, "");

    if (top.has("backend") &&
        !pick(top.get("backend"),
              {{"onnxruntime", Backend::kOnnxRuntime}, {"opencv", Backend::kOpenCvDnn}},
              &s.backend)) {
        return invalid(name, "backend must be \"onnxruntime\" or \"opencv\"");
    }
    if (top.has("threads")) {
        const Json::Value& t = top.get("threads");
        Fields f(t, "threads.");
        if (!t.isObject() ||
            (f.has("intra_op") && !readInt(f.get("intra_op"), 1, 256, &s.intra_op_threads)) ||
            (f.has("inter_op") && !readInt(f.get("inter_op"), 1, 256, &s.inter_op_threads))) {
            return invalid(name, "threads.intra_op and threads.inter_op must be 1..256");
        }
        if (auto k = f.unknownKey(); !k.empty()) {
            return invalid(name, "unknown key " + k);
        }
    }
    if (top.has("onnxruntime")) {
        const Json::Value& o = top.get("onnxruntime");
        Fields f(o, "onnxruntime.");
        if (!o.isObject()) {
            return invalid(name, "onnxruntime must be an object");
        }
        if (f.has("graph_optimization") && !pick(f.get("graph_optimization"),
                                                 {{"disabled", GraphOptimization::kDisabled},
                                                  {"basic", GraphOptimization::kBasic},
                                                  {"extended", GraphOptimization::kExtended},
                                                  {"all", GraphOptimization::kAll}},
                                                 &s.onnxruntime.graph_optimization)) {
            return invalid(name,
                           "onnxruntime.graph_optimization must be \"disabled\", \"basic\", "
                           "\"extended\" or \"all\"");
        }
        if (f.has("memory_arena")) {
            if (!f.get("memory_arena").isBool()) {
                return invalid(name, "onnxruntime.memory_arena must be true or false");
            }
            s.onnxruntime.memory_arena = f.get("memory_arena").asBool();
        }
        if (auto k = f.unknownKey(); !k.empty()) {
            return invalid(name, "unknown key " + k);
        }
    }
    if (top.has("version_policy")) {
        const Json::Value& p = top.get("version_policy");
        if (p.isObject() && p.isMember("specific") && p.size() == 1 && p["specific"].isArray() &&
            !p["specific"].empty()) {
            s.version_policy = VersionPolicy::kSpecific;
            for (const auto& v : p["specific"]) {
                int n = 0;
                if (!readInt(v, 1, 1 << 30, &n)) {
                    return invalid(name, "version_policy.specific must list versions ≥ 1");
                }
                s.specific_versions.push_back(n);
            }
        } else if (!pick(p, {{"latest", VersionPolicy::kLatest}, {"all", VersionPolicy::kAll}},
                         &s.version_policy)) {
            return invalid(name,
                           "version_policy must be \"latest\", \"all\" or {\"specific\": [1, 2]}");
        }
    }
    if (top.has("version_labels")) {
        const Json::Value& l = top.get("version_labels");
        if (!l.isObject()) {
            return invalid(name, "version_labels must map a label to a version");
        }
        for (const auto& label : l.getMemberNames()) {
            int v = 0;
            if (!readInt(l[label], 1, 1 << 30, &v)) {
                return invalid(name, "version_labels." + label + " must be a version ≥ 1");
            }
            s.version_labels[label] = v;
        }
    }
    if (top.has("input")) {
        const Json::Value& in = top.get("input");
        if (!in.isObject()) {
            return invalid(name, "input must be an object");
        }
        Fields f(in, "input.");
        if (f.has("name") && !f.get("name").isString()) {
            return invalid(name, "input.name must be a string");
        }
        s.input.name = in.get("name", "").asString();
        if (f.has("layout") &&
            !pick(f.get("layout"), {{"NCHW", TensorLayout::kNCHW}, {"NHWC", TensorLayout::kNHWC}},
                  &s.input.layout)) {
            return invalid(name, "input.layout must be \"NCHW\" or \"NHWC\"");
        }
        if ((f.has("width") && !readInt(f.get("width"), 1, 8192, &s.input.width)) ||
            (f.has("height") && !readInt(f.get("height"), 1, 8192, &s.input.height))) {
            return invalid(name, "input.width and input.height must be 1..8192");
        }
        if (f.has("channels") &&
            (!readInt(f.get("channels"), 1, 3, &s.input.channels) || s.input.channels == 2)) {
            return invalid(name, "input.channels must be 1 or 3");
        }
        if (auto k = f.unknownKey(); !k.empty()) {
            return invalid(name, "unknown key " + k);
        }
    }
    if (top.has("preprocess")) {
        const Json::Value& pre = top.get("preprocess");
        if (!pre.isObject()) {
            return invalid(name, "preprocess must be an object");
        }
        PreprocessSpec& p = s.preprocess;
        Fields f(pre, "preprocess.");
        if (f.has("color") &&
            !pick(
                f.get("color"),
                {{"gray", ColorOrder::kGray}, {"rgb", ColorOrder::kRGB}, {"bgr", ColorOrder::kBGR}},
                &p.color)) {
            return invalid(name, "preprocess.color must be \"gray\", \"rgb\" or \"bgr\"");
        }
        if (f.has("resize") && !pick(f.get("resize"),
                                     {{"stretch", ResizePolicy::kStretch},
                                      {"center_crop", ResizePolicy::kCenterCrop},
                                      {"letterbox", ResizePolicy::kLetterbox},
                                      {"digit", ResizePolicy::kDigit}},
                                     &p.resize)) {
            return invalid(name,
                           "preprocess.resize must be stretch, center_crop, letterbox or digit");
        }
        if (f.has("interpolation") && !pick(f.get("interpolation"),
                                            {{"area", Interpolation::kArea},
                                             {"linear", Interpolation::kLinear},
                                             {"cubic", Interpolation::kCubic}},
                                            &p.interpolation)) {
            return invalid(name, "preprocess.interpolation must be area, linear or cubic");
        }
        if (f.has("crop_fraction") &&
            !readNumber(f.get("crop_fraction"), 0.05, 1.0, &p.crop_fraction)) {
            return invalid(name, "preprocess.crop_fraction must be in (0, 1]");
        }
        if (f.has("pad_value") && !readNumber(f.get("pad_value"), 0, 255, &p.pad_value)) {
            return invalid(name, "preprocess.pad_value must be 0..255");
        }
        if (f.has("divisor") && !readNumber(f.get("divisor"), 1e-6, 1e9, &p.divisor)) {
            return invalid(name, "preprocess.divisor must be > 0");
        }
        if (f.has("mean") && !readTriple(f.get("mean"), &p.mean)) {
            return invalid(name, "preprocess.mean must be a number or 3 numbers");
        }
        if (f.has("std") && (!readTriple(f.get("std"), &p.std) || p.std[0] == 0 || p.std[1] == 0 ||
                             p.std[2] == 0)) {
            return invalid(name, "preprocess.std must be a non-zero number or 3 of them");
        }
        if (f.has("exif_orientation")) {
            if (!f.get("exif_orientation").isBool()) {
                return invalid(name, "preprocess.exif_orientation must be true or false");
            }
            p.exif_orientation = pre["exif_orientation"].asBool();
        }
        if (auto k = f.unknownKey(); !k.empty()) {
            return invalid(name, "unknown key " + k);
        }
    }
    if (top.has("output")) {
        const Json::Value& out = top.get("output");
        if (!out.isObject()) {
            return invalid(name, "output must be an object");
        }
        OutputSpec& o = s.output;
        Fields f(out, "output.");
        if (f.has("kind") && !pick(f.get("kind"),
                                   {{"classification", OutputKind::kClassification},
                                    {"scores", OutputKind::kScores},
                                    {"distribution_mean", OutputKind::kDistributionMean}},
                                   &o.kind)) {
            return invalid(name, "output.kind must be classification, scores or distribution_mean");
        }
        if (f.has("names")) {
            const Json::Value& n = f.get("names");
            if (!n.isArray()) {
                return invalid(name, "output.names must be a list of output names");
            }
            for (const auto& x : n) {
                if (!x.isString()) {
                    return invalid(name, "output.names must be a list of output names");
                }
                o.names.push_back(x.asString());
            }
        }
        if (f.has("softmax")) {
            if (!f.get("softmax").isBool()) {
                return invalid(name, "output.softmax must be true or false");
            }
            o.apply_softmax = out["softmax"].asBool();
        }
        if (f.has("labels")) {
            const Json::Value& l = f.get("labels");
            if (l.isString()) {
                if (auto e = readLabelsFile(directory + "/" + l.asString(), &o.labels)) {
                    return invalid(name, *e);
                }
            } else if (l.isArray()) {
                for (const auto& x : l) {
                    if (!x.isString()) {
                        return invalid(name, "output.labels must be strings");
                    }
                    o.labels.push_back(x.asString());
                }
            } else {
                return invalid(name, "output.labels must be a file name or a list of names");
            }
        }
        if (f.has("top_k") && !readInt(f.get("top_k"), 0, 1000, &o.top_k)) {
            return invalid(name, "output.top_k must be 0..1000");
        }
        if (auto k = f.unknownKey(); !k.empty()) {
            return invalid(name, "unknown key " + k);
        }
    }
    if (top.has("self_check")) {
        const Json::Value& sc = top.get("self_check");
        if (!sc.isObject()) {
            return invalid(name, "self_check must be an object");
        }
        Fields f(sc, "self_check.");
        if (!f.has("image") || !f.get("image").isString()) {
            return invalid(name, "self_check.image must name an image file beside config.json");
        }
        s.self_check.image = sc["image"].asString();
        if (f.has("expect_label")) {
            const Json::Value& l = f.get("expect_label");
            if (!l.isString() && !l.isInt()) {
                return invalid(name, "self_check.expect_label must be a label or class index");
            }
            s.self_check.expect_label = l.isString() ? l.asString() : std::to_string(l.asInt());
        }
        if ((f.has("min_score") &&
             !readNumber(f.get("min_score"), -1e300, 1e300, &s.self_check.min_score)) ||
            (f.has("max_score") &&
             !readNumber(f.get("max_score"), -1e300, 1e300, &s.self_check.max_score))) {
            return invalid(name, "self_check.min_score and max_score must be numbers");
        }
        if (auto k = f.unknownKey(); !k.empty()) {
            return invalid(name, "unknown key " + k);
        }
    }
    if (auto k = top.unknownKey(); !k.empty()) {
        return invalid(name, "unknown key " + k);
    }
    if (s.preprocess.resize == ResizePolicy::kDigit && s.preprocess.color != ColorOrder::kGray) {
        return invalid(name, "preprocess.resize \"digit\" needs preprocess.color \"gray\"");
    }
    return s;
}

Result<ModelSpec> loadModelSpec(const std::string& directory, const std::string& name) {
    const std::string path = directory + "/config.json";
    std::ifstream in(path);
    if (!in) {
        return invalid(name, "cannot read " + path);
    }
    std::ostringstream text;
    text << in.rdbuf();
    return parseModelSpec(text.str(), name, directory);
}

}  // namespace predictd
