// model_self_check.cpp — runs a model's declared sample through the request path's stages
// (plan, decode, preprocess, infer, postprocess).
#include "models/model_self_check.hpp"

#include <fstream>
#include <sstream>

#include "models/image_input.hpp"
#include "models/postprocess.hpp"

namespace predictd {
namespace {

constexpr float kMinConfidence = 0.5f;  // a classification must be this sure of its sample

}  // namespace

std::optional<std::string> selfCheckModel(ImageModel& model, const RequestLimits& limits) {
    const ModelSpec& spec = model.spec();
    if (spec.self_check.image.empty()) {
        return std::nullopt;
    }
    const std::string path = spec.directory + "/" + spec.self_check.image;
    std::ifstream in(path, std::ios::binary);
    if (!in) {
        return "self-check: cannot read " + path;
    }
    std::ostringstream bytes;
    bytes << in.rdbuf();
    RequestLimits unlimited = limits;  // the operator's format allow-list is for clients
    unlimited.allowed_formats = {"png", "jpeg", "bmp", "webp", "tiff", "pnm"};
    const std::string encoded = bytes.str();
    const auto planned = planImageInput(encoded, unlimited, spec);
    if (!planned.ok()) {
        return "self-check: " + path + ": " + planned.error().message;
    }
    auto input = makeImageInput(encoded, planned.value(), unlimited, spec);
    if (!input.ok()) {
        return "self-check: " + path + ": " + input.error().message;
    }
    const auto out = model.predict({input.value()});
    if (!out.ok() || out.value().size() != 1) {
        return "self-check: inference failed" + (out.ok() ? "" : ": " + out.error().message);
    }
    const auto answer = postprocess(out.value().front(), spec.output, 0);
    if (!answer.ok()) {
        return "self-check: " + answer.error().message;
    }
    const Answer& a = answer.value();
    if (spec.output.kind == OutputKind::kClassification) {
        const std::string got = a.label_names != nullptr
                                    ? (*a.label_names)[static_cast<std::size_t>(a.label)]
                                    : std::to_string(a.label);
        if (!spec.self_check.expect_label.empty() &&
            (got != spec.self_check.expect_label || a.confidence < kMinConfidence)) {
            return "self-check failed: " + spec.self_check.image + " should be '" +
                   spec.self_check.expect_label + "', the model says '" + got +
                   "' with confidence " + std::to_string(a.confidence);
        }
        return std::nullopt;
    }
    const double score = spec.output.kind == OutputKind::kDistributionMean
                             ? a.mean
                             : (a.scores.empty() || a.scores.front().values.empty()
                                    ? 0.0
                                    : a.scores.front().values.front());
    if (score < spec.self_check.min_score || score > spec.self_check.max_score) {
        return "self-check failed: " + spec.self_check.image + " scored " + std::to_string(score) +
               ", expected " + std::to_string(spec.self_check.min_score) + " .. " +
               std::to_string(spec.self_check.max_score);
    }
    return std::nullopt;
}

}  // namespace predictd
