// scoreboard.hpp — per-worker state in shared memory, mapped by the supervisor before fork.
//
// One slot per worker. A worker writes only its own slot (state, request count, heartbeat);
// the supervisor reads every slot to decide (readiness, cold start) and clears a slot when it
// reaps the worker. Fields are lock-free atomics so either side may read at any time.
#pragma once

#include <sys/types.h>

#include <atomic>
#include <cstddef>
#include <cstdint>

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
};

class Scoreboard {
  public:
    static constexpr std::size_t kMaxSlots = 1024;

    Scoreboard();  // maps kMaxSlots slots MAP_SHARED|MAP_ANONYMOUS; throws std::bad_alloc
    ~Scoreboard();
    Scoreboard(const Scoreboard&) = delete;
    Scoreboard& operator=(const Scoreboard&) = delete;

    ScoreboardSlot& slot(std::size_t i) { return slots_[i]; }
    [[nodiscard]] std::size_t size() const { return kMaxSlots; }

  private:
    ScoreboardSlot* slots_ = nullptr;
};

// Monotonic clock in milliseconds, the time base of every scoreboard field.
std::int64_t monotonicMs();

}  // namespace predictd
