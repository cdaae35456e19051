// fcgi_worker.cpp — the worker process: boot, accept loop, FastCGI ⇄ HttpRequest/HttpResponse.
//
// Loop design (see ../shared FIELD-NOTES on libfcgi):
//  * FCGX_Init installs libfcgi's own SIGTERM/SIGUSR1 handlers without SA_RESTART; a worker
//    blocked in accept() could then miss a stop request. We install our handlers after
//    FCGX_Init, and never block in accept(): the listening socket is non-blocking and the worker
//    sleeps in poll() on it *and* on a self-pipe its signal handler writes to. So a stop request
//    is seen at once when idle, and after the in-flight response when busy.
//  * Several workers poll the same socket; the losers of a race get EAGAIN from accept and go
//    back to poll.
//  * One connection at a time per worker and no FastCGI keep-alive (NGINX does not set
//    fastcgi_keep_conn): FCGX_Finish_r closes the connection, so an idle NGINX connection can
//    never pin a worker.
//  * Our handlers use SA_RESTART so a signal arriving while reading a body does not break the
//    read; poll() is never restarted, which is what wakes the loop.
#include "fcgi_worker.hpp"

#include <fcgiapp.h>
#include <fcntl.h>
#include <poll.h>
#include <sys/prctl.h>
#include <unistd.h>

#include <Poco/Logger.h>
#include <opencv2/core.hpp>

#include <cerrno>
#include <csignal>
#include <cstdlib>
#include <cstring>
#include <string>

#include "digit_model.hpp"
#include "http_types.hpp"
#include "request_handler.hpp"

