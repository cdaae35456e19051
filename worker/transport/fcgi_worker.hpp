// fcgi_worker.hpp — one prefork worker process: load the model once, then serve FastCGI.
//
// Entered in the child right after fork. Owns the worker's signal handling, its accept loop on
// the inherited listening socket, turning FastCGI params/stdin into an HttpRequest and the
// HttpResponse back into a CGI response. What a request means is request_handler's business.
#pragma once

#include <cstddef>

#include "ops/service_config.hpp"
#include "process/scoreboard.hpp"

namespace predictd {

// Exit codes a worker reports to the supervisor.
inline constexpr int kWorkerExitOk = 0;
inline constexpr int kWorkerExitBootFailure = 3;  // model could not be loaded: do not respawn-loop
inline constexpr int kWorkerExitFatal = 4;        // unexpected error in the loop itself

struct WorkerContext {
    const ServiceConfig* config = nullptr;
    int listen_fd = -1;
    int control_fd = -1;  // the control socket (/health, /ready, /status, /metrics); -1: none
    Scoreboard* scoreboard = nullptr;
    std::size_t slot = 0;
    int supervisor_wake_fd = -1;  // one byte written here tells the supervisor "state changed"
};

// Runs the worker until it is told to stop; returns its exit code. Never throws.
int runWorker(const WorkerContext& ctx);

}  // namespace predictd
