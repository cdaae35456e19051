// supervisor.hpp — the arbiter: starts, watches, respawns, reloads and stops the workers.
//
// Shaped after gunicorn's arbiter and nginx's master cycle: signal handlers only write a byte
// to a self-pipe; one loop sleeps on it and then, every turn, handles queued signals, reaps
// exited children, and manages the worker count. One place forks (spawnWorker), one reaps
// (reapWorkers), one decides the count (manageWorkers). The whole lifecycle of a worker is in
// supervisor.cpp.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "models/model_repository.hpp"
#include "ops/service_config.hpp"
#include "process/listen_socket.hpp"
#include "process/scoreboard.hpp"

namespace predictd {

// Exit codes of the predictd process.
inline constexpr int kExitOk = 0;
inline constexpr int kExitConfig = 2;     // bad configuration or socket
inline constexpr int kExitModel = 3;      // workers cannot load the model
inline constexpr int kExitCrashLoop = 4;  // workers keep dying before they are ready

class Supervisor {
  public:
    // `config_path` is re-read on SIGHUP; `overrides` (command-line flags) still win then.
    Supervisor(ServiceConfig config, std::string config_path,
               std::vector<std::pair<std::string, std::string>> overrides, ListenSocket socket,
               ListenSocket control = {});
    ~Supervisor();
    Supervisor(const Supervisor&) = delete;
    Supervisor& operator=(const Supervisor&) = delete;

    // Runs until SIGTERM/SIGINT/SIGQUIT (returns kExitOk after a graceful stop) or until the
    // workers cannot be kept alive (returns kExitModel / kExitCrashLoop).
    int run();

  private:
    struct Worker {
        pid_t pid = 0;
        std::size_t slot = 0;
        std::uint32_t generation = 0;
        std::int64_t spawned_ms = 0;
        bool ready = false;     // scoreboard said it loaded the model
        bool retiring = false;  // SIGTERM sent; it finishes its request and exits
        bool killed = false;    // SIGKILLed by murderStuckWorkers
    };

    void installSignalHandlers();
    void waitForEvent(int timeout_ms);
    void handleSignal(int sig);
    void handleReload();
    void reapWorkers();
    void noteReadyWorkers();
    void murderStuckWorkers();
    void scaleWorkers();
    void manageWorkers();
    [[nodiscard]] std::size_t targetWorkers() const;
    void publishModel();
    void notifySystemd(const std::string& state) const;
    void notifyReadyIfServing();
    void spawnWorker();
    void retire(Worker& w);
    void beginShutdown(bool graceful);
    void killStragglers();
    [[nodiscard]] std::size_t countGeneration(std::uint32_t gen, bool ready_only) const;

    ServiceConfig config_;
    ServiceConfig previous_config_;  // restored if a reload's workers cannot boot
    std::string config_path_;
    std::vector<std::pair<std::string, std::string>> overrides_;
    ListenSocket socket_;
    ListenSocket control_;  // /health, /ready, /status, /metrics (invalid: none)
    Scoreboard scoreboard_;
    std::vector<Worker> workers_;
    std::vector<int> pending_signals_;

    std::uint32_t generation_ = 1;
    // server.preload: the current generation's models, loaded here before the workers fork.
    std::unique_ptr<ModelRepository> preloaded_;
    bool reloading_ = false;  // a new generation is replacing the old one
    bool stopping_ = false;
    std::int64_t stop_deadline_ms_ = 0;
    int exit_code_ = kExitOk;

    // Crash-loop backoff: consecutive workers that died before becoming ready.
    int boot_failures_ = 0;
    std::int64_t next_spawn_ms_ = 0;

    // pm = dynamic | ondemand: the worker count the scaler currently wants.
    std::size_t dynamic_target_ = 0;
    std::size_t spawn_rate_ = 1;  // doubles while short of idle workers (PHP-FPM), up to 32
    std::int64_t last_scale_ms_ = 0;
    bool max_reached_noted_ = false;

    // systemd: READY=1 sent (Type=notify), and the watchdog interval if enabled.
    bool notified_ready_ = false;
    std::int64_t watchdog_interval_ms_ = 0;
    std::int64_t last_watchdog_ms_ = 0;
};

}  // namespace predictd
