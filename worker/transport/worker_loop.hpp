// worker_loop.hpp — a booted worker's serving loop: acceptor threads take FastCGI connections
// and answer them one at a time each; the main thread watches (stop signals, the supervisor's
// death, the scoreboard heartbeat). Also owns recycling: max_requests (the request budget) and
// max_worker_memory (the worker's private memory).
#pragma once

#include "process/worker_context.hpp"

namespace predictd {

class ModelRepository;

// Serves until a stop signal, recycling or the supervisor's death; returns the
// worker's exit code. `signal_pipe_r` is the read end of the pipe the stop handler writes to
// (worker_signals).
int runWorkerLoop(const WorkerContext& ctx, const ModelRepository& models, int signal_pipe_r);

}  // namespace predictd
