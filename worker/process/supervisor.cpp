// supervisor.cpp — the arbiter loop and the whole lifecycle of a worker (see supervisor.hpp).
//
//   spawnWorker ──fork──▶ [booting] ──model loaded──▶ [ready] ──SIGTERM──▶ [retiring] ──▶ reaped
//        ▲                    │ exit 3: model cannot load → halt (or abort a reload)
//        └─ manageWorkers ◀───┴─ died early: exponential backoff; 10 in a row → halt
//
// Signals: TERM/INT/QUIT graceful stop (a second INT kills at once), HUP rolling reload of
// config and model, TTIN/TTOU one worker more/less, CHLD reap. Handlers only write the signal
// number to the self-pipe; workers write a 0 byte to the same pipe when their state changes.
#include "process/supervisor.hpp"

#include <fcntl.h>
#include <poll.h>
#include <sys/wait.h>
#include <unistd.h>

#include <Poco/Logger.h>
#include <Poco/Net/IPAddress.h>
#include <systemd/sd-daemon.h>

#include <algorithm>
#include <cerrno>
#include <csignal>
#include <cstring>
#include <fstream>
#include <iostream>

#include "ops/file_digest.hpp"
#include "ops/service_log.hpp"
#include "process/listen_queue.hpp"
#include "process/model_preload.hpp"
#include "process/worker_process.hpp"

