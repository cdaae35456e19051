// route_table.hpp — the one table of predictd's HTTP routes: path pattern, methods, meaning.
//
// The request handler dispatches through it (a known path with another method is a 405 with
// Allow from here); nginx/predictd-locations.conf passes exactly these paths and methods to the
// workers. Patterns are literal segments and {parameters} (one segment each).
#pragma once

#include <array>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

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
};

struct HttpRoute {
    RouteId id;
    const char* pattern;
    const char* allow;  // methods, as the Allow header lists them (GET implies HEAD)
    bool control;       // also served on the control socket (monitoring)
};

inline constexpr std::array<HttpRoute, 9> kRoutes = {{
    {RouteId::kPredict, "/predict", "POST", false},
    {RouteId::kHealth, "/health", "GET, HEAD", true},
    {RouteId::kReady, "/ready", "GET, HEAD", true},
    {RouteId::kModels, "/models", "GET, HEAD", false},
    {RouteId::kModel, "/models/{model}", "GET, HEAD", false},
    {RouteId::kModelPredict, "/models/{model}/predict", "POST", false},
    {RouteId::kModelVersionPredict, "/models/{model}/versions/{version}/predict", "POST", false},
    {RouteId::kStatus, "/status", "GET, HEAD", true},
    {RouteId::kMetrics, "/metrics", "GET, HEAD", true},
}};

struct RouteMatch {
    const HttpRoute* route = nullptr;
    std::vector<std::string> params;  // the {parameters}, in pattern order
};

// The route whose pattern matches `path`, whatever the method; nullopt: no such endpoint.
std::optional<RouteMatch> matchRoute(std::string_view path);

// Whether `method` is one of the route's (HEAD counts as GET).
bool routeAllows(const HttpRoute& route, std::string_view method);

}  // namespace predictd
