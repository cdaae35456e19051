// scoreboard.cpp — mapping the shared scoreboard (see scoreboard.hpp).
#include "process/scoreboard.hpp"

#include <sys/mman.h>

#include <cstdio>
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
    void* p =
        ::mmap(nullptr, sizeof(Shared), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) {
        throw std::bad_alloc();
    }
    shared_ = new (p) Shared();  // placement into the shared mapping, no heap
    shared_->metrics.start_time_unix.store(static_cast<std::int64_t>(::time(nullptr)));
}

Scoreboard::~Scoreboard() {
    if (shared_ != nullptr) {
        shared_->~Shared();
        ::munmap(shared_, sizeof(Shared));
    }
}

void Scoreboard::publishModel(const ModelInfo& info) {
    SharedModelInfo& m = shared_->model;
    m.seq.fetch_add(1, std::memory_order_acq_rel);  // odd: writing
    std::snprintf(m.name, sizeof(m.name), "%s", info.name.c_str());
    std::snprintf(m.path, sizeof(m.path), "%s", info.path.c_str());
    std::snprintf(m.sha256, sizeof(m.sha256), "%s", info.sha256.c_str());
    m.generation.store(info.generation, std::memory_order_relaxed);
    m.seq.fetch_add(1, std::memory_order_acq_rel);  // even: stable
}

ModelInfo Scoreboard::model() const {
    const SharedModelInfo& m = shared_->model;
    ModelInfo out;
    for (int attempt = 0; attempt < 100; ++attempt) {
        const std::uint32_t before = m.seq.load(std::memory_order_acquire);
        if (before % 2 != 0) {
            continue;
        }
        out.name = m.name;
        out.path = m.path;
        out.sha256 = m.sha256;
        out.generation = m.generation.load(std::memory_order_relaxed);
        if (m.seq.load(std::memory_order_acquire) == before) {
            break;
        }
    }
    return out;
}

std::int64_t monotonicMs() {
    timespec ts{};
    ::clock_gettime(CLOCK_MONOTONIC, &ts);
    return static_cast<std::int64_t>(ts.tv_sec) * 1000 + ts.tv_nsec / 1000000;
}

}  // namespace predictd
