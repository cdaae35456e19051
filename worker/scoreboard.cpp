// scoreboard.cpp — mapping the shared scoreboard (see scoreboard.hpp).
#include "scoreboard.hpp"

#include <sys/mman.h>

#include <ctime>
#include <new>

namespace predictd {

static_assert(std::atomic<pid_t>::is_always_lock_free);
static_assert(std::atomic<std::int64_t>::is_always_lock_free);
static_assert(std::atomic<WorkerState>::is_always_lock_free);

const char* workerStateName(WorkerState state) {
    switch (state) {
        case WorkerState::kFree:
            return "free";
        case WorkerState::kBooting:
            return "booting";
        case WorkerState::kIdle:
            return "idle";
        case WorkerState::kBusy:
            return "busy";
        case WorkerState::kExiting:
            return "exiting";
    }
    return "unknown";
}

Scoreboard::Scoreboard() {
    void* p = ::mmap(nullptr, sizeof(ScoreboardSlot) * kMaxSlots, PROT_READ | PROT_WRITE,
                     MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) {
        throw std::bad_alloc();
    }
    slots_ = static_cast<ScoreboardSlot*>(p);
    for (std::size_t i = 0; i < kMaxSlots; ++i) {
        new (&slots_[i]) ScoreboardSlot();  // placement into the shared mapping, no heap
    }
}

Scoreboard::~Scoreboard() {
    if (slots_ != nullptr) {
        ::munmap(slots_, sizeof(ScoreboardSlot) * kMaxSlots);
    }
}

std::int64_t monotonicMs() {
    timespec ts{};
    ::clock_gettime(CLOCK_MONOTONIC, &ts);
    return static_cast<std::int64_t>(ts.tv_sec) * 1000 + ts.tv_nsec / 1000000;
}

}  // namespace predictd
