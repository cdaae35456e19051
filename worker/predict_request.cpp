// predict_request.cpp — strict JSON parsing (jsoncpp) and schema checks of the predict body.
#include "predict_request.hpp"

#include <json/json.h>

#include <exception>
#include <memory>

namespace predictd {
namespace {

ApiError badRequest(std::string code, std::string message) {
    return ApiError{400, std::move(code), std::move(message)};
}

// RFC 8259 strictness: one value, nothing after it; duplicate keys keep the last (the jsoncpp
// default, and harmless here).
const Json::CharReaderBuilder& strictReaderBuilder() {
    static const Json::CharReaderBuilder builder = [] {
        Json::CharReaderBuilder b;
        Json::CharReaderBuilder::strictMode(&b.settings_);
        b.settings_["rejectDupKeys"] = false;
        b.settings_["failIfExtra"] = true;
        return b;
    }();
    return builder;
}

// jsoncpp reports "* Line 1, Column 5\n  Syntax error: ...\n"; make it one readable line.
std::string oneLine(const std::string& text) {
    std::string out;
    bool space = false;
    for (const char c : text) {
        if (c == '\n' || c == '\r' || c == ' ' || c == '\t' || c == '*') {
            space = !out.empty();
            continue;
        }
        if (space) {
            out += ' ';
            space = false;
        }
        out += c;
    }
    return out;
}

Result<PredictRequest> parseUnchecked(std::string_view body, const RequestLimits& limits) {
    Json::Value root;
    try {
        const std::unique_ptr<Json::CharReader> reader(strictReaderBuilder().newCharReader());
        std::string errors;
        if (!reader->parse(body.data(), body.data() + body.size(), &root, &errors)) {
            return badRequest("invalid_json", "request body is not valid JSON: " + oneLine(errors));
        }
    } catch (const std::exception& e) {
        return badRequest("invalid_json",
                          std::string("request body is not valid JSON: ") + e.what());
    }
    if (!root.isObject()) {
        return badRequest("invalid_json", "request body must be a JSON object");
    }

    const bool hasImage = root.isMember("image");
    const bool hasImages = root.isMember("images");
    if (hasImage && hasImages) {
        return badRequest("invalid_request", "give either \"image\" or \"images\", not both");
    }
    if (!hasImage && !hasImages) {
        return badRequest("missing_field", "missing field \"image\" (or \"images\" for a batch)");
    }

    PredictRequest request;
    if (hasImage) {
        const Json::Value& image = root["image"];
        if (!image.isString()) {
            return badRequest("wrong_type", "\"image\" must be a base64 string");
        }
        request.batch = false;
        request.images.push_back(image.asString());
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
        request.images.push_back(images[i].asString());
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
