// worker_loop.cpp — acceptor threads, the watch loop, heartbeat and recycling (max_requests and
// max_worker_memory; see worker_loop.hpp).
//
// Loop design (see ../shared FIELD-NOTES on libfcgi):
//  * FCGX_Init installs libfcgi's own SIGTERM/SIGUSR1 handlers without SA_RESTART; a worker
//    blocked in accept() could then miss a stop request. We install our handlers after
//    FCGX_Init (process/worker_process.cpp, process/worker_signals.cpp), and never block in
//    accept(): the listening socket is non-blocking and the worker sleeps in poll() on it *and*
//    on a self-pipe its signal handler writes to. So a stop request is seen at once when idle,
//    and after the in-flight response when busy.
//  * Several workers poll the same socket; the losers of a race get EAGAIN from accept and go
//    back to poll.
//  * One connection at a time per worker and no FastCGI keep-alive (NGINX does not set
//    fastcgi_keep_conn): FCGX_Finish_r closes the connection, so an idle NGINX connection can
//    never pin a worker.
//  * On a TCP socket only server.allowed_peers may talk FastCGI: the peer is checked right after
//    accept, before libfcgi reads a byte (transport/fcgi_accept.cpp); refusals are counted in
//    /metrics and logged at most once per 10 s.
//  * Our handlers use SA_RESTART so a signal arriving while reading a body does not break the
//    read; poll() is never restarted, which is what wakes the loop.
#include "transport/worker_loop.hpp"

#include <fcgiapp.h>
#include <fcntl.h>
#include <poll.h>
#include <unistd.h>

#include <Poco/Logger.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstring>
#include <mutex>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "models/model_repository.hpp"
#include "ops/access_log.hpp"
#include "ops/service_log.hpp"
#include "ops/status_report.hpp"
#include "process/private_memory.hpp"
#include "process/worker_signals.hpp"
#include "transport/fcgi_accept.hpp"
#include "transport/fcgi_io.hpp"
#include "transport/http_types.hpp"
#include "transport/request_handler.hpp"

namespace predictd {
namespace {

int heartbeatPeriodMs(double timeout_s) {
    if (timeout_s <= 0) {
        return 1000;
    }
    return static_cast<int>(std::clamp(timeout_s * 1000.0 / 4.0, 50.0, 1000.0));
}

// The request limit for max_requests recycling: max_requests + a random 0..jitter, so workers
// started together do not all recycle together (as Gunicorn's max_requests_jitter).
std::uint64_t requestBudget(const ServiceConfig& config) {
    if (config.max_requests == 0) {
        return 0;
    }
    std::uint64_t jitter = 0;
    if (config.max_requests_jitter > 0) {
        std::mt19937_64 rng(std::random_device{}());
        jitter = std::uniform_int_distribution<std::uint64_t>(0, config.max_requests_jitter)(rng);
    }
    return config.max_requests + jitter;
}

// One worker's serving machinery: `acceptor_threads` threads, each with its own FCGX_Request,
// accept and answer connections; the main thread only watches (signals, supervisor, heartbeat).
// With one acceptor this is the classic prefork loop. The scoreboard slot is written under
// state_mu_ so that "busy" means "at least one request in flight".
class WorkerLoop {
  public:
    WorkerLoop(const WorkerContext& ctx, const ModelRepository& models, int signal_pipe_r)
        : ctx_(ctx),
          config_(*ctx.config),
          slot_(ctx.scoreboard->slot(ctx.slot)),
          metrics_(ctx.scoreboard->metrics()),
          models_(models),
          signal_pipe_r_(signal_pipe_r),
          budget_(requestBudget(config_)),
          acceptors_(static_cast<std::size_t>(config_.acceptor_threads)) {}

    int run() {
        if (::pipe2(stop_pipe_, O_CLOEXEC | O_NONBLOCK) != 0) {
            log_.error(std::string("pipe2: ") + std::strerror(errno));
            return kWorkerExitFatal;
        }
        std::vector<std::thread> threads;
        for (std::size_t i = 0; i < acceptors_.size(); ++i) {
            acceptors_[i].heartbeat_ms.store(monotonicMs());
            threads.emplace_back([this, i] { acceptorMain(acceptors_[i]); });
        }
        watch();
        const char byte = 's';  // level-triggered: every acceptor's poll sees it
        [[maybe_unused]] ssize_t n = ::write(stop_pipe_[1], &byte, 1);
        for (auto& t : threads) {
            t.join();
        }
        flushAccessLog(true);
        ::close(stop_pipe_[0]);
        ::close(stop_pipe_[1]);
        if (failed_) {
            return kWorkerExitFatal;
        }
        return over_memory_ ? kWorkerExitOverMemory : kWorkerExitOk;
    }

