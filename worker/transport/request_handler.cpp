// request_handler.cpp — routes, request checks and the predict pipeline.
#include "transport/request_handler.hpp"

#include <algorithm>
#include <charconv>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <exception>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <json/json.h>

#include "api/json_text.hpp"
#include "api/predict_request.hpp"
#include "api/response_encode.hpp"
#include "models/postprocess.hpp"
#include "transport/inference_pipeline.hpp"
#include "transport/route_table.hpp"

namespace predictd {
namespace {

HttpResponse jsonResponse(int status, std::string body) {
    HttpResponse r;
    r.status = status;
    r.body = std::move(body);
    return r;
}

HttpResponse methodNotAllowed(const HttpRequest& req, const std::string& allow,
                              ApiProtocol protocol) {
    HttpResponse r = RequestHandler::errorResponse(
        ApiError{405, "method_not_allowed",
                 "method " + req.method + " is not allowed on " + req.path + "; use " + allow},
        protocol);
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

ApiError noSuchModel(const std::string& name) {
    return ApiError{404, "model_not_found", "no model named '" + name + "' is served"};
}

}  // namespace

RequestHandler::RequestHandler(const ModelRepository& models, RequestLimits limits,
                               OpsEndpoints ops)
    : models_(models), limits_(limits), ops_(std::move(ops)), modelsStatus_(Json::arrayValue) {
    // The models never change under a handler, so the bodies about them are rendered once.
    Json::Value ready(Json::objectValue);
    ready["status"] = "ready";
    ready["model"] = models_.defaultName();
    readyBody_ = compactJson(ready);
    Json::Value list(Json::arrayValue);
    for (const auto& m : models_.models()) {
        Json::Value v = describeModel(*m);
        modelsStatus_.append(v);
        modelBodies_[m->name] = compactJson(v);
        list.append(std::move(v));
    }
    Json::Value all(Json::objectValue);
    all["default"] = models_.defaultName();
    all["models"] = std::move(list);
    modelsBody_ = compactJson(all);
}

HttpResponse RequestHandler::errorResponse(const ApiError& error, ApiProtocol protocol) {
    try {
        HttpResponse r = jsonResponse(error.status, encodeError(error, protocol));
        if (error.status == 503) {
            r.headers.emplace_back("Retry-After", "1");
        }
        return r;
    } catch (...) {
        return jsonResponse(500,
                            R"({"error":{"code":"internal_error","message":"internal error"}})");
    }
}

HttpResponse RequestHandler::handleControl(const HttpRequest& req) {
    const auto match = matchRoute(req.path);
    if (match && !match->route->control) {
        return errorResponse(ApiError{404, "not_found",
                                      "the control socket serves /health, /ready, /status and "
                                      "/metrics only; " +
                                          req.path + " is on the main socket"});
    }
    return handle(req);
}

HttpResponse RequestHandler::handle(const HttpRequest& req) {
    const ApiProtocol protocol = protocolOfPath(req.path);
    try {
        const auto match = matchRoute(req.path);
        if (!match) {
            return errorResponse(ApiError{404, "not_found", "no such endpoint: " + req.path},
                                 protocol);
        }
        if (!routeAllows(*match->route, req.method)) {
            return methodNotAllowed(req, match->route->allow, match->route->protocol);
        }
        return route(req, *match);
    } catch (const std::exception& e) {
        return errorResponse(
            ApiError{500, "internal_error", std::string("internal error: ") + e.what()}, protocol);
    } catch (...) {
        return errorResponse(ApiError{500, "internal_error", "internal error"}, protocol);
    }
}

Result<LoadedVersion*> RequestHandler::resolve(const RouteMatch& match) const {
    const std::string name = match.param("model").value_or(models_.defaultName());
    const ServedModel* model = models_.find(name);
    if (model == nullptr) {
        return noSuchModel(name);
    }
    if (const auto label = match.param("label")) {
        const auto& labels = model->spec.version_labels;
        const auto it = labels.find(*label);
        LoadedVersion* v = it == labels.end() ? nullptr : model->find(it->second);
        if (v == nullptr) {
            return ApiError{404, "model_version_not_found",
                            "model '" + name + "' has no served version labelled '" + *label + "'"};
        }
        return v;
    }
    if (const auto text = match.param("version")) {
        int version = 0;
        const auto [end, ec] = std::from_chars(text->data(), text->data() + text->size(), version);
        LoadedVersion* v = ec == std::errc() && end == text->data() + text->size() && version > 0
                               ? model->find(version)
                               : nullptr;
        if (v == nullptr) {
            return ApiError{404, "model_version_not_found",
                            "model '" + name + "' does not serve version '" + *text + "'"};
        }
        return v;
    }
    LoadedVersion* v = model->latest();
    if (v == nullptr) {
        return noSuchModel(name);
    }
    return v;
}

std::optional<ApiError> RequestHandler::checkBody(const HttpRequest& req) const {
    if (req.body.size() > limits_.max_body_bytes) {
        return ApiError{413, "payload_too_large",
                        "request body of " + std::to_string(req.body.size()) +
                            " bytes exceeds the limit of " +
                            std::to_string(limits_.max_body_bytes) + " bytes"};
    }
    if (req.body.empty()) {
        return ApiError{400, "invalid_json", "request body is empty"};
    }
    return std::nullopt;
}

HttpResponse RequestHandler::route(const HttpRequest& req, const RouteMatch& match) {
    if (match.route->protocol == ApiProtocol::kV2) {
        return v2Route(req, match);
    }
    if (match.route->protocol == ApiProtocol::kTfServing) {
        return tfsRoute(req, match);
    }
    const auto& params = match.params;
    switch (match.route->id) {
        case RouteId::kPredict:
            return predict(req, models_.defaultName(), std::nullopt);
        case RouteId::kHealth:
            return jsonResponse(200, R"({"status":"ok"})");
        case RouteId::kReady:
            return ready();
        case RouteId::kModels:
            return jsonResponse(200, modelsBody_);
        case RouteId::kModel: {
            const auto it = modelBodies_.find(params.at(0).second);
            return it == modelBodies_.end() ? errorResponse(noSuchModel(params.at(0).second))
                                            : jsonResponse(200, it->second);
        }
        case RouteId::kModelPredict:
            return predict(req, params.at(0).second, std::nullopt);
        case RouteId::kStatus:
            if (!ops_.status) {
                break;
            }
            return jsonResponse(
                200, ops_.status(req.query.find("full") != std::string::npos, modelsStatus_));
        case RouteId::kMetrics: {
            if (!ops_.metrics) {
                break;
            }
            HttpResponse r = jsonResponse(200, ops_.metrics());
            r.content_type = "text/plain; version=0.0.4; charset=utf-8";
            return r;
        }
        case RouteId::kModelVersionPredict: {
            int version = 0;
            const std::string& text = params.at(1).second;
            const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), version);
            if (ec != std::errc() || end != text.data() + text.size() || version <= 0) {
                return errorResponse(
                    ApiError{404, "model_version_not_found",
                             "model '" + params.at(0).second + "' has no version '" + text + "'"});
            }
            return predict(req, params.at(0).second, version);
        }
        default:
            break;
    }
    return errorResponse(ApiError{404, "not_found", "no such endpoint: " + req.path},
                         match.route->protocol);
}

