// inference_pipeline.cpp — plan → decode → preprocess → infer, shared by every route.
#include "transport/inference_pipeline.hpp"

#include <cstdint>
#include <cstdio>
#include <optional>

#include "codecs/base64_decode.hpp"
#include "models/image_input.hpp"

namespace predictd {
namespace {

ApiError named(ApiError error, const EncodedImages& images, std::size_t index) {
    if (images.batch) {
        error.message = images.name + "[" + std::to_string(index) + "]: " + error.message;
    }
    return error;
}

// 413 decode_budget_exceeded when the planned decodes add up to more than the budget, naming
// the costliest image.
std::optional<ApiError> overDecodeBudget(const std::vector<PlannedImage>& plans,
                                         std::uint64_t budget, const EncodedImages& images) {
    std::uint64_t total = 0;
    std::size_t costliest = 0;
    for (std::size_t i = 0; i < plans.size(); ++i) {
        total += plans[i].plan.cost_bytes;
        if (plans[i].plan.cost_bytes > plans[costliest].plan.cost_bytes) {
            costliest = i;
        }
    }
    if (total <= budget) {
        return std::nullopt;
    }
    const PlannedImage& p = plans[costliest];
    std::string which =
        images.batch ? images.name + "[" + std::to_string(costliest) + "]" : "the image";
    return ApiError{413, "decode_budget_exceeded",
                    "decoding this request's images would produce " + std::to_string(total) +
                        " bytes of pixels; the limit is " + std::to_string(budget) +
                        " per request (limits.max_decode_bytes). The costliest is " + which + ": " +
                        std::to_string(p.header.width) + "x" + std::to_string(p.header.height) +
                        " " + p.header.format + " decoded to " + std::to_string(p.plan.width) +
                        "x" + std::to_string(p.plan.height) + ", " +
                        std::to_string(p.plan.cost_bytes) + " bytes"};
}

}  // namespace

Deadline::Deadline(std::chrono::steady_clock::time_point received, double seconds)
    : set_(received != std::chrono::steady_clock::time_point{} && seconds > 0),
      seconds_(seconds),
      at_(received + std::chrono::duration_cast<std::chrono::steady_clock::duration>(
                         std::chrono::duration<double>(seconds))),
      received_(received) {}

bool Deadline::passed() const {
    return set_ && std::chrono::steady_clock::now() > at_;
}

ApiError Deadline::error() const {
    const double elapsed =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - received_).count();
    char message[160];
    std::snprintf(message, sizeof(message),
                  "the request was abandoned %.1f s after it arrived; the deadline is %g s "
                  "(limits.request_deadline)",
                  elapsed, seconds_);
    return ApiError{503, "deadline_exceeded", message};
}

Result<std::vector<cv::Mat>> prepareImages(const EncodedImages& images, const RequestLimits& limits,
                                           const ModelSpec& spec, const Deadline& deadline) {
    // Plan: every image's header is read and its decode planned (shrink on load) before any is
    // decoded, so the request's whole cost is known while it is still cheap to refuse.
    std::vector<std::string> decoded;
    std::vector<PlannedImage> plans;
    decoded.reserve(images.base64 ? images.items.size() : 0);
    plans.reserve(images.items.size());
    for (std::size_t i = 0; i < images.items.size(); ++i) {
        std::string_view bytes = images.items[i];
        if (images.base64) {
            auto raw = decodeBase64(images.items[i]);
            if (!raw.ok()) {
                return named(raw.error(), images, i);
            }
            decoded.push_back(std::move(raw).value());
            bytes = decoded.back();
        }
        auto planned = planImageInput(bytes, limits, spec);
        if (!planned.ok()) {
            return named(planned.error(), images, i);
        }
        plans.push_back(std::move(planned).value());
    }
    if (auto over = overDecodeBudget(plans, limits.max_decode_bytes, images)) {
        return *over;
    }
    // Decode → preprocess, one image at a time, abandoning the request once it is past its
    // deadline (the worker stays free for requests whose clients still wait).
    std::vector<cv::Mat> inputs;
    inputs.reserve(images.items.size());
    for (std::size_t i = 0; i < images.items.size(); ++i) {
        if (deadline.passed()) {
            return deadline.error();
        }
        const std::string_view bytes =
            images.base64 ? std::string_view(decoded[i]) : images.items[i];
        auto input = makeImageInput(bytes, plans[i], limits, spec);
        if (!input.ok()) {
            return named(input.error(), images, i);
        }
        inputs.push_back(std::move(input).value());
    }
    return inputs;
}

Result<std::vector<Prediction>> runModel(LoadedVersion& version, const std::vector<cv::Mat>& inputs,
                                         const Deadline& deadline) {
    if (deadline.passed()) {
        return deadline.error();
    }
    auto predictions = version.batcher->predict(inputs);
    if (!predictions.ok()) {
        return predictions.error();
    }
    if (predictions.value().size() != inputs.size()) {
        return ApiError{500, "internal_error", "model returned no prediction"};
    }
    return predictions;
}

std::string inputName(const LoadedVersion& version) {
    const ModelSpec& spec = version.model->spec();
    if (!spec.input.name.empty()) {
        return spec.input.name;
    }
    const auto& inputs = version.model->backend().inputs();
    return inputs.empty() ? std::string("input") : inputs.front().name;
}

std::vector<std::int64_t> outputDims(const LoadedVersion& version, const std::string& name) {
    for (const TensorInfo& info : version.model->backend().outputs()) {
        if (info.name == name && !info.shape.empty()) {
            return {info.shape.begin() + 1, info.shape.end()};
        }
    }
    return {};
}

}  // namespace predictd