namespace predictd {
namespace {

int g_wake_pipe[2] = {-1, -1};

constexpr int kHandledSignals[] = {SIGTERM, SIGINT,  SIGQUIT, SIGHUP, SIGCHLD,
                                   SIGTTIN, SIGTTOU, SIGUSR1, SIGUSR2};
constexpr int kMaxBootFailures = 10;
constexpr std::int64_t kMaxBackoffMs = 10'000;

void onSignal(int sig) {
    const int saved = errno;
    const auto byte = static_cast<unsigned char>(sig);
    [[maybe_unused]] ssize_t n = ::write(g_wake_pipe[1], &byte, 1);
    errno = saved;
}

std::string describeExit(int status) {
    if (WIFEXITED(status)) {
        return "exit code " + std::to_string(WEXITSTATUS(status));
    }
    if (WIFSIGNALED(status)) {
        return std::string("signal ") + std::to_string(WTERMSIG(status)) + " (" +
               strsignal(WTERMSIG(status)) + ")";
    }
    return "status " + std::to_string(status);
}

Poco::Logger& logger() {
    return Poco::Logger::get("supervisor");
}

// On a TCP socket, who may talk FastCGI (server.allowed_peers), and a warning when the list
// is the loopback default but the socket listens beyond loopback: remote web servers would be
// refused (safe, but say so at start rather than only when the first one is turned away).
void logAllowedPeers(const ServiceConfig& config, const ListenSocket& main,
                     const ListenSocket& control) {
    bool tcp = false;
    bool beyond_loopback = false;
    for (const ListenSocket* s : {&main, &control}) {
        if (!s->valid() || s->address().kind != ListenAddress::Kind::kTcp) {
            continue;
        }
        tcp = true;
        Poco::Net::IPAddress host;
        beyond_loopback = beyond_loopback ||
                          !Poco::Net::IPAddress::tryParse(s->address().host, host) ||
                          !host.isLoopback();
    }
    if (!tcp) {
        return;
    }
    std::string line = "FastCGI over tcp is allowed from ";
    line += config.allowed_peers.describe();
    line += " (";
    line += config.allowed_peers_origin;
    line += "); anyone else is refused";
    logger().information(line);
    if (beyond_loopback && config.allowed_peers.loopbackOnly()) {
        logger().warning(
            "listening beyond loopback, but only loopback peers are allowed: set "
            "server.allowed_peers (or FCGI_WEB_SERVER_ADDRS) to the web servers' addresses");
    }
}

}  // namespace

Supervisor::Supervisor(ServiceConfig config, std::string config_path,
                       std::vector<std::pair<std::string, std::string>> overrides,
                       ListenSocket socket, ListenSocket control)
    : config_(std::move(config)),
      previous_config_(config_),
      config_path_(std::move(config_path)),
      overrides_(std::move(overrides)),
      socket_(std::move(socket)),
      control_(std::move(control)) {}

Supervisor::~Supervisor() {
    for (int& fd : g_wake_pipe) {
        if (fd >= 0) {
            ::close(fd);
            fd = -1;
        }
    }
}

void Supervisor::installSignalHandlers() {
    if (::pipe2(g_wake_pipe, O_CLOEXEC | O_NONBLOCK) != 0) {
        throw std::runtime_error(std::string("pipe2: ") + std::strerror(errno));
    }
    struct sigaction sa {};
    sa.sa_handler = onSignal;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = SA_RESTART | SA_NOCLDSTOP;
    for (int sig : kHandledSignals) {
        ::sigaction(sig, &sa, nullptr);
    }
    struct sigaction ign {};
    ign.sa_handler = SIG_IGN;
    sigemptyset(&ign.sa_mask);
    ::sigaction(SIGPIPE, &ign, nullptr);
}

int Supervisor::run() {
    installSignalHandlers();
    std::uint64_t watchdog_usec = 0;
    if (sd_watchdog_enabled(0, &watchdog_usec) > 0) {
        watchdog_interval_ms_ = static_cast<std::int64_t>(watchdog_usec / 2000);
    }
    dynamic_target_ = config_.pm == ProcessManager::kDynamic
                          ? static_cast<std::size_t>(config_.start_workers)
                          : 0;
    publishModel();
    if (config_.preload) {
        const std::int64_t started = monotonicMs();
        Preload p = preloadModels(config_, &scoreboard_.metrics());
        if (!p.error.empty()) {
            logger().fatal("cannot load the model " + config_.modelSource().label() +
                           " (preload: " + p.error + "); exiting");
            return kExitModel;
        }
        if (!p.skipped.empty()) {
            logger().warning("preload skipped: " + p.skipped + "; each worker loads the models");
        } else {
            logger().information("preload: models loaded in the supervisor in " +
                                 std::to_string(monotonicMs() - started) +
                                 " ms; the workers share them");
        }
        preloaded_ = std::move(p.models);
    }
    logger().information(
        "predictd " PREDICTD_VERSION " listening on " + socket_.address().describe() +
        (control_.valid() ? " (control: " + control_.address().describe() + ")" : std::string()) +
        ", pm = " + processManagerName(config_.pm) + ", up to " + std::to_string(config_.workers) +
        " worker(s) × " + std::to_string(config_.threads_per_worker) + " thread(s), model " +
        config_.modelSource().label() + " (config: " + config_.source + ")");
    logAllowedPeers(config_, socket_, control_);
    for (;;) {
        murderStuckWorkers();
        scaleWorkers();
        manageWorkers();
        int timeout_ms = stopping_ ? 100 : 1000;
        const std::int64_t until_spawn = next_spawn_ms_ - monotonicMs();
        if (!stopping_ && until_spawn > 0) {  // wake when a backed-off spawn is due
            timeout_ms = static_cast<int>(std::min<std::int64_t>(until_spawn, timeout_ms));
        }
        if (watchdog_interval_ms_ > 0) {
            timeout_ms =
                static_cast<int>(std::min<std::int64_t>(watchdog_interval_ms_, timeout_ms));
        }
        waitForEvent(timeout_ms);
        std::vector<int> signals;
        signals.swap(pending_signals_);
        for (int sig : signals) {
            handleSignal(sig);
        }
        reapWorkers();
        noteReadyWorkers();
        notifyReadyIfServing();
        if (watchdog_interval_ms_ > 0 &&
            monotonicMs() - last_watchdog_ms_ >= watchdog_interval_ms_) {
            last_watchdog_ms_ = monotonicMs();
            notifySystemd("WATCHDOG=1");
        }
        if (stopping_) {
            if (workers_.empty()) {
                break;
            }
            if (monotonicMs() >= stop_deadline_ms_) {
                killStragglers();
            }
        }
    }
    logger().information(exit_code_ == kExitOk ? "stopped" : "stopped with errors");
    return exit_code_;
}

void Supervisor::notifySystemd(const std::string& state) const {
    sd_notify(0, state.c_str());  // no-op without NOTIFY_SOCKET
}

void Supervisor::notifyReadyIfServing() {
    if (stopping_ || reloading_) {
        return;
    }
    const std::size_t ready = countGeneration(generation_, true);
    const std::size_t wanted = std::min(targetWorkers(), static_cast<std::size_t>(1));
    if (ready < wanted) {
        return;
    }
    const std::string status = "STATUS=serving with " + std::to_string(ready) +
                               " worker(s), model " + config_.modelSource().label();
    if (!notified_ready_) {
        notified_ready_ = true;
        notifySystemd("READY=1\n" + status);
    }
}

void Supervisor::publishModel() {
    ModelInfo info;
    info.name = config_.default_model;
    info.path = defaultModelFile(config_.modelSource());
    info.sha256 = sha256OfFile(info.path);
    info.generation = generation_;
    scoreboard_.publishModel(info);
}

void Supervisor::waitForEvent(int timeout_ms) {
    pollfd pfd{g_wake_pipe[0], POLLIN, 0};
    if (::poll(&pfd, 1, timeout_ms) <= 0) {
        return;
    }
    unsigned char buf[64];
    ssize_t n = 0;
    while ((n = ::read(g_wake_pipe[0], buf, sizeof(buf))) > 0) {
        for (ssize_t i = 0; i < n; ++i) {
            if (buf[i] != 0) {  // 0 = a worker changed state; the loop looks at it anyway
                pending_signals_.push_back(buf[i]);
            }
        }
    }
}

void Supervisor::handleSignal(int sig) {
    switch (sig) {
        case SIGCHLD:
            break;  // reapWorkers runs every turn
        case SIGINT:
            if (stopping_) {
                logger().warning("second SIGINT: killing workers now");
                beginShutdown(false);
                break;
            }
            [[fallthrough]];
        case SIGTERM:
        case SIGQUIT:
            if (!stopping_) {
                logger().information(std::string("received ") + strsignal(sig) +
                                     ": finishing in-flight requests, then exiting");
                beginShutdown(true);
            }
            break;
        case SIGHUP:
            handleReload();
            break;
        case SIGTTIN:
            if (config_.workers < static_cast<int>(Scoreboard::kMaxSlots)) {
                ++config_.workers;
                ++dynamic_target_;
                logger().information("SIGTTIN: workers = " + std::to_string(config_.workers));
            }
            break;
        case SIGTTOU:
            if (config_.workers > 1) {
                --config_.workers;
                dynamic_target_ =
                    std::min(dynamic_target_, static_cast<std::size_t>(config_.workers));
                logger().information("SIGTTOU: workers = " + std::to_string(config_.workers));
            }
            break;
        case SIGUSR1:
            reopenLogs();
            for (const Worker& w : workers_) {
                ::kill(w.pid, SIGUSR1);
            }
            logger().information("SIGUSR1: log files reopened");
            break;
        default:
            logger().information(std::string("ignoring ") + strsignal(sig));
            break;
    }
}

void Supervisor::handleReload() {
    if (stopping_) {
        return;
    }
    ServiceConfig fresh;
    std::string error;
    if (!loadServiceConfig(config_path_, overrides_, &fresh, &error)) {
        logger().error("reload refused, keeping the running configuration: " + error);
        return;
    }
    if (fresh.listen.describe() != config_.listen.describe()) {
        logger().warning("reload: changing the listen address needs a restart; keeping " +
                         config_.listen.describe());
        fresh.listen = config_.listen;
    }
    if (fresh.control_listen != config_.control_listen) {
        logger().warning("reload: changing control_listen needs a restart; keeping " +
                         config_.control_listen);
        fresh.control_listen = config_.control_listen;
    }
    if (fresh.preload) {
        // Loaded before anything changes: a model that does not load refuses the reload here,
        // as a worker's boot failure aborts it without preload.
        Preload p = preloadModels(fresh, &scoreboard_.metrics());
        if (!p.error.empty()) {
            logger().error("reload aborted, keeping the running configuration: cannot load model " +
                           fresh.modelSource().label() + " (preload: " + p.error + ")");
            return;
        }
        if (!p.skipped.empty()) {
            logger().warning("preload skipped: " + p.skipped + "; each worker loads the models");
        }
        preloaded_ = std::move(p.models);
    } else {
        preloaded_.reset();
    }
    if (!reloading_) {
        previous_config_ = config_;
    }
    config_ = std::move(fresh);
    ++generation_;
    reloading_ = true;
    dynamic_target_ = config_.pm == ProcessManager::kDynamic
                          ? static_cast<std::size_t>(config_.start_workers)
                          : 0;
    notifySystemd("RELOADING=1\nSTATUS=reloading: generation " + std::to_string(generation_) +
                  ", model " + config_.modelSource().label());
    boot_failures_ = 0;
    next_spawn_ms_ = 0;
    logger().information("reload: starting generation " + std::to_string(generation_) +
                         " with model " + config_.modelSource().label());
}

void Supervisor::reapWorkers() {
    int status = 0;
    pid_t pid = 0;
    while ((pid = ::waitpid(-1, &status, WNOHANG)) > 0) {
        auto it = std::find_if(workers_.begin(), workers_.end(),
                               [pid](const Worker& w) { return w.pid == pid; });
        if (it == workers_.end()) {
            continue;
        }
        Worker w = *it;
        workers_.erase(it);
        ScoreboardSlot& slot = scoreboard_.slot(w.slot);
        ServiceMetrics& metrics = scoreboard_.metrics();
        const std::uint64_t served = slot.requests.load();
        const WorkerState last_state = slot.state.load();
        if (last_state == WorkerState::kBusy && metrics.busy_now.load() > 0) {
            metrics.busy_now.fetch_sub(1);  // it died mid-request and never said so
        }
        slot.state.store(WorkerState::kFree);
        slot.pid.store(0);

        const std::string who = "worker " + std::to_string(pid);
        if (w.retiring || stopping_) {
            logger().information(who + " exited (" + describeExit(status) + ") after " +
                                 std::to_string(served) + " request(s)");
            continue;
        }
        // Recycled: max_requests (exit 0 from the "exiting" state) or max_worker_memory (its own
        // exit code, whatever the last state: a request accepted just before the decision shows
        // the worker busy until it ends).
        const bool memory = WIFEXITED(status) && WEXITSTATUS(status) == kWorkerExitOverMemory;
        if (memory || (last_state == WorkerState::kExiting && WIFEXITED(status) &&
                       WEXITSTATUS(status) == kWorkerExitOk)) {
            metrics
                .restarts[static_cast<std::size_t>(memory ? RestartReason::kOverMemory
                                                          : RestartReason::kRecycle)]
                .fetch_add(1);
            logger().information(who + " recycled after " + std::to_string(served) +
                                 " request(s) (" + (memory ? "max_worker_memory" : "max_requests") +
                                 ")");
            continue;
        }
        metrics
            .restarts[static_cast<std::size_t>(w.killed ? RestartReason::kKilled
                                                        : RestartReason::kCrash)]
            .fetch_add(1);
        if (w.killed) {
            logger().warning(who + " was killed by the supervisor after " + std::to_string(served) +
                             " request(s); respawning");
            continue;
        }
        const std::int64_t now = monotonicMs();
        const bool model_failed =
            WIFEXITED(status) && WEXITSTATUS(status) == kWorkerExitBootFailure;
        if (!w.ready && model_failed && w.generation == generation_) {
            if (reloading_) {
                logger().error("reload aborted: generation " + std::to_string(generation_) +
                               " cannot load model " + config_.modelSource().label() +
                               " (see the worker's error above); the running workers keep "
                               "serving with " +
                               previous_config_.modelSource().label());
                config_ = previous_config_;
                --generation_;
                reloading_ = false;
                dynamic_target_ = countGeneration(generation_, false);
                notifySystemd("READY=1\nSTATUS=reload aborted: model " +
                              previous_config_.modelSource().label() + " still serving");
                for (Worker& other : workers_) {
                    if (other.generation != generation_) {
                        retire(other);
                    }
                }
                continue;
            }
            if (countGeneration(generation_, true) == 0) {
                logger().fatal("workers cannot load the model " + config_.modelSource().label() +
                               " (see the worker's error above); exiting instead of respawning");
                exit_code_ = kExitModel;
                beginShutdown(true);
                continue;
            }
        }
        const bool died_early = !w.ready || now - scoreboard_.slot(w.slot).ready_ms.load() < 1000;
        if (died_early) {
            ++boot_failures_;
            const std::int64_t backoff =
                std::min<std::int64_t>(kMaxBackoffMs, 100LL << std::min(boot_failures_ - 1, 10));
            next_spawn_ms_ = now + backoff;
            logger().warning(who + " died " + (w.ready ? "right after starting" : "while booting") +
                             " (" + describeExit(status) + "); respawning in " +
                             std::to_string(backoff) + " ms");
            if (boot_failures_ >= kMaxBootFailures && countGeneration(generation_, true) == 0) {
                logger().fatal("workers died " + std::to_string(boot_failures_) +
                               " times in a row before serving; exiting");
                exit_code_ = kExitCrashLoop;
                beginShutdown(true);
            }
        } else {
            logger().warning(who + " died (" + describeExit(status) + ") after " +
                             std::to_string(served) + " request(s); respawning");
        }
    }
}

void Supervisor::noteReadyWorkers() {
    for (Worker& w : workers_) {
        if (w.ready) {
            continue;
        }
        WorkerState s = scoreboard_.slot(w.slot).state.load(std::memory_order_acquire);
        if (s == WorkerState::kIdle || s == WorkerState::kBusy) {
            w.ready = true;
            boot_failures_ = 0;
            const std::int64_t took = scoreboard_.slot(w.slot).ready_ms.load() - w.spawned_ms;
            logger().information("worker " + std::to_string(w.pid) + " ready in " +
                                 std::to_string(took) + " ms (generation " +
                                 std::to_string(w.generation) + ")");
        }
    }
}

std::size_t Supervisor::countGeneration(std::uint32_t gen, bool ready_only) const {
    return static_cast<std::size_t>(
        std::count_if(workers_.begin(), workers_.end(), [&](const Worker& w) {
            return w.generation == gen && !w.retiring && (w.ready || !ready_only);
        }));
}

std::size_t Supervisor::targetWorkers() const {
    const auto max = static_cast<std::size_t>(config_.workers);
    return config_.pm == ProcessManager::kStatic ? max : std::min(dynamic_target_, max);
}

// gunicorn's "murder": a worker busy on one request for longer than `timeout`, or idle but
// silent (no heartbeat) for that long, is stuck: SIGKILL it; the reaper respawns it. NGINX has
// already answered the client with a JSON 504 by then (fastcgi_read_timeout).
void Supervisor::murderStuckWorkers() {
    if (config_.timeout <= 0) {
        return;
    }
    const std::int64_t now = monotonicMs();
    const auto limit = static_cast<std::int64_t>(config_.timeout * 1000.0);
    for (Worker& w : workers_) {
        if (!w.ready || w.killed) {
            continue;
        }
        const ScoreboardSlot& slot = scoreboard_.slot(w.slot);
        const WorkerState state = slot.state.load(std::memory_order_acquire);
        const std::int64_t started = slot.request_started_ms.load();
        KillReason reason;
        if (state == WorkerState::kBusy && started != 0 && now - started > limit) {
            reason = KillReason::kRequestTimeout;
        } else if (state == WorkerState::kIdle && now - slot.heartbeat_ms.load() > limit) {
            reason = KillReason::kUnresponsive;
        } else {
            continue;
        }
        logger().error("worker " + std::to_string(w.pid) +
                       (reason == KillReason::kRequestTimeout
                            ? " exceeded timeout on one request"
                            : " stopped responding (no heartbeat)") +
                       " for more than " + std::to_string(limit) + " ms; killing it");
        ::kill(w.pid, SIGKILL);
        w.killed = true;
        scoreboard_.metrics().kills[static_cast<std::size_t>(reason)].fetch_add(1);
    }
}

// pm = dynamic: keep between min_spare and max_spare idle workers, spawning 1, 2, 4 … 32 per
// second while short (PHP-FPM's rule). pm = ondemand: a worker when a connection waits and none
// is idle; workers idle longer than idle_timeout retire. Decides once a second.
void Supervisor::scaleWorkers() {
    if (config_.pm == ProcessManager::kStatic || stopping_ || reloading_) {
        return;
    }
    const std::int64_t now = monotonicMs();
    const auto max = static_cast<std::size_t>(config_.workers);
    std::size_t idle = 0;
    std::size_t booting = 0;
    for (const Worker& w : workers_) {
        if (w.generation != generation_ || w.retiring) {
            continue;
        }
        const WorkerState st = scoreboard_.slot(w.slot).state.load();
        idle += st == WorkerState::kIdle ? 1 : 0;
        booting += w.ready ? 0 : 1;
    }
    dynamic_target_ = std::min(dynamic_target_, max);

    if (config_.pm == ProcessManager::kOndemand) {
        const auto queue = readListenQueue(socket_.fd());
        const bool waiting = queue && queue->queued > 0;
        if (waiting && idle == 0 && booting == 0) {
            if (dynamic_target_ < max) {
                ++dynamic_target_;
            } else if (!max_reached_noted_) {
                max_reached_noted_ = true;
                scoreboard_.metrics().max_workers_reached.fetch_add(1);
            }
        } else if (!waiting) {
            max_reached_noted_ = false;
        }
        const auto idle_limit = static_cast<std::int64_t>(config_.idle_timeout * 1000.0);
        for (Worker& w : workers_) {
            const ScoreboardSlot& slot = scoreboard_.slot(w.slot);
            const std::int64_t last = std::max(slot.last_active_ms.load(), slot.ready_ms.load());
            if (w.ready && !w.retiring && w.generation == generation_ &&
                slot.state.load() == WorkerState::kIdle && now - last > idle_limit) {
                retire(w);
                dynamic_target_ = dynamic_target_ > 0 ? dynamic_target_ - 1 : 0;
            }
        }
        return;
    }

    if (now - last_scale_ms_ < 1000) {
        return;
    }
    last_scale_ms_ = now;
    const auto min_spare = static_cast<std::size_t>(config_.min_spare);
    const auto max_spare = static_cast<std::size_t>(config_.max_spare);
    if (idle + booting < min_spare) {
        if (dynamic_target_ < max) {
            const std::size_t add =
                std::min({spawn_rate_, max - dynamic_target_, min_spare - idle - booting});
            dynamic_target_ += std::max<std::size_t>(add, 1);
            spawn_rate_ = std::min<std::size_t>(spawn_rate_ * 2, 32);
        } else if (!max_reached_noted_) {
            max_reached_noted_ = true;
            scoreboard_.metrics().max_workers_reached.fetch_add(1);
            logger().warning("all " + std::to_string(max) +
                             " workers busy (pm.max reached); consider more workers");
        }
        return;
    }
    spawn_rate_ = 1;
    max_reached_noted_ = false;
    if (idle > max_spare && dynamic_target_ > 1) {
        for (Worker& w : workers_) {  // retire one idle worker per second
            if (w.ready && !w.retiring && w.generation == generation_ &&
                scoreboard_.slot(w.slot).state.load() == WorkerState::kIdle) {
                retire(w);
                --dynamic_target_;
                break;
            }
        }
    }
}

void Supervisor::manageWorkers() {
    if (stopping_) {
        return;
    }
    const std::size_t desired = targetWorkers();
    const std::size_t ready_new = countGeneration(generation_, true);
    std::size_t old_alive = static_cast<std::size_t>(
        std::count_if(workers_.begin(), workers_.end(),
                      [&](const Worker& w) { return w.generation != generation_ && !w.retiring; }));

    // Rolling reload: retire an old worker for each new one that is ready, so capacity never
    // drops and at most one extra process (not a second generation) exists at any time.
    for (Worker& w : workers_) {
        if (old_alive == 0 || ready_new + old_alive <= desired) {
            break;
        }
        if (w.generation != generation_ && !w.retiring) {
            retire(w);
            --old_alive;
        }
    }
    // Complete only once every old worker has exited, not merely been told to: a retiring worker
    // whose SIGTERM is not yet delivered can still accept a connection, so "reload complete" (and
    // systemd's READY=1 after `systemctl reload`) would otherwise not mean that every answer
    // comes from the new generation.
    const bool old_gone = std::none_of(workers_.begin(), workers_.end(), [&](const Worker& w) {
        return w.generation != generation_;
    });
    if (reloading_ && old_gone && ready_new >= std::min<std::size_t>(desired, 1)) {
        reloading_ = false;
        logger().information("reload complete: generation " + std::to_string(generation_) +
                             " serving with model " + config_.modelSource().label());
        publishModel();
        notifySystemd("READY=1\nSTATUS=serving generation " + std::to_string(generation_) +
                      " with model " + config_.modelSource().label());
    }

    std::size_t current = countGeneration(generation_, false);
    const std::size_t surge = old_alive > 0 ? 1 : 0;
    while (current < desired && current + old_alive < desired + surge &&
           monotonicMs() >= next_spawn_ms_) {
        spawnWorker();
        ++current;
    }
    // Scale down (SIGTTOU, the scaler, or a reload with fewer workers): retire the newest first.
    for (auto it = workers_.rbegin(); it != workers_.rend() && current > desired; ++it) {
        if (it->generation == generation_ && !it->retiring) {
            retire(*it);
            --current;
        }
    }
}

void Supervisor::spawnWorker() {
    std::size_t slot = 0;
    while (slot < scoreboard_.size() &&
           (scoreboard_.slot(slot).state.load() != WorkerState::kFree ||
            std::any_of(workers_.begin(), workers_.end(),
                        [slot](const Worker& w) { return w.slot == slot; }))) {
        ++slot;
    }
    if (slot == scoreboard_.size()) {
        logger().error("no free scoreboard slot; not spawning");
        return;
    }
    ScoreboardSlot& s = scoreboard_.slot(slot);
    s.state.store(WorkerState::kBooting);
    s.generation.store(generation_);
    s.requests.store(0);
    s.request_started_ms.store(0);
    s.ready_ms.store(0);
    s.heartbeat_ms.store(monotonicMs());
    s.spawned_ms.store(monotonicMs());
    s.last_active_ms.store(0);

    // Block signals across fork so the child cannot run the supervisor's handlers.
    sigset_t all;
    sigset_t old;
    sigfillset(&all);
    ::sigprocmask(SIG_BLOCK, &all, &old);
    const std::int64_t spawned = monotonicMs();
    pid_t pid = ::fork();
    if (pid == 0) {
        struct sigaction dfl {};
        dfl.sa_handler = SIG_DFL;
        sigemptyset(&dfl.sa_mask);
        for (int sig : kHandledSignals) {
            ::sigaction(sig, &dfl, nullptr);
        }
        ::close(g_wake_pipe[0]);
        ::sigprocmask(SIG_SETMASK, &old, nullptr);
        s.pid.store(::getpid());
        WorkerContext ctx;
        ctx.config = &config_;
        ctx.listen_fd = socket_.fd();
        ctx.control_fd = control_.valid() ? control_.fd() : -1;
        ctx.scoreboard = &scoreboard_;
        ctx.slot = slot;
        ctx.supervisor_wake_fd = g_wake_pipe[1];
        ctx.preloaded = preloaded_.get();
        int code = runWorker(ctx);
        std::cerr.flush();
        ::_exit(code);  // no destructors: the socket file and scoreboard belong to the parent
    }
    ::sigprocmask(SIG_SETMASK, &old, nullptr);
    if (pid < 0) {
        s.state.store(WorkerState::kFree);
        logger().error(std::string("fork failed: ") + std::strerror(errno));
        next_spawn_ms_ = monotonicMs() + 1000;
        return;
    }
    s.pid.store(pid);
    Worker w;
    w.pid = pid;
    w.slot = slot;
    w.generation = generation_;
    w.spawned_ms = spawned;
    workers_.push_back(w);
}

void Supervisor::retire(Worker& w) {
    if (!w.retiring) {
        w.retiring = true;
        ::kill(w.pid, SIGTERM);
    }
}

void Supervisor::beginShutdown(bool graceful) {
    if (!stopping_) {
        stopping_ = true;
        notifySystemd("STOPPING=1");
        stop_deadline_ms_ =
            monotonicMs() + static_cast<std::int64_t>(config_.graceful_timeout * 1000.0);
    }
    for (Worker& w : workers_) {
        retire(w);
    }
    if (!graceful) {
        killStragglers();
    }
}

void Supervisor::killStragglers() {
    for (const Worker& w : workers_) {
        logger().warning("worker " + std::to_string(w.pid) + " still running; sending SIGKILL");
        ::kill(w.pid, SIGKILL);
        scoreboard_.metrics().kills[static_cast<std::size_t>(KillReason::kShutdown)].fetch_add(1);
    }
    stop_deadline_ms_ = monotonicMs() + 60'000;  // wait for the reaper, do not repeat the kill
}

}  // namespace predictd
