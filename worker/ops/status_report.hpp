// status_report.hpp — GET /status (PHP-FPM-style pool status, JSON) and GET /metrics
// (Prometheus text format), rendered by any worker from the shared scoreboard.
//
// Reads only: the scoreboard, the pool-wide ServiceMetrics, the served model, the listen
// queue. Knows nothing of FastCGI or routing: the request handler routes /status and /metrics
// (route_table.hpp) to these through the worker loop's OpsEndpoints.
#pragma once

#include <optional>
#include <string>

#include <json/value.h>
#include "ops/service_config.hpp"
#include "process/listen_queue.hpp"
#include "process/scoreboard.hpp"

namespace predictd {

struct PoolSnapshot {
    std::size_t booting = 0, idle = 0, busy = 0, exiting = 0;
};
PoolSnapshot countWorkers(const Scoreboard& board);

// `full` (the query string contains "full") adds one row per worker; `models` (the answering
// worker's models: versions, sha256, memory, problems) is added as "models" when given.
std::string renderStatusJson(const Scoreboard& board, const ServiceConfig& config,
                             std::optional<ListenQueue> queue, bool full,
                             const Json::Value* models = nullptr);
std::string renderPrometheus(const Scoreboard& board, std::optional<ListenQueue> queue);

}  // namespace predictd