  private:
    struct Acceptor {
        std::atomic<std::int64_t> heartbeat_ms{0};
        std::atomic<std::int64_t> request_started_ms{0};  // 0 when idle
    };

    // Main thread: until a stop signal, recycling, or the supervisor's death.
    void watch() {
        const pid_t parent = ::getppid();
        pollfd fds[2] = {{signal_pipe_r_, POLLIN, 0}, {stop_pipe_[0], POLLIN, 0}};
        while (!stopRequested() && !stopping_.load()) {
            if (takeReopenLogsRequest()) {
                reopenLogs();
            }
            flushAccessLog(false);  // buffered access lines: at most log.access_flush late
            if (::getppid() != parent) {
                log_.warning("supervisor is gone; worker exiting");
                break;
            }
            // The slot's heartbeat is the stalest acceptor's: one stuck thread shows.
            std::int64_t beat = monotonicMs();
            for (const Acceptor& a : acceptors_) {
                beat = std::min(beat, a.heartbeat_ms.load(std::memory_order_relaxed));
            }
            slot_.heartbeat_ms.store(beat, std::memory_order_relaxed);
            checkMemory();
            if (::poll(fds, 2, heartbeat_ms_ / 2) > 0 && (fds[0].revents & POLLIN) != 0) {
                char drain[16];
                [[maybe_unused]] ssize_t n = ::read(signal_pipe_r_, drain, sizeof(drain));
            }
        }
        stopping_.store(true);
    }

    void beginRequest(Acceptor& me) {
        const std::int64_t now = monotonicMs();
        me.request_started_ms.store(now, std::memory_order_relaxed);
        models_.requestStarted();
        std::lock_guard<std::mutex> lock(state_mu_);
        if (in_flight_++ == 0) {
            slot_.request_started_ms.store(now, std::memory_order_relaxed);
            slot_.state.store(WorkerState::kBusy, std::memory_order_release);
            metrics_.noteBusy(metrics_.busy_now.fetch_add(1, std::memory_order_relaxed) + 1);
        }
        metrics_.accepted.fetch_add(1, std::memory_order_relaxed);
    }

    // Returns true when this worker has served its max_requests budget.
    bool endRequest(Acceptor& me) {
        me.request_started_ms.store(0, std::memory_order_relaxed);
        models_.requestFinished();
        const std::uint64_t served = slot_.requests.fetch_add(1, std::memory_order_relaxed) + 1;
        std::lock_guard<std::mutex> lock(state_mu_);
        slot_.last_active_ms.store(monotonicMs(), std::memory_order_relaxed);
        if (--in_flight_ == 0) {
            slot_.request_started_ms.store(0, std::memory_order_relaxed);
            metrics_.busy_now.fetch_sub(1, std::memory_order_relaxed);
            if (!stopping_.load()) {
                slot_.state.store(WorkerState::kIdle, std::memory_order_release);
            } else if (recycling_) {
                // Recycling was decided (by another thread) while this request ran, or after it
                // was accepted and marked the worker busy: the worker leaves as "exiting".
                slot_.state.store(WorkerState::kExiting, std::memory_order_release);
            }
        } else {  // the oldest request still running is what `timeout` measures
            std::int64_t oldest = 0;
            for (const Acceptor& a : acceptors_) {
                const std::int64_t t = a.request_started_ms.load(std::memory_order_relaxed);
                oldest = (t != 0 && (oldest == 0 || t < oldest)) ? t : oldest;
            }
            slot_.request_started_ms.store(oldest, std::memory_order_relaxed);
        }
        return budget_ != 0 && served >= budget_;
    }

