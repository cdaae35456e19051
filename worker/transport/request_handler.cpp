// request_handler.cpp — routes, request checks and the predict pipeline.
#include "transport/request_handler.hpp"

#include <exception>
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include <json/json.h>

#include "codecs/base64_decode.hpp"
#include "codecs/image_decode.hpp"
#include "api/predict_request.hpp"
#include "models/preprocess.hpp"
#include "api/response_encode.hpp"

namespace predictd {
namespace {

HttpResponse jsonResponse(int status, std::string body) {
    HttpResponse r;
    r.status = status;
    r.body = std::move(body);
    return r;
}

HttpResponse methodNotAllowed(const HttpRequest& req, const std::string& allow) {
    HttpResponse r = RequestHandler::errorResponse(
        ApiError{405, "method_not_allowed",
                 "method " + req.method + " is not allowed on " + req.path + "; use " + allow});
    r.headers.emplace_back("Allow", allow);
    return r;
}

char lower(char c) {
    return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
}

// "application/json", optionally followed by parameters (";charset=utf-8"), any case.
bool isJsonMediaType(std::string_view contentType) {
    constexpr std::string_view kJson = "application/json";
    std::size_t i = 0;
    while (i < contentType.size() && (contentType[i] == ' ' || contentType[i] == '\t')) {
        ++i;
    }
    if (contentType.size() - i < kJson.size()) {
        return false;
    }
    for (std::size_t k = 0; k < kJson.size(); ++k) {
        if (lower(contentType[i + k]) != kJson[k]) {
            return false;
        }
    }
    const std::size_t rest = i + kJson.size();
    return rest == contentType.size() || contentType[rest] == ';' || contentType[rest] == ' ' ||
           contentType[rest] == '\t';
}

ApiError inBatch(ApiError error, std::size_t index, bool batch) {
    if (batch) {
        error.message = "images[" + std::to_string(index) + "]: " + error.message;
    }
    return error;
}

}  // namespace

RequestHandler::RequestHandler(Predictor& model, RequestLimits limits)
    : model_(model), limits_(limits) {
    // The model never changes under a handler, so /ready's body is rendered once.
    Json::Value v(Json::objectValue);
    v["status"] = "ready";
    v["model"] = std::filesystem::path(model_.path()).filename().string();
    Json::StreamWriterBuilder builder;
    builder.settings_["indentation"] = "";
    readyBody_ = Json::writeString(builder, v);
}

HttpResponse RequestHandler::errorResponse(const ApiError& error) {
    try {
        return jsonResponse(error.status, encodeError(error));
    } catch (...) {
        return jsonResponse(500,
                            R"({"error":{"code":"internal_error","message":"internal error"}})");
    }
}

HttpResponse RequestHandler::handle(const HttpRequest& req) {
    try {
        const bool isGet = req.method == "GET" || req.method == "HEAD";
        if (req.path == "/predict") {
            return req.method == "POST" ? predict(req) : methodNotAllowed(req, "POST");
        }
        if (req.path == "/health") {
            return isGet ? jsonResponse(200, R"({"status":"ok"})")
                         : methodNotAllowed(req, "GET, HEAD");
        }
        if (req.path == "/ready") {
            return isGet ? ready() : methodNotAllowed(req, "GET, HEAD");
        }
        return errorResponse(ApiError{404, "not_found", "no such endpoint: " + req.path});
    } catch (const std::exception& e) {
        return errorResponse(
            ApiError{500, "internal_error", std::string("internal error: ") + e.what()});
    } catch (...) {
        return errorResponse(ApiError{500, "internal_error", "internal error"});
    }
}

HttpResponse RequestHandler::ready() const {
    return jsonResponse(200, readyBody_);
}

HttpResponse RequestHandler::predict(const HttpRequest& req) {
    if (!isJsonMediaType(req.content_type)) {
        return errorResponse(
            ApiError{415, "unsupported_media_type",
                     "Content-Type must be application/json, got '" + req.content_type + "'"});
    }
    if (req.body.size() > limits_.max_body_bytes) {
        return errorResponse(ApiError{413, "payload_too_large",
                                      "request body of " + std::to_string(req.body.size()) +
                                          " bytes exceeds the limit of " +
                                          std::to_string(limits_.max_body_bytes) + " bytes"});
    }
    if (req.body.empty()) {
        return errorResponse(ApiError{400, "invalid_json", "request body is empty"});
    }

    auto parsed = parsePredictRequest(req.body, limits_);
    if (!parsed.ok()) {
        return errorResponse(parsed.error());
    }
    const PredictRequest request = std::move(parsed).value();

    std::vector<cv::Mat> digits;
    digits.reserve(request.images.size());
    for (std::size_t i = 0; i < request.images.size(); ++i) {
        const auto bytes = decodeBase64(request.images[i]);
        if (!bytes.ok()) {
            return errorResponse(inBatch(bytes.error(), i, request.batch));
        }
        const auto image = decodeImage(bytes.value(), limits_);
        if (!image.ok()) {
            return errorResponse(inBatch(image.error(), i, request.batch));
        }
        auto digit = preprocessDigit(image.value());
        if (!digit.ok()) {
            return errorResponse(inBatch(digit.error(), i, request.batch));
        }
        digits.push_back(std::move(digit).value());
    }

    const auto predictions = model_.predict(digits);
    if (!predictions.ok()) {
        return errorResponse(predictions.error());
    }
    const auto& list = predictions.value();
    if (!request.batch) {
        if (list.size() != 1) {
            return errorResponse(ApiError{500, "internal_error", "model returned no prediction"});
        }
        return jsonResponse(200, encodePrediction(list.front()));
    }
    return jsonResponse(200, encodeBatch(list));
}

}  // namespace predictd
