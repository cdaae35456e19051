// worker_signals.hpp — a worker's signal handling: stop (SIGTERM/SIGINT/SIGQUIT), log reopen
// (SIGUSR1), and the signals it ignores. The handlers only set a flag (and, for stop, write a
// byte to the loop's self-pipe); the loop reads the flags through the functions below.
#pragma once

namespace predictd {

// Installs the worker's handlers, replacing libfcgi's: call after FCGX_Init. A stop signal
// writes one byte to `stop_wake_fd` (the write end of the loop's self-pipe).
void installWorkerSignals(int stop_wake_fd);

// True once a stop signal has arrived.
bool stopRequested();

// True when SIGUSR1 asked for the log file to be reopened since the last call (and clears it).
bool takeReopenLogsRequest();

}  // namespace predictd
