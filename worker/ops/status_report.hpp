// status_report.hpp — GET /status (PHP-FPM-style pool status, JSON) and GET /metrics
// (Prometheus text format), rendered by any worker from the shared scoreboard.
//
// Reads only: the scoreboard, the pool-wide ServiceMetrics, the served model, the listen
// queue. Knows nothing of FastCGI; fcgi_worker routes the two paths here.
#pragma once

#include <optional>
#include <string>

#include "ops/service_config.hpp"
#include "process/listen_queue.hpp"
#include "process/scoreboard.hpp"
#include "transport/http_types.hpp"

namespace predictd {

struct PoolSnapshot {
    std::size_t booting = 0, idle = 0, busy = 0, exiting = 0;
};
PoolSnapshot countWorkers(const Scoreboard& board);

// `full` (the query string contains "full") adds one row per worker.
std::string renderStatusJson(const Scoreboard& board, const ServiceConfig& config,
                             std::optional<ListenQueue> queue, bool full);
std::string renderPrometheus(const Scoreboard& board, std::optional<ListenQueue> queue);

// Routes /status and /metrics; nullopt for any other path.
std::optional<HttpResponse> serveStatusEndpoint(const HttpRequest& req, const Scoreboard& board,
                                                const ServiceConfig& config, int listen_fd);

}  // namespace predictd