namespace predictd {
namespace {

volatile std::sig_atomic_t g_stop = 0;
int g_signal_pipe_w = -1;

void onStopSignal(int /*sig*/) {
    const int saved = errno;
    g_stop = 1;
    if (g_signal_pipe_w >= 0) {
        const char byte = 's';
        [[maybe_unused]] ssize_t n = ::write(g_signal_pipe_w, &byte, 1);
    }
    errno = saved;
}

void installWorkerSignals() {
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
    ::sigaction(SIGUSR1, &ign, nullptr);  // libfcgi would treat it as "shut down"
    ::sigaction(SIGUSR2, &ign, nullptr);
}

const char* reasonPhrase(int status) {
    switch (status) {
        case 200:
            return "OK";
        case 400:
            return "Bad Request";
        case 404:
            return "Not Found";
        case 405:
            return "Method Not Allowed";
        case 408:
            return "Request Timeout";
        case 413:
            return "Payload Too Large";
        case 415:
            return "Unsupported Media Type";
        case 422:
            return "Unprocessable Entity";
        case 500:
            return "Internal Server Error";
        case 503:
            return "Service Unavailable";
        default:
            return "Status";
    }
}

std::string param(FCGX_Request& req, const char* name) {
    const char* v = FCGX_GetParam(name, req.envp);
    return v != nullptr ? std::string(v) : std::string();
}

// Reads the request line fields and body into `out` (buffers are reused across requests).
// Returns an error response instead when the body is over the limit or cannot be read.
bool readRequest(FCGX_Request& req, const RequestLimits& limits, HttpRequest& out,
                 HttpResponse& error) {
    out.method = param(req, "REQUEST_METHOD");
    out.content_type = param(req, "CONTENT_TYPE");
    std::string uri = param(req, "DOCUMENT_URI");
    if (uri.empty()) {
        uri = param(req, "REQUEST_URI");
        uri = uri.substr(0, uri.find('?'));
    }
    out.path = std::move(uri);
    out.query = param(req, "QUERY_STRING");
    out.body.clear();

    // NGINX always sends CONTENT_LENGTH with a body (it buffers chunked uploads); an absent or
    // empty one means no body, as in CGI.
    const char* cl = FCGX_GetParam("CONTENT_LENGTH", req.envp);
    if (cl == nullptr || *cl == '\0') {
        return true;
    }
    char* end = nullptr;
    errno = 0;
    unsigned long long want = std::strtoull(cl, &end, 10);
    if (errno != 0 || *end != '\0') {
        error = RequestHandler::errorResponse(
            {400, "invalid_request", "CONTENT_LENGTH is not a number"});
        return false;
    }
    if (want > limits.max_body_bytes) {
        error = RequestHandler::errorResponse({413, "payload_too_large",
                                               "request body is " + std::to_string(want) +
                                                   " bytes; the limit is " +
                                                   std::to_string(limits.max_body_bytes)});
        return false;
    }
    out.body.resize(static_cast<std::size_t>(want));
    std::size_t got = 0;
    while (got < want) {
        int chunk = static_cast<int>(std::min<std::size_t>(want - got, 1 << 20));
        int n = FCGX_GetStr(out.body.data() + got, chunk, req.in);
        if (n <= 0) {
            break;
        }
        got += static_cast<std::size_t>(n);
    }
    if (got < want) {
        out.body.resize(got);
        error = RequestHandler::errorResponse(
            {400, "invalid_request", "request body ended before CONTENT_LENGTH bytes"});
        return false;
    }
    return true;
}

void writeResponse(FCGX_Request& req, const HttpRequest& http, const HttpResponse& res) {
    std::string head;
    head.reserve(160);
    head += "Status: ";
    head += std::to_string(res.status);
    head += ' ';
    head += reasonPhrase(res.status);
    head += "\r\nContent-Type: ";
    head += res.content_type;
    head += "\r\nContent-Length: ";
    head += std::to_string(res.body.size());
    head += "\r\n";
    for (const auto& [name, value] : res.headers) {
        head += name;
        head += ": ";
        head += value;
        head += "\r\n";
    }
    head += "\r\n";
    FCGX_PutStr(head.data(), static_cast<int>(head.size()), req.out);
    if (http.method != "HEAD" && !res.body.empty()) {
        FCGX_PutStr(res.body.data(), static_cast<int>(res.body.size()), req.out);
    }
}

void wakeSupervisor(int fd) {
    if (fd >= 0) {
        const char byte = 0;  // 0 = "a worker changed state" (signals use their number)
        [[maybe_unused]] ssize_t n = ::write(fd, &byte, 1);
    }
}

int serve(const WorkerContext& ctx, RequestHandler& handler, ScoreboardSlot& slot,
          int signal_pipe_r, Poco::Logger& log) {
    FCGX_Request req;
    if (FCGX_InitRequest(&req, ctx.listen_fd, FCGI_FAIL_ACCEPT_ON_INTR) != 0) {
        log.error("FCGX_InitRequest failed");
        return kWorkerExitFatal;
    }
    const pid_t parent = ::getppid();
    HttpRequest http;
    HttpResponse response;
    pollfd fds[2] = {{ctx.listen_fd, POLLIN, 0}, {signal_pipe_r, POLLIN, 0}};

    while (g_stop == 0) {
        slot.heartbeat_ms.store(monotonicMs(), std::memory_order_relaxed);
        if (::getppid() != parent) {
            log.warning("supervisor is gone; worker exiting");
            break;
        }
        int rc = ::poll(fds, 2, 1000);
        if (rc <= 0 || (fds[0].revents & POLLIN) == 0) {
            continue;  // timeout (heartbeat), EINTR or a stop byte: re-check g_stop
        }
        rc = FCGX_Accept_r(&req);
        if (rc < 0) {
            // -EAGAIN: another worker won the race for this connection.
            if (rc != -EAGAIN && rc != -EWOULDBLOCK && rc != -EINTR) {
                log.warning("FCGX_Accept_r failed: " + std::string(std::strerror(-rc)));
            }
            continue;
        }
        slot.request_started_ms.store(monotonicMs(), std::memory_order_relaxed);
        slot.state.store(WorkerState::kBusy, std::memory_order_release);
        try {
            if (readRequest(req, ctx.config->limits, http, response)) {
                response = handler.handle(http);
            }
        } catch (const std::exception& e) {  // e.g. std::bad_alloc: answer, stay alive
            log.error(std::string("request failed: ") + e.what());
            response = RequestHandler::errorResponse(
                {500, "internal_error", "the worker could not process this request"});
        }
        writeResponse(req, http, response);
        FCGX_Finish_r(&req);  // flushes and closes the connection (no keep-alive)
        slot.requests.fetch_add(1, std::memory_order_relaxed);
        slot.request_started_ms.store(0, std::memory_order_relaxed);
        slot.state.store(WorkerState::kIdle, std::memory_order_release);
    }
    FCGX_Free(&req, 1);
    return kWorkerExitOk;
}

}  // namespace

int runWorker(const WorkerContext& ctx) {
    Poco::Logger& log = Poco::Logger::get("worker");
    ScoreboardSlot& slot = ctx.scoreboard->slot(ctx.slot);
    try {
        // Die with the supervisor even if it is SIGKILLed (no orphans holding the socket).
        ::prctl(PR_SET_PDEATHSIG, SIGTERM);

        int pipe_fds[2];
        if (::pipe2(pipe_fds, O_CLOEXEC | O_NONBLOCK) != 0) {
            log.error(std::string("pipe2: ") + std::strerror(errno));
            return kWorkerExitFatal;
        }
        g_signal_pipe_w = pipe_fds[1];

        cv::setNumThreads(ctx.config->threads_per_worker);
        Result<DigitModel> model = DigitModel::load(ctx.config->model_path);
        if (!model) {
            log.error(model.error().message);
            return kWorkerExitBootFailure;
        }
        RequestHandler handler(model.value(), ctx.config->limits);

        if (FCGX_Init() != 0) {
            log.error("FCGX_Init failed");
            return kWorkerExitFatal;
        }
        installWorkerSignals();  // after FCGX_Init: replace libfcgi's handlers with ours
        sigset_t none;
        sigemptyset(&none);
        ::sigprocmask(SIG_SETMASK, &none, nullptr);

        slot.ready_ms.store(monotonicMs(), std::memory_order_relaxed);
        slot.state.store(WorkerState::kIdle, std::memory_order_release);
        wakeSupervisor(ctx.supervisor_wake_fd);

        int code = serve(ctx, handler, slot, pipe_fds[0], log);
        slot.state.store(WorkerState::kExiting, std::memory_order_release);
        return code;
    } catch (const std::exception& e) {
        log.error(std::string("worker failed: ") + e.what());
        return slot.ready_ms.load() == 0 ? kWorkerExitBootFailure : kWorkerExitFatal;
    }
}

}  // namespace predictd