    // server.max_worker_memory: at most once a second, and only once this worker has served a
    // request (a worker that starts above the limit would otherwise never serve). The kernel
    // builds smaps_rollup by walking every mapping: about 1 ms with both shipped models loaded
    // (870 mappings), 0.1 % of a core, on the watching thread, off the request path.
    void checkMemory() {
        if (config_.max_worker_memory_mb == 0 || slot_.requests.load() == 0) {
            return;
        }
        const std::int64_t now = monotonicMs();
        if (now - last_memory_check_ms_ < kMemoryCheckIntervalMs) {
            return;
        }
        last_memory_check_ms_ = now;
        const std::optional<std::uint64_t> bytes = privateMemoryBytes();
        const std::uint64_t limit = config_.max_worker_memory_mb << 20;
        if (bytes && *bytes > limit) {
            over_memory_ = recycle("private memory " + std::to_string(*bytes >> 20) +
                                   " MiB is above max_worker_memory " +
                                   std::to_string(config_.max_worker_memory_mb) + " MiB after " +
                                   std::to_string(slot_.requests.load()) + " requests");
        }
    }

    // Returns false when the worker was already stopping (for another reason).
    bool recycle(const std::string& why) {
        std::lock_guard<std::mutex> lock(state_mu_);
        if (stopping_.exchange(true)) {
            return false;
        }
        log_.information(why + "; recycling");
        recycling_ = true;
        if (in_flight_ == 0) {  // else the last request to end says so (endRequest)
            slot_.state.store(WorkerState::kExiting, std::memory_order_release);
        }
        const char byte = 'r';
        [[maybe_unused]] ssize_t n = ::write(stop_pipe_[1], &byte, 1);
        return true;
    }

    // A connection from outside server.allowed_peers was closed: counted, and logged at most
    // once per kRefusedLogIntervalMs for the whole pool (a scanner must not flood the log).
    void noteRefusedPeer(const Poco::Net::IPAddress& peer) {
        std::uint64_t unlogged = 0;
        if (metrics_.noteRefused(monotonicMs(), kRefusedLogIntervalMs, &unlogged)) {
            std::string line = "refused a FastCGI connection from ";
            line += peer.toString();
            line += ": not in the allowed peers ";
            line += config_.allowed_peers.describe();
            line += " (";
            line += config_.allowed_peers_origin;
            line += ')';
            if (unlogged > 0) {
                line += "; ";
                line += std::to_string(unlogged);
                line += " more refused since the last such line";
            }
            log_.warning(line);
        }
    }

