// service_metrics.cpp — recording into the shared counters (see service_metrics.hpp).
#include "ops/service_metrics.hpp"

#include <algorithm>
#include <iterator>

namespace predictd {

Route routeOf(std::string_view path) {
    if (path == "/predict")
        return Route::kPredict;
    if (path == "/health")
        return Route::kHealth;
    if (path == "/ready")
        return Route::kReady;
    if (path == "/status")
        return Route::kStatus;
    if (path == "/metrics")
        return Route::kMetrics;
    const auto family = [&](std::string_view prefix) {
        return path == prefix || (path.starts_with(prefix) && path[prefix.size()] == '/');
    };
    if (family("/models"))
        return Route::kModels;
    if (family("/v1"))
        return Route::kTfServing;
    if (family("/v2"))
        return Route::kV2;
    return Route::kOther;
}

const char* routeName(Route route) {
    static constexpr const char* kNames[] = {"/predict", "/health", "/ready", "/status", "/metrics",
                                             "/models",  "/v1",     "/v2",    "other"};
    static_assert(std::size(kNames) == static_cast<std::size_t>(Route::kCount));
    return kNames[static_cast<std::size_t>(route)];
}

std::size_t statusIndex(int status) {
    auto it = std::find(kCountedStatuses.begin(), kCountedStatuses.end(), status);
    return static_cast<std::size_t>(it - kCountedStatuses.begin());
}

const char* restartReasonName(RestartReason reason) {
    static constexpr const char* kNames[] = {"crash", "killed", "max_requests",
                                             "max_worker_memory"};
    static_assert(std::size(kNames) == static_cast<std::size_t>(RestartReason::kCount));
    return kNames[static_cast<std::size_t>(reason)];
}

const char* killReasonName(KillReason reason) {
    static constexpr const char* kNames[] = {"request_timeout", "unresponsive", "shutdown"};
    return kNames[static_cast<std::size_t>(reason)];
}

namespace {
template <std::size_t N>
std::size_t bucketOf(const std::array<double, N>& bounds, double value) {
    return static_cast<std::size_t>(std::lower_bound(bounds.begin(), bounds.end(), value) -
                                    bounds.begin());
}
}  // namespace

void ServiceMetrics::recordRequest(Route route, int status, std::uint64_t micros) {
    requests[static_cast<std::size_t>(route)][statusIndex(status)].fetch_add(
        1, std::memory_order_relaxed);
    request_seconds.observe(bucketOf(kLatencyBounds, static_cast<double>(micros) / 1e6), micros);
}

void ServiceMetrics::recordInference(std::size_t images, std::uint64_t micros) {
    inference_seconds.observe(bucketOf(kLatencyBounds, static_cast<double>(micros) / 1e6), micros);
    batch_size.observe(bucketOf(kBatchBounds, static_cast<double>(images)), images);
}

void ModelSeries::record(std::size_t batch_images, std::uint64_t micros, bool ok) {
    forward_passes.fetch_add(1, std::memory_order_relaxed);
    if (ok) {
        images.fetch_add(batch_images, std::memory_order_relaxed);
        inference_micros.fetch_add(micros, std::memory_order_relaxed);
    } else {
        failures.fetch_add(1, std::memory_order_relaxed);
    }
}

ModelSeries* ServiceMetrics::modelSeries(std::string_view model, std::int64_t version) {
    for (ModelSeries& e : model_series) {
        // Entries being written by another process are passed over: at worst both claim one,
        // and the renderer adds them together.
        if (e.state.load(std::memory_order_acquire) == ModelSeries::kReady &&
            e.version == version && std::string_view(e.name) == model) {
            return &e;
        }
    }
    return claimModelSeries(model, version);
}

ModelSeries* ServiceMetrics::claimModelSeries(std::string_view model, std::int64_t version) {
    if (model.empty() || model.size() >= kModelNameBytes ||
        model.find('\0') != std::string_view::npos) {
        return nullptr;
    }
    for (ModelSeries& e : model_series) {
        std::uint32_t expected = ModelSeries::kFree;
        if (e.state.compare_exchange_strong(expected, ModelSeries::kClaimed,
                                            std::memory_order_acq_rel)) {
            std::copy(model.begin(), model.end(), e.name);
            e.name[model.size()] = '\0';
            e.version = version;
            e.state.store(ModelSeries::kReady, std::memory_order_release);
            return &e;
        }
    }
    return nullptr;
}

void ServiceMetrics::noteBusy(std::uint64_t busy_now) {
    std::uint64_t seen = max_busy.load(std::memory_order_relaxed);
    while (busy_now > seen &&
           !max_busy.compare_exchange_weak(seen, busy_now, std::memory_order_relaxed)) {
    }
}

bool ServiceMetrics::noteRefused(std::int64_t now_ms, std::int64_t interval_ms,
                                 std::uint64_t* unlogged) {
    const std::uint64_t total = refused.fetch_add(1, std::memory_order_relaxed) + 1;
    std::int64_t last = refused_logged_ms.load(std::memory_order_relaxed);
    if (last != 0 && now_ms - last < interval_ms) {
        return false;
    }
    // Another worker may be logging the same moment: one of them wins.
    if (!refused_logged_ms.compare_exchange_strong(last, now_ms, std::memory_order_relaxed)) {
        return false;
    }
    const std::uint64_t before = refused_at_last_line.exchange(total, std::memory_order_relaxed);
    *unlogged = total - 1 > before ? total - 1 - before : 0;
    return true;
}

}  // namespace predictd
