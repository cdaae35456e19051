// service_config.hpp — predictd's settings: defaults, predictd.ini, command-line overrides.
//
// Owns the meaning and validation of every key (documented in config/predictd.ini and the
// README). Reading uses Poco::Util: the ini file is layered under a map of command-line
// overrides, so a flag always wins over the file. Nothing else parses configuration.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "api/request_limits.hpp"
#include "models/model_source.hpp"
#include "process/listen_socket.hpp"
#include "process/peer_allow_list.hpp"

namespace predictd {

// How the number of workers is decided, with PHP-FPM's meanings (pm = ...).
enum class ProcessManager {
    kStatic,    // always `workers`
    kDynamic,   // between min_spare idle and max_spare idle, at most `workers`
    kOndemand,  // none until a connection waits; idle ones retire after idle_timeout
};
const char* processManagerName(ProcessManager pm);

struct ServiceConfig {
    // [server]
    ListenAddress listen;  // listen = unix:/run/predictd/predictd.sock
    // control_listen = auto: the socket NGINX sends /health, /ready, /status and /metrics to, so
    // they never wait behind queued predictions (PHP-FPM's pm.status_listen). auto: beside a
    // unix `listen` (predictd.sock → predictd-control.sock), none for tcp; off: none (they share
    // `listen`). Resolved against the served address by resolveControlListen().
    std::string control_listen = "auto";
    // allowed_peers = auto: who may talk FastCGI to a tcp `listen` or `control_listen` (unix
    // sockets: their file mode decides). auto = FCGI_WEB_SERVER_ADDRS from the environment (as
    // libfcgi applications read it) if set, else loopback only. Anyone else's connection is
    // closed before a byte is read (transport/fcgi_accept.cpp).
    PeerAllowList allowed_peers = PeerAllowList::loopback();
    std::string allowed_peers_origin = "auto: loopback";  // where the list came from, for logs
    unsigned socket_mode = 0660;                          // socket_mode = 0660 (unix sockets only)
    std::string socket_group;  // socket_group = (empty: keep the process's group)
    std::string user;    // user = (empty: keep the starting user); root switches to it after bind
    std::string group;   // group = (empty: the user's primary group)
    int backlog = 1024;  // backlog = 1024
    int workers = 0;     // workers = auto → number of CPUs
    int acceptor_threads = 1;             // acceptor_threads = 1: requests a worker serves at once
    std::size_t max_batch_size = 64;      // [batching] images per forward pass at most
    std::int64_t max_queue_delay_us = 0;  // [batching] longest wait for more to batch
    int threads_per_worker = 1;           // threads_per_worker = 1 (OpenCV threads per worker)
    double graceful_timeout = 30.0;       // graceful_timeout = 30 (seconds)
    double timeout = 30.0;           // timeout = 30: longest request/silence before a kill; 0 = off
    std::uint64_t max_requests = 0;  // max_requests = 0: recycle after N requests; 0 = off
    std::uint64_t max_requests_jitter = 0;   // max_requests_jitter = 0: + random 0..N
    std::uint64_t max_worker_memory_mb = 0;  // max_worker_memory = 0: recycle above N MiB private
    bool preload = true;  // preload = on: the supervisor loads the models before forking
    // [pm]
    ProcessManager pm = ProcessManager::kStatic;  // pm = static
    int start_workers = 0;                        // start_workers = auto
    int min_spare = 1;                            // min_spare = 1
    int max_spare = 3;                            // max_spare = 3
    double idle_timeout = 10.0;                   // idle_timeout = 10 (seconds, ondemand)
    // [model]
    std::string model_repository = "/usr/share/predictd/models";  // repository = …
    std::string model_path;               // path = (empty: the repository; else this one file)
    std::string default_model = "mnist";  // default = mnist: the model POST /predict uses
    [[nodiscard]] ModelSource modelSource() const {
        return {model_repository, model_path, default_model};
    }
    // [limits]
    RequestLimits limits;
    // [log]
    std::string log_level = "information";
    std::string log_file;               // file = (empty: stderr); SIGUSR1 reopens it
    bool access_log = true;             // access = on: one line per request
    std::size_t access_log_buffer = 0;  // access_buffer = 0: bytes held before a write (0 = none)
    double access_log_flush = 1.0;      // access_flush = 1: seconds a line may wait

    std::string source;  // where the settings came from, for the start-up log line
};

// The control socket for `served` (the listen address really served, which socket activation may
// differ from the settings'): nullopt when there is none. Error: a malformed address.
bool resolveControlListen(const ServiceConfig& config, const ListenAddress& served,
                          std::optional<ListenAddress>* out, std::string* error);

// Where a value came from, for settings that depend on it (relative paths).
struct SettingContext {
    std::string ini_dir;     // directory of the ini file ("" without one)
    bool from_flag = false;  // given on the command line
};

// One setting: the table in settings_table.cpp holds every key once. `fallback` is the default
// as written in predictd.ini; `apply` parses and validates a value into the config (throws
// std::invalid_argument naming the key); `show` prints the effective value (--check-config).
struct Setting {
    const char* key;   // "section.name", as in predictd.ini
    const char* flag;  // "--name"
    const char* fallback;
    const char* help;
    std::function<void(ServiceConfig&, const std::string&, const SettingContext&)> apply;
    std::function<std::string(const ServiceConfig&)> show;
};
const std::vector<Setting>& settingsTable();

// Loads `ini_path` (empty: defaults only) with `overrides` (ini key → value) on top. Returns
// false with a message naming the key and the bad value on any error.
bool loadServiceConfig(const std::string& ini_path,
                       const std::vector<std::pair<std::string, std::string>>& overrides,
                       ServiceConfig* out, std::string* error);

}  // namespace predictd
