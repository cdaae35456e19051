// worker_context.hpp — what the supervisor hands a forked worker, and the exit codes it gets
// back. The contract between supervisor.cpp and the worker (worker_process, worker_loop).
#pragma once

#include <cstddef>

#include "models/model_repository.hpp"
#include "ops/service_config.hpp"
#include "process/scoreboard.hpp"

namespace predictd {

// Exit codes a worker reports to the supervisor.
inline constexpr int kWorkerExitOk = 0;
inline constexpr int kWorkerExitBootFailure = 3;  // model could not be loaded: do not respawn-loop
inline constexpr int kWorkerExitFatal = 4;        // unexpected error in the loop itself
inline constexpr int kWorkerExitOverMemory = 5;   // recycled: above server.max_worker_memory

struct WorkerContext {
    const ServiceConfig* config = nullptr;
    int listen_fd = -1;
    int control_fd = -1;  // the control socket (/health, /ready, /status, /metrics); -1: none
    Scoreboard* scoreboard = nullptr;
    std::size_t slot = 0;
    int supervisor_wake_fd = -1;  // one byte written here tells the supervisor "state changed"
    // server.preload: the models the supervisor loaded before fork (null: the worker loads them).
    const ModelRepository* preloaded = nullptr;
};

}  // namespace predictd
