// service_metrics.hpp — pool-wide counters and histograms, shared by every process.
//
// Lives in the scoreboard's shared mapping (created before fork), so what a worker counted
// survives that worker's death, and /status and /metrics, answered by any worker, see the whole
// pool. Every field is a lock-free atomic; workers add, nobody resets. Rendering lives in
// status_report.cpp; this file only defines the storage and how values are recorded.
#pragma once

#include <array>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <string_view>

namespace predictd {

// The `route` label of the request counters: the seed's /predict, the operational routes, and
// one per protocol family (native per-model routes, TF Serving REST, Open Inference Protocol v2).
enum class Route : std::size_t {
    kPredict,
    kHealth,
    kReady,
    kStatus,
    kMetrics,
    kModels,
    kTfServing,
    kV2,
    kOther,
    kCount
};
Route routeOf(std::string_view path);
const char* routeName(Route route);

// Status codes counted separately; anything else lands in the last slot ("other").
inline constexpr std::array<int, 12> kCountedStatuses = {200, 400, 404, 405, 408, 413,
                                                         415, 422, 500, 502, 503, 504};
std::size_t statusIndex(int status);  // kCountedStatuses.size() for "other"

// Why a worker had to be replaced, and why the supervisor SIGKILLed one.
enum class RestartReason : std::size_t { kCrash, kKilled, kRecycle, kOverMemory, kCount };
const char* restartReasonName(RestartReason reason);
enum class KillReason : std::size_t { kRequestTimeout, kUnresponsive, kShutdown, kCount };
const char* killReasonName(KillReason reason);

template <std::size_t N>
struct SharedHistogram {
    std::array<std::atomic<std::uint64_t>, N + 1> buckets{};  // last one is +Inf
    std::atomic<std::uint64_t> count{0};
    std::atomic<std::uint64_t> sum_micros{0};

    void observe(std::size_t bucket, std::uint64_t micros) {
        buckets[bucket].fetch_add(1, std::memory_order_relaxed);
        count.fetch_add(1, std::memory_order_relaxed);
        sum_micros.fetch_add(micros, std::memory_order_relaxed);
    }
};

// Upper bounds, in seconds for latencies and images for batch sizes.
inline constexpr std::array<double, 14> kLatencyBounds = {
    0.0005, 0.001, 0.002, 0.003, 0.005, 0.0075, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 5.0};
inline constexpr std::array<double, 8> kBatchBounds = {1, 2, 4, 8, 16, 32, 64, 128};

// Per-model counters, one series per (model, version): claimed when the supervisor (preload) or
// a worker loads that version, then added to by its batcher on every forward pass. Shared memory
// holds no map, so this is a fixed table searched linearly (a few entries, once per load). Two
// workers loading the same new version at once may each claim an entry; rendering adds entries
// of the same model and version together, so nothing is counted twice or lost.
inline constexpr std::size_t kMaxModelSeries = 64;
inline constexpr std::size_t kModelNameBytes = 128;  // longer names are not counted per model

struct ModelSeries {
    std::atomic<std::uint32_t> state{0};  // kFree, kClaimed (being written), kReady
    char name[kModelNameBytes] = {};      // written once, before state becomes kReady
    std::int64_t version = 0;
    std::atomic<std::uint64_t> forward_passes{0};
    std::atomic<std::uint64_t> images{0};
    std::atomic<std::uint64_t> inference_micros{0};
    std::atomic<std::uint64_t> failures{0};  // forward passes that returned an error

    static constexpr std::uint32_t kFree = 0;
    static constexpr std::uint32_t kClaimed = 1;
    static constexpr std::uint32_t kReady = 2;

    void record(std::size_t batch_images, std::uint64_t micros, bool ok);
};

struct ServiceMetrics {
    std::atomic<std::int64_t> start_time_unix{0};
    std::atomic<std::uint64_t> accepted{0};  // FastCGI connections accepted by workers
    // Connections closed unanswered: the peer is not in server.allowed_peers. The two fields
    // after it rate-limit the log line about them across the pool (noteRefused).
    std::atomic<std::uint64_t> refused{0};
    std::atomic<std::int64_t> refused_logged_ms{0};      // monotonic; 0: never logged
    std::atomic<std::uint64_t> refused_at_last_line{0};  // `refused` when it was logged
    std::atomic<std::uint64_t> busy_now{0};  // workers busy now (the reaper fixes dead ones)
    std::atomic<std::uint64_t> max_busy{0};  // most workers busy at once
    std::atomic<std::uint64_t> max_workers_reached{0};  // times a pm wanted more than `workers`
    std::array<std::atomic<std::uint64_t>, static_cast<std::size_t>(RestartReason::kCount)>
        restarts{};
    std::array<std::atomic<std::uint64_t>, static_cast<std::size_t>(KillReason::kCount)> kills{};
    std::array<std::array<std::atomic<std::uint64_t>, kCountedStatuses.size() + 1>,
               static_cast<std::size_t>(Route::kCount)>
        requests{};
    SharedHistogram<kLatencyBounds.size()> request_seconds;
    SharedHistogram<kLatencyBounds.size()> inference_seconds;
    SharedHistogram<kBatchBounds.size()> batch_size;

    std::array<ModelSeries, kMaxModelSeries> model_series{};

    // The series of `model` version `version`, claimed if it has none yet; nullptr when the
    // table is full or the name does not fit (that model is then counted only pool-wide).
    ModelSeries* modelSeries(std::string_view model, std::int64_t version);
    // A new entry for `model` version `version` without looking for one first (what two
    // processes racing to claim the same series do); nullptr when the table is full.
    ModelSeries* claimModelSeries(std::string_view model, std::int64_t version);

    void recordRequest(Route route, int status, std::uint64_t micros);
    void recordInference(std::size_t images, std::uint64_t micros);
    void noteBusy(std::uint64_t busy_now);
    // Counts one refused connection. True when it should be logged: at most one line per
    // `interval_ms` for the whole pool, the first at once; *unlogged is then how many were
    // refused, unlogged, since the previous line.
    bool noteRefused(std::int64_t now_ms, std::int64_t interval_ms, std::uint64_t* unlogged);
};

}  // namespace predictd
