// worker_signals.cpp — the worker's signal handlers and their flags (see worker_signals.hpp).
//
// libfcgi's FCGX_Init installs SIGTERM/SIGUSR1 handlers without SA_RESTART ("SIGUSR1 = shut
// down"); ours replace them. Ours use SA_RESTART so a signal arriving while reading a body does
// not break the read; poll() is never restarted, and the stop handler's pipe byte is what wakes
// the loop (see transport/worker_loop.cpp).
#include "process/worker_signals.hpp"

#include <unistd.h>

#include <cerrno>
#include <csignal>

namespace predictd {
namespace {

volatile std::sig_atomic_t g_stop = 0;
volatile std::sig_atomic_t g_reopen_logs = 0;
int g_signal_pipe_w = -1;

void onReopenSignal(int /*sig*/) {
    g_reopen_logs = 1;
}

void onStopSignal(int /*sig*/) {
    const int saved = errno;
    g_stop = 1;
    if (g_signal_pipe_w >= 0) {
        const char byte = 's';
        [[maybe_unused]] ssize_t n = ::write(g_signal_pipe_w, &byte, 1);
    }
    errno = saved;
}

}  // namespace

void installWorkerSignals(int stop_wake_fd) {
    g_signal_pipe_w = stop_wake_fd;
    struct sigaction sa {};
    sa.sa_handler = onStopSignal;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = SA_RESTART;
    ::sigaction(SIGTERM, &sa, nullptr);
    ::sigaction(SIGINT, &sa, nullptr);
    ::sigaction(SIGQUIT, &sa, nullptr);
    struct sigaction ign {};
    ign.sa_handler = SIG_IGN;
    sigemptyset(&ign.sa_mask);
    ::sigaction(SIGPIPE, &ign, nullptr);  // NGINX may hang up mid-response
    ::sigaction(SIGHUP, &ign, nullptr);   // reload is the supervisor's business
    ::sigaction(SIGUSR2, &ign, nullptr);
    struct sigaction reopen {};  // replaces libfcgi's "SIGUSR1 = shut down"
    reopen.sa_handler = onReopenSignal;
    sigemptyset(&reopen.sa_mask);
    reopen.sa_flags = SA_RESTART;
    ::sigaction(SIGUSR1, &reopen, nullptr);
}

bool stopRequested() {
    return g_stop != 0;
}

bool takeReopenLogsRequest() {
    if (g_reopen_logs == 0) {
        return false;
    }
    g_reopen_logs = 0;
    return true;
}

}  // namespace predictd
