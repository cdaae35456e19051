// predict_request.cpp — strict JSON parsing (jsoncpp) and schema checks of the predict body.
//
// Before jsoncpp sees the body, a linear scan bounds its nesting (limits.max_json_depth), so a
// body of a million '[' costs neither parser recursion nor a million Json::Values, and refuses
// NUL bytes, which jsoncpp would take as the end of the body. Each image's
// base64 text is measured (limits.max_base64_bytes) before it is copied out of the tree.
#include "api/predict_request.hpp"

#include <json/json.h>

#include <cstring>
#include <exception>
#include <memory>
#include <optional>
#include <string>

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

ApiError nulByte(std::size_t pos) {
    return badRequest("invalid_json",
                      "request body is not valid JSON: NUL byte at offset " + std::to_string(pos));
}

// Skips the string whose opening quote is at `open`: the position of its closing quote, npos
// if it does not end, or a NUL error. memchr-based: a base64 string of megabytes costs well under
// a millisecond (std::string_view::find_first_of took 40 ms for 6 MB).
Result<std::size_t> skipString(std::string_view body, std::size_t open) {
    const char* const begin = body.data();
    const char* const end = begin + body.size();
    const char* p = begin + open + 1;
    const char* quote = nullptr;  // the next '"' at or after p, found once and reused
    while (true) {
        if (quote == nullptr || quote < p) {
            quote = p < end ? static_cast<const char*>(std::memchr(p, '"', end - p)) : nullptr;
            if (quote == nullptr) {
                const char* nul =
                    p < end ? static_cast<const char*>(std::memchr(p, '\0', end - p)) : nullptr;
                if (nul != nullptr) {
                    return nulByte(static_cast<std::size_t>(nul - begin));
                }
                return std::string_view::npos;
            }
        }
        const auto* backslash = static_cast<const char*>(std::memchr(p, '\\', quote - p));
        const char* stop = backslash != nullptr ? backslash : quote;
        if (const auto* nul = static_cast<const char*>(std::memchr(p, '\0', stop - p))) {
            return nulByte(static_cast<std::size_t>(nul - begin));
        }
        if (backslash == nullptr) {
            return static_cast<std::size_t>(quote - begin);
        }
        if (backslash + 1 < end && backslash[1] == '\0') {
            return nulByte(static_cast<std::size_t>(backslash + 1 - begin));
        }
        p = backslash + 2;  // a backslash and the character it escapes (maybe the quote)
    }
}

// Before jsoncpp, one pass over the body: json_too_deep as soon as arrays and objects (counted
// outside strings) nest deeper than `limit`, and invalid_json for a NUL byte anywhere (JSON
// allows none, and jsoncpp takes one as the end of the input, so `{"image":"..."}\0junk` would
// otherwise pass as valid: found by fuzz_predict_request). Validates nothing else (jsoncpp
// does, next): unbalanced brackets and an unterminated string only end the scan.
std::optional<ApiError> prescan(std::string_view body, std::size_t limit) {
    std::size_t depth = 0;
    std::size_t pos = 0;
    while (pos < body.size()) {
        const char c = body[pos];
        if (c == '"') {
            const auto close = skipString(body, pos);
            if (!close.ok()) {
                return close.error();
            }
            if (close.value() == std::string_view::npos) {
                return std::nullopt;
            }
            pos = close.value();
        } else if (c == '\0') {
            return nulByte(pos);
        } else if (c == '[' || c == '{') {
            if (++depth > limit) {
                return badRequest("json_too_deep", "JSON nesting deeper than " +
                                                       std::to_string(limit) +
                                                       " levels at offset " + std::to_string(pos));
            }
        } else if ((c == ']' || c == '}') && depth > 0) {
            --depth;
        }
        ++pos;
    }
    return std::nullopt;
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

Result<Json::Value> parseObject(std::string_view body, const RequestLimits& limits) {
    if (auto refused = prescan(body, limits.max_json_depth)) {
        return *std::move(refused);
    }
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
    return root;
}

Result<PredictRequest> parseUnchecked(std::string_view body, const RequestLimits& limits) {
    auto parsed = parseObject(body, limits);
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

Result<Json::Value> parseJsonBody(std::string_view body, const RequestLimits& limits) {
    try {
        return parseObject(body, limits);
    } catch (const std::exception& e) {
        return badRequest("invalid_json", std::string("cannot parse request body: ") + e.what());
    }
}

Result<PredictRequest> parsePredictRequest(std::string_view body, const RequestLimits& limits) {
    try {
        return parseUnchecked(body, limits);
    } catch (const std::exception& e) {
        return badRequest("invalid_json", std::string("cannot parse request body: ") + e.what());
    }
}

}  // namespace predictd
