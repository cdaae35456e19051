// worker_process.hpp — one prefork worker process: load the models once, then serve FastCGI.
//
// Entered in the child right after fork. Owns the worker's boot sequence (tie to the
// supervisor's life, signal pipe, models, FCGX_Init, signals, "ready" in the scoreboard); the
// serving itself is transport/worker_loop's, what a request means is request_handler's.
#pragma once

#include "process/worker_context.hpp"

namespace predictd {

// Runs the worker until it is told to stop; returns its exit code. Never throws.
int runWorker(const WorkerContext& ctx);

}  // namespace predictd
