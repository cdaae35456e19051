// scoreboard.hpp — per-worker state in shared memory, mapped by the supervisor before fork.
//
// One slot per worker. A worker writes only its own slot (state, request count, heartbeat);
// the supervisor reads every slot to decide (readiness, timeouts, scaling) and clears a slot
// when it reaps the worker. The same mapping holds the pool-wide ServiceMetrics and the model
// the current generation serves. Fields are lock-free atomics so any process may read any time.
#pragma once

#include <sys/types.h>

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <string>

#include "ops/service_metrics.hpp"

namespace predictd {

enum class WorkerState : std::uint32_t {
    kFree = 0,     // slot unused
    kBooting = 1,  // forked, loading the model
    kIdle = 2,     // model loaded, waiting for a connection
    kBusy = 3,     // serving a request
    kExiting = 4,  // told to stop, finishing up
};

const char* workerStateName(WorkerState state);

struct ScoreboardSlot {
    std::atomic<pid_t> pid{0};
    std::atomic<WorkerState> state{WorkerState::kFree};
    std::atomic<std::uint32_t> generation{0};         // reload generation the worker belongs to
    std::atomic<std::uint64_t> requests{0};           // requests served by this worker
    std::atomic<std::int64_t> request_started_ms{0};  // monotonic ms, 0 when not busy
    std::atomic<std::int64_t> heartbeat_ms{0};        // monotonic ms of the last loop turn
    std::atomic<std::int64_t> ready_ms{0};            // monotonic ms when the model was loaded
    std::atomic<std::int64_t> last_active_ms{0};      // monotonic ms the last request ended
    std::atomic<std::int64_t> spawned_ms{0};          // monotonic ms of the fork
};

// The model the serving generation uses, for /status and /metrics. Written by the supervisor
// (start, completed reload) under a sequence counter; readers retry while it is odd or changes.
struct SharedModelInfo {
    std::atomic<std::uint32_t> seq{0};
    char name[128] = {};  // the default model's name
    char path[512] = {};
    char sha256[65] = {};
    std::atomic<std::uint32_t> generation{0};
};
struct ModelInfo {
    std::string name;
    std::string path;
    std::string sha256;
    std::uint32_t generation = 0;
};

class Scoreboard {
  public:
    static constexpr std::size_t kMaxSlots = 1024;

    Scoreboard();  // maps the shared state MAP_SHARED|MAP_ANONYMOUS; throws std::bad_alloc
    ~Scoreboard();
    Scoreboard(const Scoreboard&) = delete;
    Scoreboard& operator=(const Scoreboard&) = delete;

    ScoreboardSlot& slot(std::size_t i) { return shared_->slots[i]; }
    [[nodiscard]] const ScoreboardSlot& slot(std::size_t i) const { return shared_->slots[i]; }
    [[nodiscard]] std::size_t size() const { return kMaxSlots; }
    ServiceMetrics& metrics() { return shared_->metrics; }
    [[nodiscard]] const ServiceMetrics& metrics() const { return shared_->metrics; }

    void publishModel(const ModelInfo& info);
    [[nodiscard]] ModelInfo model() const;

  private:
    struct Shared {
        ServiceMetrics metrics;
        SharedModelInfo model;
        ScoreboardSlot slots[kMaxSlots];
    };
    Shared* shared_ = nullptr;
};

// Monotonic clock in milliseconds, the time base of every scoreboard field.
std::int64_t monotonicMs();

}  // namespace predictd