    void acceptorMain(Acceptor& me) {
        FCGX_Request main_req;
        FCGX_Request control_req;
        if (initFastCgiRequest(main_req, ctx_.listen_fd, main_tcp_) != 0 ||
            initFastCgiRequest(control_req, ctx_.control_fd, control_tcp_) != 0) {
            log_.error("FCGX_InitRequest failed");
            failed_ = true;
            stopping_.store(true);
            return;
        }
        OpsEndpoints ops;
        ops.status = [this](bool full, const Json::Value& models) {
            return renderStatusJson(*ctx_.scoreboard, config_, readListenQueue(ctx_.listen_fd),
                                    full, &models);
        };
        ops.metrics = [this] {
            return renderPrometheus(*ctx_.scoreboard, readListenQueue(ctx_.listen_fd));
        };
        RequestHandler handler(models_, config_.limits, std::move(ops));
        Poco::Logger& access = Poco::Logger::get("access");
        HttpRequest http;
        HttpResponse response;
        std::string request_id;
        // poll() ignores the control entry when there is no control socket (fd -1).
        pollfd fds[3] = {
            {ctx_.listen_fd, POLLIN, 0}, {stop_pipe_[0], POLLIN, 0}, {ctx_.control_fd, POLLIN, 0}};

        while (!stopping_.load(std::memory_order_relaxed)) {
            me.heartbeat_ms.store(monotonicMs(), std::memory_order_relaxed);
            const int rc = ::poll(fds, 3, heartbeat_ms_);
            const bool control = (fds[2].revents & POLLIN) != 0;
            if (rc <= 0 || (fds[1].revents & POLLIN) != 0 ||
                (!control && (fds[0].revents & POLLIN) == 0)) {
                continue;  // heartbeat timeout, EINTR, or told to stop
            }
            // A waiting control connection goes first: monitoring waits for at most the request
            // in hand, never for the predictions queued on the main socket.
            FCGX_Request& req = control ? control_req : main_req;
            // TCP sockets: only server.allowed_peers may talk FastCGI (transport/fcgi_accept).
            const bool tcp = control ? control_tcp_ : main_tcp_;
            AcceptResult taken;
            {
                // libfcgi's accept path takes no lock of its own (FIELD-NOTES); its threaded
                // example serialises FCGX_Accept_r, and so do we. The socket is non-blocking,
                // so the lock is held only for one accept() and the params read.
                std::lock_guard<std::mutex> lock(accept_mu_);
                taken = acceptFastCgi(req, control ? ctx_.control_fd : ctx_.listen_fd,
                                      tcp ? &config_.allowed_peers : nullptr);
            }
            if (taken.refused) {
                noteRefusedPeer(*taken.refused);
                continue;
            }
            const int accepted = taken.rc;
            if (accepted < 0) {
                // -EAGAIN: another worker or thread won the race for this connection.
                if (accepted != -EAGAIN && accepted != -EWOULDBLOCK && accepted != -EINTR) {
                    log_.warning("FCGX_Accept_r failed: " + std::string(std::strerror(-accepted)));
                }
                continue;
            }
            const auto t0 = std::chrono::steady_clock::now();
            beginRequest(me);
            try {
                if (readRequest(req, config_.limits, http, response)) {
                    response = control ? handler.handleControl(http) : handler.handle(http);
                }
            } catch (const std::exception& e) {  // e.g. std::bad_alloc: answer, stay alive
                log_.error(std::string("request failed: ") + e.what());
                response = RequestHandler::errorResponse(
                    {500, "internal_error", "the worker could not process this request"});
            }
            writeResponse(req, http, response);
            // Count before the connection closes: once the client has its answer, its next
            // request (say, GET /metrics on another worker) must already see this one.
            const auto micros =
                static_cast<std::uint64_t>(std::chrono::duration_cast<std::chrono::microseconds>(
                                               std::chrono::steady_clock::now() - t0)
                                               .count());
            metrics_.recordRequest(routeOf(http.path), response.status, micros);
            if (config_.access_log) {  // the params are freed by FCGX_Finish_r
                const char* id = FCGX_GetParam("REQUEST_ID", req.envp);
                request_id.assign(id != nullptr ? id : "");
            }
            FCGX_Finish_r(&req);  // flushes and closes the connection (no keep-alive)
            if (config_.access_log) {
                logAccess(access, request_id, http.method, http.path, response.status, micros,
                          http.body.size(), response.body.size());
            }
            if (endRequest(me)) {
                recycle("served " + std::to_string(slot_.requests.load()) +
                        " requests (max_requests)");
            }
        }
        FCGX_Free(&main_req, 1);
        FCGX_Free(&control_req, 1);
    }

    const WorkerContext& ctx_;
    const ServiceConfig& config_;
    ScoreboardSlot& slot_;
    ServiceMetrics& metrics_;
    const ModelRepository& models_;
    int signal_pipe_r_;
    const std::uint64_t budget_;
    // How often an idle worker proves it is alive: well inside `timeout`, so that an idle worker
    // is never taken for a silent one (its slot's beat is at most 1.5 periods old, plus
    // scheduling delay on a loaded machine). 1 s for the default 30 s; 250 ms for a 1 s timeout.
    const int heartbeat_ms_ = heartbeatPeriodMs(config_.timeout);
    static constexpr std::int64_t kRefusedLogIntervalMs = 10'000;
    static constexpr std::int64_t kMemoryCheckIntervalMs = 1'000;
    std::int64_t last_memory_check_ms_ = 0;  // the watching thread's own
    std::atomic<bool> over_memory_{false};
    const bool main_tcp_ = isTcpSocket(ctx_.listen_fd);
    const bool control_tcp_ = isTcpSocket(ctx_.control_fd);
    Poco::Logger& log_ = Poco::Logger::get("worker");

    std::vector<Acceptor> acceptors_;
    int stop_pipe_[2] = {-1, -1};
    std::atomic<bool> stopping_{false};
    std::atomic<bool> failed_{false};
    std::mutex accept_mu_;
    std::mutex state_mu_;
    std::size_t in_flight_ = 0;  // guarded by state_mu_
    bool recycling_ = false;     // guarded by state_mu_
};

}  // namespace

int runWorkerLoop(const WorkerContext& ctx, const ModelRepository& models, int signal_pipe_r) {
    WorkerLoop loop(ctx, models, signal_pipe_r);
    return loop.run();
}

}  // namespace predictd