HttpResponse RequestHandler::ready() const {
    return jsonResponse(200, readyBody_);
}

HttpResponse RequestHandler::predict(const HttpRequest& req, const std::string& model_name,
                                     std::optional<int> version) {
    const ServedModel* model = models_.find(model_name);
    if (model == nullptr) {
        return errorResponse(noSuchModel(model_name));
    }
    LoadedVersion* loaded = version ? model->find(*version) : model->latest();
    if (loaded == nullptr) {
        return errorResponse(ApiError{404, "model_version_not_found",
                                      "model '" + model_name + "' does not serve version " +
                                          std::to_string(version.value_or(0))});
    }
    const ModelSpec& spec = loaded->model->spec();
    if (!isJsonMediaType(req.content_type)) {
        return errorResponse(
            ApiError{415, "unsupported_media_type",
                     "Content-Type must be application/json, got '" + req.content_type + "'"});
    }
    if (auto refused = checkBody(req)) {
        return errorResponse(*refused);
    }

    auto parsed = parsePredictRequest(req.body, limits_);
    if (!parsed.ok()) {
        return errorResponse(parsed.error());
    }
    const PredictRequest request = std::move(parsed).value();
    const Deadline deadline(req.received, limits_.request_deadline);
    EncodedImages images;
    images.items.assign(request.images.begin(), request.images.end());
    images.batch = request.batch;
    const auto inputs = prepareImages(images, limits_, spec, deadline);
    if (!inputs.ok()) {
        return errorResponse(inputs.error());
    }
    const auto predictions = runModel(*loaded, inputs.value(), deadline);
    if (!predictions.ok()) {
        return errorResponse(predictions.error());
    }
    const auto& list = predictions.value();
    std::vector<Answer> answers;
    answers.reserve(list.size());
    for (const Prediction& p : list) {
        auto answer = postprocess(p, spec.output, request.top_k);
        if (!answer.ok()) {
            return errorResponse(answer.error());
        }
        answers.push_back(std::move(answer).value());
    }
    if (!request.batch) {
        return jsonResponse(200, encodeAnswer(answers.front()));
    }
    return jsonResponse(200, encodeBatch(answers));
}

}  // namespace predictd
