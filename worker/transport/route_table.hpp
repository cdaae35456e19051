// route_table.hpp — the one table of predictd's HTTP routes: path pattern, methods, protocol,
// meaning. Native routes (/predict, /models…), TF Serving's REST API (/v1/models…) and the Open
// Inference Protocol v2 (/v2…) live here.
//
// The request handler dispatches through it (a known path with another method is a 405 with
// Allow from here); nginx/predictd-locations.conf passes exactly these paths and methods to the
// workers (tests/integration/test_route_table_nginx.cpp checks the two agree). Patterns are
// literal segments, {parameters} (one segment each) and a {parameter} with a literal suffix
// ("{model}:predict", for TF Serving's verb on the last segment). The first matching row wins,
// so suffixed rows must come before the plain {model} rows they would otherwise fall under.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "api/api_error.hpp"

namespace predictd {

enum class RouteId {
    kPredict,              // POST /predict — the default model (seed-compatible)
    kHealth,               // GET  /health
    kReady,                // GET  /ready
    kModels,               // GET  /models
    kModel,                // GET  /models/{model}
    kModelPredict,         // POST /models/{model}/predict
    kModelVersionPredict,  // POST /models/{model}/versions/{version}/predict
    kStatus,               // GET  /status[?full] — the pool (PHP-FPM's status page)
    kMetrics,              // GET  /metrics — Prometheus text
    // Open Inference Protocol v2 (KServe v2 / Triton), JSON.
    kV2Server,      // GET  /v2 — server metadata
    kV2Live,        // GET  /v2/health/live
    kV2Ready,       // GET  /v2/health/ready
    kV2Model,       // GET  /v2/models/{model}[/versions/{version}] — model metadata
    kV2ModelReady,  // GET  /v2/models/{model}[/versions/{version}]/ready
    kV2Infer,       // POST /v2/models/{model}[/versions/{version}]/infer
    // TF Serving REST API (tensorflow_serving/g3doc/api_rest.md); [/versions/{v}|/labels/{l}].
    kTfsStatus,    // GET  /v1/models/{model}[…] — model_version_status
    kTfsMetadata,  // GET  /v1/models/{model}[…]/metadata — the serving_default signature
    kTfsPredict,  // POST /v1/models/{model}[…]:predict — row ("instances") or columnar ("inputs")
    kTfsClassify,  // POST /v1/models/{model}[…]:classify — [label, score] pairs per example
};

struct HttpRoute {
    RouteId id;
    const char* pattern;
    const char* allow;  // methods, as the Allow header lists them (GET implies HEAD)
    bool control;       // also served on the control socket (monitoring)
    ApiProtocol protocol;
};

namespace route_detail {
constexpr auto kN = ApiProtocol::kNative;
constexpr auto kV2 = ApiProtocol::kV2;
constexpr auto kTf = ApiProtocol::kTfServing;
}  // namespace route_detail

inline constexpr HttpRoute kRoutes[] = {
    {RouteId::kPredict, "/predict", "POST", false, route_detail::kN},
    {RouteId::kHealth, "/health", "GET, HEAD", true, route_detail::kN},
    {RouteId::kReady, "/ready", "GET, HEAD", true, route_detail::kN},
    {RouteId::kModels, "/models", "GET, HEAD", false, route_detail::kN},
    {RouteId::kModel, "/models/{model}", "GET, HEAD", false, route_detail::kN},
    {RouteId::kModelPredict, "/models/{model}/predict", "POST", false, route_detail::kN},
    {RouteId::kModelVersionPredict, "/models/{model}/versions/{version}/predict", "POST", false,
     route_detail::kN},
    {RouteId::kStatus, "/status", "GET, HEAD", true, route_detail::kN},
    {RouteId::kMetrics, "/metrics", "GET, HEAD", true, route_detail::kN},

    {RouteId::kV2Server, "/v2", "GET, HEAD", true, route_detail::kV2},
    {RouteId::kV2Live, "/v2/health/live", "GET, HEAD", true, route_detail::kV2},
    {RouteId::kV2Ready, "/v2/health/ready", "GET, HEAD", true, route_detail::kV2},
    {RouteId::kV2Model, "/v2/models/{model}", "GET, HEAD", false, route_detail::kV2},
    {RouteId::kV2Model, "/v2/models/{model}/versions/{version}", "GET, HEAD", false,
     route_detail::kV2},
    {RouteId::kV2ModelReady, "/v2/models/{model}/ready", "GET, HEAD", false, route_detail::kV2},
    {RouteId::kV2ModelReady, "/v2/models/{model}/versions/{version}/ready", "GET, HEAD", false,
     route_detail::kV2},
    {RouteId::kV2Infer, "/v2/models/{model}/infer", "POST", false, route_detail::kV2},
    {RouteId::kV2Infer, "/v2/models/{model}/versions/{version}/infer", "POST", false,
     route_detail::kV2},

    // TF Serving: the ":verb" rows come before the status rows whose {model} or {version} would
    // also take "mnist:predict".
    {RouteId::kTfsPredict, "/v1/models/{model}:predict", "POST", false, route_detail::kTf},
    {RouteId::kTfsPredict, "/v1/models/{model}/versions/{version}:predict", "POST", false,
     route_detail::kTf},
    {RouteId::kTfsPredict, "/v1/models/{model}/labels/{label}:predict", "POST", false,
     route_detail::kTf},
    {RouteId::kTfsClassify, "/v1/models/{model}:classify", "POST", false, route_detail::kTf},
    {RouteId::kTfsClassify, "/v1/models/{model}/versions/{version}:classify", "POST", false,
     route_detail::kTf},
    {RouteId::kTfsClassify, "/v1/models/{model}/labels/{label}:classify", "POST", false,
     route_detail::kTf},
    {RouteId::kTfsMetadata, "/v1/models/{model}/metadata", "GET, HEAD", false, route_detail::kTf},
    {RouteId::kTfsMetadata, "/v1/models/{model}/versions/{version}/metadata", "GET, HEAD", false,
     route_detail::kTf},
    {RouteId::kTfsMetadata, "/v1/models/{model}/labels/{label}/metadata", "GET, HEAD", false,
     route_detail::kTf},
    {RouteId::kTfsStatus, "/v1/models/{model}", "GET, HEAD", false, route_detail::kTf},
    {RouteId::kTfsStatus, "/v1/models/{model}/versions/{version}", "GET, HEAD", false,
     route_detail::kTf},
    {RouteId::kTfsStatus, "/v1/models/{model}/labels/{label}", "GET, HEAD", false,
     route_detail::kTf},
};

struct RouteMatch {
    const HttpRoute* route = nullptr;
    // The {parameters}, in pattern order, with their names ("model", "version", "label").
    std::vector<std::pair<std::string, std::string>> params;

    // The parameter named `name`, if the pattern has one.
    [[nodiscard]] std::optional<std::string> param(std::string_view name) const;
};

// The route whose pattern matches `path`, whatever the method; nullopt: no such endpoint.
std::optional<RouteMatch> matchRoute(std::string_view path);

// Whether `method` is one of the route's (HEAD counts as GET).
bool routeAllows(const HttpRoute& route, std::string_view method);

// The protocol a path belongs to by its prefix (/v2 Open Inference Protocol, /v1 TF Serving, else
// native): the shape of a 404 for a path no route matches.
ApiProtocol protocolOfPath(std::string_view path);

}  // namespace predictd
