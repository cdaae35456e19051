// predict_request.cpp — schema checks of the predict body (jsoncpp tree from parseJsonBody).
// Each image's base64 text is measured (limits.max_base64_bytes) before it is copied out of
// the tree.
#include "api/predict_request.hpp"

#include <json/json.h>

#include <exception>
#include <string>

#include "api/json_body.hpp"

namespace predictd {
namespace {

ApiError badRequest(std::string code, std::string message) {
    return ApiError{400, std::move(code), std::move(message)};
}

ApiError base64TooLong(std::size_t length, const RequestLimits& limits) {
    return ApiError{413, "image_too_large",
                    "image is " + std::to_string(length) + " bytes of base64 text; the limit is " +
                        std::to_string(limits.max_base64_bytes) + " bytes"};
}

// The base64 text of one image, or image_too_large if it is longer than the limit (measured
// before copying it).
Result<std::string> imageText(const Json::Value& value, const RequestLimits& limits) {
    const char* begin = nullptr;
    const char* end = nullptr;
    if (!value.getString(&begin, &end)) {
        return std::string();
    }
    const auto length = static_cast<std::size_t>(end - begin);
    if (length > limits.max_base64_bytes) {
        return base64TooLong(length, limits);
    }
    return std::string(begin, length);
}

Result<PredictRequest> parseUnchecked(std::string_view body, const RequestLimits& limits) {
    auto parsed = parseJsonBody(body, limits);
    if (!parsed.ok()) {
        return parsed.error();
    }
    const Json::Value& root = parsed.value();

    const bool hasImage = root.isMember("image");
    const bool hasImages = root.isMember("images");
    if (hasImage && hasImages) {
        return badRequest("invalid_request", "give either \"image\" or \"images\", not both");
    }
    if (!hasImage && !hasImages) {
        return badRequest("missing_field", "missing field \"image\" (or \"images\" for a batch)");
    }

    PredictRequest request;
    if (root.isMember("top_k")) {
        const Json::Value& k = root["top_k"];
        if (!k.isInt() || k.asInt() < 0 || k.asInt() > 1000) {
            return badRequest("wrong_type", "\"top_k\" must be an integer 0..1000");
        }
        request.top_k = k.asInt();
    }
    if (hasImage) {
        const Json::Value& image = root["image"];
        if (!image.isString()) {
            return badRequest("wrong_type", "\"image\" must be a base64 string");
        }
        auto text = imageText(image, limits);
        if (!text.ok()) {
            return text.error();
        }
        request.batch = false;
        request.images.push_back(std::move(text).value());
        return request;
    }

    const Json::Value& images = root["images"];
    if (!images.isArray()) {
        return badRequest("wrong_type", "\"images\" must be an array of base64 strings");
    }
    if (images.empty()) {
        return badRequest("empty_batch", "\"images\" must hold at least one image");
    }
    if (images.size() > limits.max_batch) {
        return ApiError{413, "batch_too_large",
                        "batch of " + std::to_string(images.size()) +
                            " images exceeds the limit of " + std::to_string(limits.max_batch)};
    }
    request.batch = true;
    request.images.reserve(images.size());
    for (Json::ArrayIndex i = 0; i < images.size(); ++i) {
        if (!images[i].isString()) {
            return badRequest("wrong_type",
                              "images[" + std::to_string(i) + "] must be a base64 string");
        }
        auto text = imageText(images[i], limits);
        if (!text.ok()) {
            ApiError error = text.error();
            error.message = "images[" + std::to_string(i) + "]: " + error.message;
            return error;
        }
        request.images.push_back(std::move(text).value());
    }
    return request;
}

}  // namespace

Result<PredictRequest> parsePredictRequest(std::string_view body, const RequestLimits& limits) {
    try {
        return parseUnchecked(body, limits);
    } catch (const std::exception& e) {
        return badRequest("invalid_json", std::string("cannot parse request body: ") + e.what());
    }
}

}  // namespace predictd
