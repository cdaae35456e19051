// status_report.cpp — rendering /status (JSON, jsoncpp) and /metrics (Prometheus text).
//
// The Prometheus exposition format is written by hand: it is a few lines of text per metric and
// none of the libraries we ship (Poco, jsoncpp, OpenCV) produces it.
#include "ops/status_report.hpp"

#include "api/json_text.hpp"

#include <json/json.h>

#include <cstdio>
#include <ctime>
#include <filesystem>
#include <map>
#include <utility>

namespace predictd {

PoolSnapshot countWorkers(const Scoreboard& board) {
    PoolSnapshot s;
    for (std::size_t i = 0; i < board.size(); ++i) {
        switch (board.slot(i).state.load(std::memory_order_relaxed)) {
            case WorkerState::kBooting:
                ++s.booting;
                break;
            case WorkerState::kIdle:
                ++s.idle;
                break;
            case WorkerState::kBusy:
                ++s.busy;
                break;
            case WorkerState::kExiting:
                ++s.exiting;
                break;
            case WorkerState::kFree:
                break;
        }
    }
    return s;
}

namespace {

Json::UInt64 load(const std::atomic<std::uint64_t>& v) {
    return static_cast<Json::UInt64>(v.load(std::memory_order_relaxed));
}

std::string writeJson(const Json::Value& v) {
    return compactJson(v) + "\n";
}

}  // namespace

std::string renderStatusJson(const Scoreboard& board, const ServiceConfig& config,
                             std::optional<ListenQueue> queue, bool full,
                             const Json::Value* models) {
    const ServiceMetrics& m = board.metrics();
    const PoolSnapshot pool = countWorkers(board);
    const ModelInfo model = board.model();
    Json::Value v;
    v["pool"] = "predictd";
    v["process_manager"] = processManagerName(config.pm);
    const auto start = m.start_time_unix.load();
    v["start_time"] = static_cast<Json::Int64>(start);
    v["start_since"] = static_cast<Json::Int64>(::time(nullptr) - start);
    v["accepted_conn"] = load(m.accepted);
    v["listen_queue"] = queue ? Json::Value(queue->queued) : Json::Value();
    v["listen_queue_len"] = queue ? Json::Value(queue->backlog) : Json::Value();
    v["idle_processes"] = static_cast<Json::UInt64>(pool.idle);
    v["active_processes"] = static_cast<Json::UInt64>(pool.busy);
    v["booting_processes"] = static_cast<Json::UInt64>(pool.booting);
    v["total_processes"] =
        static_cast<Json::UInt64>(pool.idle + pool.busy + pool.booting + pool.exiting);
    v["max_active_processes"] = load(m.max_busy);
    v["max_children"] = config.workers;
    v["max_children_reached"] = load(m.max_workers_reached);
    Json::Value restarts(Json::objectValue);
    for (std::size_t r = 0; r < m.restarts.size(); ++r) {
        restarts[restartReasonName(static_cast<RestartReason>(r))] = load(m.restarts[r]);
    }
    v["restarts"] = restarts;
    v["model"]["name"] = model.name;
    v["model"]["path"] = model.path;
    v["model"]["sha256"] = model.sha256;
    v["model"]["generation"] = model.generation;
    if (full) {
        Json::Value rows(Json::arrayValue);
        const std::int64_t now = monotonicMs();
        for (std::size_t i = 0; i < board.size(); ++i) {
            const ScoreboardSlot& s = board.slot(i);
            const WorkerState state = s.state.load(std::memory_order_relaxed);
            if (state == WorkerState::kFree) {
                continue;
            }
            Json::Value row;
            row["pid"] = static_cast<Json::Int>(s.pid.load());
            row["state"] = workerStateName(state);
            row["generation"] = s.generation.load();
            row["requests"] = static_cast<Json::UInt64>(s.requests.load());
            row["start_since_ms"] = static_cast<Json::Int64>(now - s.spawned_ms.load());
            const std::int64_t started = s.request_started_ms.load();
            row["request_duration_ms"] = static_cast<Json::Int64>(
                state == WorkerState::kBusy && started ? now - started : 0);
            row["last_heartbeat_ms_ago"] = static_cast<Json::Int64>(now - s.heartbeat_ms.load());
            rows.append(row);
        }
        v["workers"] = rows;
    }
    if (models != nullptr) {
        v["models"] = *models;
    }
    return writeJson(v);
}

namespace {

void line(std::string& out, const char* fmt, auto... args) {
    char buf[512];
    int n = std::snprintf(buf, sizeof(buf), fmt, args...);
    if (n > 0) {
        out.append(buf, static_cast<std::size_t>(std::min<int>(n, sizeof(buf) - 1)));
    }
}

void header(std::string& out, const char* name, const char* type, const char* help) {
    line(out, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

template <std::size_t N>
void histogram(std::string& out, const char* name, const char* help,
               const std::array<double, N>& bounds, const SharedHistogram<N>& h, double sum_scale) {
    header(out, name, "histogram", help);
    std::uint64_t cumulative = 0;
    for (std::size_t i = 0; i <= N; ++i) {
        cumulative += h.buckets[i].load(std::memory_order_relaxed);
        if (i < N) {
            line(out, "%s_bucket{le=\"%g\"} %llu\n", name, bounds[i],
                 static_cast<unsigned long long>(cumulative));
        } else {
            line(out, "%s_bucket{le=\"+Inf\"} %llu\n", name,
                 static_cast<unsigned long long>(cumulative));
        }
    }
    line(out, "%s_sum %.6f\n", name, static_cast<double>(h.sum_micros.load()) * sum_scale);
    line(out, "%s_count %llu\n", name, static_cast<unsigned long long>(cumulative));
}

std::string escapeLabel(const std::string& v) {
    std::string out;
    for (char c : v) {
        if (c == '\\' || c == '"') {
            out += '\\';
            out += c;
        } else if (c == '\n') {
            out += "\\n";
        } else {
            out += c;
        }
    }
    return out;
}

// Per model and version (ServiceMetrics::model_series): entries of the same model and version
// (two workers that claimed one at once) are added together.
void renderModelSeries(std::string& out, const ServiceMetrics& m) {
    struct Sums {
        std::uint64_t passes = 0, images = 0, micros = 0, failures = 0;
    };
    std::map<std::pair<std::string, std::int64_t>, Sums> series;
    for (const ModelSeries& e : m.model_series) {
        if (e.state.load(std::memory_order_acquire) != ModelSeries::kReady) {
            continue;
        }
        Sums& sum = series[{std::string(e.name), e.version}];
        sum.passes += e.forward_passes.load(std::memory_order_relaxed);
        sum.images += e.images.load(std::memory_order_relaxed);
        sum.micros += e.inference_micros.load(std::memory_order_relaxed);
        sum.failures += e.failures.load(std::memory_order_relaxed);
    }
    const auto family = [&](const char* name, const char* help, auto value) {
        header(out, name, "counter", help);
        for (const auto& [key, sum] : series) {
            out += name;
            out += "{model=\"" + escapeLabel(key.first) + "\",version=\"" +
                   std::to_string(key.second) + "\"} " + value(sum) + "\n";
        }
    };
    family("predictd_model_images_total", "Images through a forward pass, by model and version.",
           [](const Sums& x) { return std::to_string(x.images); });
    family("predictd_model_forward_passes_total",
           "Forward passes (batches), by model and version, failed ones included.",
           [](const Sums& x) { return std::to_string(x.passes); });
    family("predictd_model_inference_seconds_total",
           "Time spent in successful forward passes, by model and version.", [](const Sums& x) {
               char buf[32];
               std::snprintf(buf, sizeof(buf), "%.6f", static_cast<double>(x.micros) / 1e6);
               return std::string(buf);
           });
    family("predictd_model_inference_failures_total",
           "Forward passes that returned an error, by model and version.",
           [](const Sums& x) { return std::to_string(x.failures); });
}

}  // namespace

std::string renderPrometheus(const Scoreboard& board, std::optional<ListenQueue> queue) {
    const ServiceMetrics& m = board.metrics();
    std::string out;
    out.reserve(8192);

    header(out, "predictd_requests_total", "counter", "Requests answered, by route and status.");
    for (std::size_t r = 0; r < m.requests.size(); ++r) {
        for (std::size_t s = 0; s <= kCountedStatuses.size(); ++s) {
            const auto n = m.requests[r][s].load(std::memory_order_relaxed);
            if (n == 0) {
                continue;
            }
            const std::string status =
                s < kCountedStatuses.size() ? std::to_string(kCountedStatuses[s]) : "other";
            line(out, "predictd_requests_total{route=\"%s\",status=\"%s\"} %llu\n",
                 routeName(static_cast<Route>(r)), status.c_str(),
                 static_cast<unsigned long long>(n));
        }
    }
    histogram(out, "predictd_request_duration_seconds",
              "Time from accepting a request to its last byte, in the worker.", kLatencyBounds,
              m.request_seconds, 1e-6);
    histogram(out, "predictd_inference_duration_seconds", "Time of one forward pass (one batch).",
              kLatencyBounds, m.inference_seconds, 1e-6);
    histogram(out, "predictd_batch_size", "Images per forward pass.", kBatchBounds, m.batch_size,
              1.0);

    const PoolSnapshot pool = countWorkers(board);
    header(out, "predictd_workers", "gauge", "Worker processes by state.");
    line(out, "predictd_workers{state=\"booting\"} %zu\n", pool.booting);
    line(out, "predictd_workers{state=\"idle\"} %zu\n", pool.idle);
    line(out, "predictd_workers{state=\"busy\"} %zu\n", pool.busy);
    line(out, "predictd_workers{state=\"exiting\"} %zu\n", pool.exiting);
    header(out, "predictd_max_busy_workers", "gauge", "Most workers busy at once since start.");
    line(out, "predictd_max_busy_workers %llu\n",
         static_cast<unsigned long long>(m.max_busy.load()));

    header(out, "predictd_worker_restarts_total", "counter",
           "Workers replaced, by reason (crash, killed by the supervisor, max_requests, "
           "max_worker_memory).");
    for (std::size_t r = 0; r < m.restarts.size(); ++r) {
        line(out, "predictd_worker_restarts_total{reason=\"%s\"} %llu\n",
             restartReasonName(static_cast<RestartReason>(r)),
             static_cast<unsigned long long>(m.restarts[r].load()));
    }
    header(out, "predictd_worker_kills_total", "counter",
           "Workers SIGKILLed by the supervisor, by reason.");
    for (std::size_t r = 0; r < m.kills.size(); ++r) {
        line(out, "predictd_worker_kills_total{reason=\"%s\"} %llu\n",
             killReasonName(static_cast<KillReason>(r)),
             static_cast<unsigned long long>(m.kills[r].load()));
    }
    header(out, "predictd_accepted_connections_total", "counter",
           "FastCGI connections accepted by the workers.");
    line(out, "predictd_accepted_connections_total %llu\n",
         static_cast<unsigned long long>(m.accepted.load()));
    header(out, "predictd_refused_connections_total", "counter",
           "FastCGI connections closed unanswered: the peer is not in server.allowed_peers.");
    line(out, "predictd_refused_connections_total %llu\n",
         static_cast<unsigned long long>(m.refused.load()));
    if (queue) {
        header(out, "predictd_listen_queue", "gauge", "Connections waiting for a worker.");
        line(out, "predictd_listen_queue %u\n", queue->queued);
        header(out, "predictd_listen_queue_capacity", "gauge", "Listen backlog.");
        line(out, "predictd_listen_queue_capacity %u\n", queue->backlog);
    }
    header(out, "predictd_start_time_seconds", "gauge", "Start time of the supervisor (unix).");
    line(out, "predictd_start_time_seconds %lld\n",
         static_cast<long long>(m.start_time_unix.load()));

    renderModelSeries(out, m);

    const ModelInfo model = board.model();
    header(out, "predictd_model_info", "gauge", "The model the serving generation uses.");
    out += "predictd_model_info{name=\"" + escapeLabel(model.name) + "\",path=\"" +
           escapeLabel(model.path) + "\",sha256=\"" + escapeLabel(model.sha256) + "\",version=\"" +
           std::to_string(model.generation) + "\"} 1\n";
    return out;
}

}  // namespace predictd
