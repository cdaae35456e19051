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

#include "api/predict_request.hpp"
#include "api/response_encode.hpp"
#include "codecs/base64_decode.hpp"
#include "models/image_input.hpp"
#include "models/postprocess.hpp"
#include "transport/route_table.hpp"

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

ApiError noSuchModel(const std::string& name) {
    return ApiError{404, "model_not_found", "no model named '" + name + "' is served"};
}

ApiError inBatch(ApiError error, std::size_t index, bool batch) {
    if (batch) {
        error.message = "images[" + std::to_string(index) + "]: " + error.message;
    }
    return error;
}

// limits.request_deadline from the request's receipt; none when either is unset.
class Deadline {
  public:
    Deadline(std::chrono::steady_clock::time_point received, double seconds)
        : set_(received != std::chrono::steady_clock::time_point{} && seconds > 0),
          at_(received + std::chrono::duration_cast<std::chrono::steady_clock::duration>(
                             std::chrono::duration<double>(seconds))),
          received_(received) {}

    [[nodiscard]] bool passed() const { return set_ && std::chrono::steady_clock::now() > at_; }
    [[nodiscard]] double elapsedSeconds() const {
        return std::chrono::duration<double>(std::chrono::steady_clock::now() - received_).count();
    }

  private:
    bool set_;
    std::chrono::steady_clock::time_point at_;
    std::chrono::steady_clock::time_point received_;
};

HttpResponse deadlineExceeded(const Deadline& deadline, double limit) {
    char message[160];
    std::snprintf(message, sizeof(message),
                  "the request was abandoned %.1f s after it arrived; the deadline is %g s "
                  "(limits.request_deadline)",
                  deadline.elapsedSeconds(), limit);
    HttpResponse r = RequestHandler::errorResponse(ApiError{503, "deadline_exceeded", message});
    r.headers.emplace_back("Retry-After", "1");
    return r;
}

// 413 decode_budget_exceeded when the planned decodes add up to more than the budget, naming
// the costliest image.
std::optional<ApiError> overDecodeBudget(const std::vector<PlannedImage>& plans,
                                         std::uint64_t budget, bool batch) {
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
    std::string which = batch ? "images[" + std::to_string(costliest) + "]" : "the image";
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

RequestHandler::RequestHandler(const ModelRepository& models, RequestLimits limits,
                               OpsEndpoints ops)
    : models_(models), limits_(limits), ops_(std::move(ops)), modelsStatus_(Json::arrayValue) {
    // The models never change under a handler, so the bodies about them are rendered once.
    Json::StreamWriterBuilder builder;
    builder.settings_["indentation"] = "";
    Json::Value ready(Json::objectValue);
    ready["status"] = "ready";
    ready["model"] = models_.defaultName();
    readyBody_ = Json::writeString(builder, ready);
    Json::Value list(Json::arrayValue);
    for (const auto& m : models_.models()) {
        Json::Value v = describeModel(*m);
        modelsStatus_.append(v);
        modelBodies_[m->name] = Json::writeString(builder, v);
        list.append(std::move(v));
    }
    Json::Value all(Json::objectValue);
    all["default"] = models_.defaultName();
    all["models"] = std::move(list);
    modelsBody_ = Json::writeString(builder, all);
}

HttpResponse RequestHandler::errorResponse(const ApiError& error) {
    try {
        return jsonResponse(error.status, encodeError(error));
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
    try {
        const auto match = matchRoute(req.path);
        if (!match) {
            return errorResponse(ApiError{404, "not_found", "no such endpoint: " + req.path});
        }
        if (!routeAllows(*match->route, req.method)) {
            return methodNotAllowed(req, match->route->allow);
        }
        const auto& params = match->params;
        switch (match->route->id) {
            case RouteId::kPredict:
                return predict(req, models_.defaultName(), std::nullopt);
            case RouteId::kHealth:
                return jsonResponse(200, R"({"status":"ok"})");
            case RouteId::kReady:
                return ready();
            case RouteId::kModels:
                return jsonResponse(200, modelsBody_);
            case RouteId::kModel: {
                const auto it = modelBodies_.find(params.at(0));
                return it == modelBodies_.end() ? errorResponse(noSuchModel(params.at(0)))
                                                : jsonResponse(200, it->second);
            }
            case RouteId::kModelPredict:
                return predict(req, params.at(0), std::nullopt);
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
                const std::string& text = params.at(1);
                const auto [end, ec] =
                    std::from_chars(text.data(), text.data() + text.size(), version);
                if (ec != std::errc() || end != text.data() + text.size() || version <= 0) {
                    return errorResponse(
                        ApiError{404, "model_version_not_found",
                                 "model '" + params.at(0) + "' has no version '" + text + "'"});
                }
                return predict(req, params.at(0), version);
            }
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
    const Deadline deadline(req.received, limits_.request_deadline);

    // Parse → plan: every image's header is read and its decode planned (shrink on load) before
    // any is decoded, so the request's whole cost is known while it is still cheap to refuse.
    std::vector<std::string> encoded;
    std::vector<PlannedImage> plans;
    encoded.reserve(request.images.size());
    plans.reserve(request.images.size());
    for (std::size_t i = 0; i < request.images.size(); ++i) {
        auto bytes = decodeBase64(request.images[i]);
        if (!bytes.ok()) {
            return errorResponse(inBatch(bytes.error(), i, request.batch));
        }
        auto planned = planImageInput(bytes.value(), limits_, spec);
        if (!planned.ok()) {
            return errorResponse(inBatch(planned.error(), i, request.batch));
        }
        encoded.push_back(std::move(bytes).value());
        plans.push_back(std::move(planned).value());
    }
    if (auto over = overDecodeBudget(plans, limits_.max_decode_bytes, request.batch)) {
        return errorResponse(*over);
    }

    // Decode → preprocess, one image at a time, abandoning the request once it is past its
    // deadline (the worker stays free for requests whose clients still wait).
    std::vector<cv::Mat> inputs;
    inputs.reserve(request.images.size());
    for (std::size_t i = 0; i < encoded.size(); ++i) {
        if (deadline.passed()) {
            return deadlineExceeded(deadline, limits_.request_deadline);
        }
        auto input = makeImageInput(encoded[i], plans[i], limits_, spec);
        if (!input.ok()) {
            return errorResponse(inBatch(input.error(), i, request.batch));
        }
        inputs.push_back(std::move(input).value());
    }
    if (deadline.passed()) {
        return deadlineExceeded(deadline, limits_.request_deadline);
    }

    const auto predictions = loaded->batcher->predict(inputs);
    if (!predictions.ok()) {
        return errorResponse(predictions.error());
    }
    const auto& list = predictions.value();
    if (list.size() != inputs.size()) {
        return errorResponse(ApiError{500, "internal_error", "model returned no prediction"});
    }
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
