// request_handler.hpp — routing and the predict pipeline: HttpRequest → HttpResponse.
//
// Dispatches through the route table (route_table.hpp: /predict, /health, /ready, /models…),
// owns the media type and size checks and the order of the stages: parse → decode base64 →
// decode image → preprocess (the model's declared recipe) → infer (the model version's batcher)
// → postprocess → encode. Errors from any stage are rendered here, once. Knows nothing of
// FastCGI or sockets; never throws.
#pragma once

#include <functional>
#include <map>
#include <optional>
#include <string>

#include <json/value.h>

#include "api/api_error.hpp"
#include "api/request_limits.hpp"
#include "models/model_repository.hpp"
#include "transport/http_types.hpp"
#include "transport/route_table.hpp"

namespace predictd {

// The pool-wide endpoints, rendered by the worker loop from the scoreboard (ops/status_report):
// the handler routes to them but knows nothing of the scoreboard. Unset: 404.
struct OpsEndpoints {
    // GET /status[?full]: `models` is this worker's description of its models.
    std::function<std::string(bool full, const Json::Value& models)> status;
    std::function<std::string()> metrics;  // GET /metrics
};

class RequestHandler {
  public:
    RequestHandler(const ModelRepository& models, RequestLimits limits, OpsEndpoints ops = {});
    // As handle(), for a request that came in on the control socket: only the monitoring routes
    // (route_table.hpp: control) are served there; anything else is 404.
    HttpResponse handleControl(const HttpRequest& req);

    // Never throws: anything unexpected becomes 500 internal_error. HEAD gets the same status,
    // headers and body as GET (the web server drops the body).
    HttpResponse handle(const HttpRequest& req);

    // The one error renderer: the error's status, its body in the protocol's shape
    // (response_encode.hpp: encodeError) and, for a 503, Retry-After: 1.
    static HttpResponse errorResponse(const ApiError& error,
                                      ApiProtocol protocol = ApiProtocol::kNative);

  private:
    HttpResponse route(const HttpRequest& req, const RouteMatch& match);
    HttpResponse predict(const HttpRequest& req, const std::string& model_name,
                         std::optional<int> version);
    HttpResponse ready() const;
    // The served version a route names: latest, /versions/{v} or (TF Serving) /labels/{l}.
    // Errors: 404 model_not_found, model_version_not_found.
    Result<LoadedVersion*> resolve(const RouteMatch& match) const;
    // 413 payload_too_large / 400 invalid_json (empty) for every route with a body.
    std::optional<ApiError> checkBody(const HttpRequest& req) const;
    // Open Inference Protocol v2 (request_handler_v2.cpp).
    HttpResponse v2Route(const HttpRequest& req, const RouteMatch& match);
    HttpResponse v2Infer(const HttpRequest& req, const std::string& model_name,
                         LoadedVersion& version);
    // TF Serving REST API (request_handler_tfs.cpp).
    HttpResponse tfsRoute(const HttpRequest& req, const RouteMatch& match);
    HttpResponse tfsPredict(const HttpRequest& req, LoadedVersion& version);
    HttpResponse tfsClassify(const HttpRequest& req, LoadedVersion& version);

    const ModelRepository& models_;
    RequestLimits limits_;
    OpsEndpoints ops_;
    Json::Value modelsStatus_;  // for /status: every model with its versions and memory
    std::string readyBody_;     // {"model":"<default model>","status":"ready"}
    std::string modelsBody_;    // GET /models
    std::map<std::string, std::string> modelBodies_;  // GET /models/{model}
};

}  // namespace predictd
