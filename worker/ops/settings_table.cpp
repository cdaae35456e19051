// settings_table.cpp — the one table of predictd's settings (gunicorn's Setting classes,
// php-fpm's ini_fpm_pool_options[]): each key once, with its flag, its default as written in
// predictd.ini, its help, how it is parsed and validated into ServiceConfig, and how its
// effective value is printed. --help, --check-config, loading and the drift test
// (tests/unit/test_settings_table.cpp: every key in config/predictd.ini and the README) all
// read it.
#include <Poco/NumberParser.h>
#include <Poco/Path.h>
#include <Poco/StringTokenizer.h>

#include <algorithm>
#include <cstdlib>
#include <stdexcept>
#include <thread>

#include "codecs/image_header.hpp"
#include "ops/service_config.hpp"

namespace predictd {
namespace {

[[noreturn]] void invalid(const std::string& key, const std::string& value,
                          const std::string& expected) {
    throw std::invalid_argument(key + " = '" + value + "': expected " + expected);
}

long long parseInt(const std::string& key, const std::string& text, long long lo, long long hi) {
    Poco::Int64 v = 0;
    if (!Poco::NumberParser::tryParse64(text, v) || v < lo || v > hi) {
        invalid(key, text,
                "an integer in [" + std::to_string(lo) + ", " + std::to_string(hi) + "]");
    }
    return v;
}

std::string showNumber(double v) {
    std::string s = std::to_string(v);
    s.erase(s.find_last_not_of('0') + 1);
    if (!s.empty() && s.back() == '.') {
        s.pop_back();
    }
    return s;
}

// An integer setting stored in the field `field(c)` returns (a generic lambda).
template <typename Field>
Setting integer(const char* key, const char* flag, const char* fallback, const char* help,
                long long lo, long long hi, Field field) {
    return {key,
            flag,
            fallback,
            help,
            [=](ServiceConfig& c, const std::string& v, const SettingContext&) {
                auto& f = field(c);
                f = static_cast<std::remove_reference_t<decltype(f)>>(parseInt(key, v, lo, hi));
            },
            [=](const ServiceConfig& c) { return std::to_string(field(c)); }};
}

template <typename Field>
Setting seconds(const char* key, const char* flag, const char* fallback, const char* help,
                Field field) {
    return {key,
            flag,
            fallback,
            help,
            [=](ServiceConfig& c, const std::string& v, const SettingContext&) {
                double d = 0;
                if (!Poco::NumberParser::tryParseFloat(v, d) || d < 0 || d > 86400) {
                    invalid(key, v, "seconds between 0 and 86400");
                }
                field(c) = d;
            },
            [=](const ServiceConfig& c) { return showNumber(field(c)); }};
}

template <typename Field>
Setting text(const char* key, const char* flag, const char* fallback, const char* help,
             Field field) {
    return {key,
            flag,
            fallback,
            help,
            [=](ServiceConfig& c, const std::string& v, const SettingContext&) { field(c) = v; },
            [=](const ServiceConfig& c) { return std::string(field(c)); }};
}

// A path: relative in the ini file means relative to the ini file's directory; on the command
// line, relative to the working directory.
template <typename Field>
Setting path(const char* key, const char* flag, const char* fallback, const char* help,
             Field field) {
    return {key,
            flag,
            fallback,
            help,
            [=](ServiceConfig& c, const std::string& v, const SettingContext& ctx) {
                if (v.empty()) {
                    field(c).clear();
                    return;
                }
                Poco::Path p(v);
                if (p.isRelative() && !ctx.from_flag && !ctx.ini_dir.empty()) {
                    p.makeAbsolute(Poco::Path(ctx.ini_dir));
                }
                field(c) = p.toString();
            },
            [=](const ServiceConfig& c) { return std::string(field(c)); }};
}

const std::vector<Setting>& table() {
    static const std::vector<Setting> settings = {
        // [server]
        {"server.listen", "--listen", "unix:/run/predictd/predictd.sock",
         "unix:/path or tcp:HOST:PORT",
         [](ServiceConfig& c, const std::string& v, const SettingContext&) {
             std::string why;
             if (!parseListenAddress(v, &c.listen, &why)) {
                 throw std::invalid_argument("server.listen: " + why);
             }
         },
         [](const ServiceConfig& c) { return c.listen.describe(); }},
        text(
            "server.control_listen", "--control-listen", "auto",
            "socket for /health /ready /status /metrics: auto, off, unix:/path or tcp:HOST:PORT",
            [](auto& c) -> auto& { return c.control_listen; }),
        {"server.allowed_peers", "--allowed-peers", "auto",
         "addresses or networks (CIDR) that may talk FastCGI to a tcp listen or control_listen, "
         "comma-separated; auto: FCGI_WEB_SERVER_ADDRS if set, else loopback",
         [](ServiceConfig& c, const std::string& v, const SettingContext&) {
             std::string text = v;
             std::string origin = "server.allowed_peers";
             if (v == "auto") {
                 // libfcgi applications take the list from FCGI_WEB_SERVER_ADDRS (fcgiapp.c,
                 // FCGX_Init); an explicit setting wins over it.
                 const char* env = std::getenv("FCGI_WEB_SERVER_ADDRS");
                 if (env == nullptr || *env == '\0') {
                     c.allowed_peers = PeerAllowList::loopback();
                     c.allowed_peers_origin = "auto: loopback";
                     return;
                 }
                 text = env;
                 origin = "FCGI_WEB_SERVER_ADDRS";
             }
             std::string why;
             if (!PeerAllowList::parse(text, &c.allowed_peers, &why)) {
                 throw std::invalid_argument(origin + ": " + why);
             }
             c.allowed_peers_origin = origin;
         },
         [](const ServiceConfig& c) {
             std::string out = c.allowed_peers.describe();
             out += " (";
             out += c.allowed_peers_origin;
             out += ')';
             return out;
         }},
        {"server.socket_mode", "--socket-mode", "0660", "octal mode of the unix socket",
         [](ServiceConfig& c, const std::string& v, const SettingContext&) {
             unsigned mode = 0;
             if (!Poco::NumberParser::tryParseOct(v, mode) || mode > 0777) {
                 invalid("server.socket_mode", v, "an octal mode such as 0660");
             }
             c.socket_mode = mode;
         },
         [](const ServiceConfig& c) {
             char buf[8];
             std::snprintf(buf, sizeof(buf), "0%o", c.socket_mode);
             return std::string(buf);
         }},
        text(
            "server.socket_group", "--socket-group", "",
            "group to give the unix socket (NGINX's); empty: the process's",
            [](auto& c) -> auto& { return c.socket_group; }),
        text(
            "server.user", "--user", "", "run as this user after binding (when started as root)",
            [](auto& c) -> auto& { return c.user; }),
        text(
            "server.group", "--group", "", "run as this group (default: the user's)",
            [](auto& c) -> auto& { return c.group; }),
        integer(
            "server.backlog", "--backlog", "1024", "listen queue length", 1, 65535,
            [](auto& c) -> auto& { return c.backlog; }),
        {"server.workers", "--workers", "auto", "worker processes, or auto (= CPUs)",
         [](ServiceConfig& c, const std::string& v, const SettingContext&) {
             c.workers = v == "auto"
                             ? static_cast<int>(std::max(1u, std::thread::hardware_concurrency()))
                             : static_cast<int>(parseInt("server.workers", v, 1, 1024));
         },
         [](const ServiceConfig& c) { return std::to_string(c.workers); }},
        integer(
            "server.threads_per_worker", "--threads-per-worker", "1", "OpenCV threads per worker",
            1, 256, [](auto& c) -> auto& { return c.threads_per_worker; }),
        integer(
            "server.acceptor_threads", "--acceptor-threads", "1",
            "requests a worker serves at once (>1 enables batching)", 1, 64,
            [](auto& c) -> auto& { return c.acceptor_threads; }),
        seconds(
            "server.graceful_timeout", "--graceful-timeout", "30",
            "seconds in-flight requests get on SIGTERM",
            [](auto& c) -> auto& { return c.graceful_timeout; }),
        seconds(
            "server.timeout", "--timeout", "30",
            "kill a worker stuck this many seconds (0 = never)",
            [](auto& c) -> auto& { return c.timeout; }),
        integer(
            "server.max_requests", "--max-requests", "0",
            "recycle a worker after N requests (0 = never)", 0, 1LL << 40,
            [](auto& c) -> auto& { return c.max_requests; }),
        integer(
            "server.max_requests_jitter", "--max-requests-jitter", "0",
            "random extra 0..N requests", 0, 1LL << 40,
            [](auto& c) -> auto& { return c.max_requests_jitter; }),
        integer(
            "server.max_worker_memory", "--max-worker-memory", "0",
            "recycle a worker whose private memory (MiB) is above N, after its in-flight "
            "requests (0 = never)",
            0, 1LL << 30, [](auto& c) -> auto& { return c.max_worker_memory_mb; }),
        {"server.preload", "--preload", "on",
         "on or off: load the models once in the supervisor, before forking the workers "
         "(shared memory, instant respawn)",
         [](ServiceConfig& c, const std::string& v, const SettingContext&) {
             if (v != "on" && v != "off") {
                 invalid("server.preload", v, "on or off");
             }
             c.preload = v == "on";
         },
         [](const ServiceConfig& c) { return std::string(c.preload ? "on" : "off"); }},
        // [batching]
        integer(
            "batching.max_batch_size", "--max-batch-size", "64", "images per forward pass", 1, 4096,
            [](auto& c) -> auto& { return c.max_batch_size; }),
        integer(
            "batching.max_queue_delay_us", "--max-queue-delay-us", "0",
            "microseconds a forward pass may wait for more requests", 0, 1'000'000,
            [](auto& c) -> auto& { return c.max_queue_delay_us; }),
        // [pm]
        {"pm.pm", "--pm", "static", "static, dynamic or ondemand",
         [](ServiceConfig& c, const std::string& v, const SettingContext&) {
             if (v == "static") {
                 c.pm = ProcessManager::kStatic;
             } else if (v == "dynamic") {
                 c.pm = ProcessManager::kDynamic;
             } else if (v == "ondemand") {
                 c.pm = ProcessManager::kOndemand;
             } else {
                 invalid("pm.pm", v, "static, dynamic or ondemand");
             }
         },
         [](const ServiceConfig& c) { return std::string(processManagerName(c.pm)); }},
        {"pm.start_workers", "--start-workers", "auto",
         "dynamic: workers at start; auto = min_spare + (max_spare - min_spare) / 2",
         [](ServiceConfig& c, const std::string& v, const SettingContext&) {
             c.start_workers =
                 v == "auto" ? -1 : static_cast<int>(parseInt("pm.start_workers", v, 0, 1024));
         },
         [](const ServiceConfig& c) { return std::to_string(c.start_workers); }},
        integer(
            "pm.min_spare", "--min-spare", "1", "dynamic: fewest idle workers", 0, 1024,
            [](auto& c) -> auto& { return c.min_spare; }),
        integer(
            "pm.max_spare", "--max-spare", "3", "dynamic: most idle workers", 1, 1024,
            [](auto& c) -> auto& { return c.max_spare; }),
        seconds(
            "pm.idle_timeout", "--idle-timeout", "10", "ondemand: seconds an idle worker lives",
            [](auto& c) -> auto& { return c.idle_timeout; }),
        // [model]
        path(
            "model.repository", "--model-repository", "/usr/share/predictd/models",
            "directory of models: <model>/config.json, <model>/<version>/model.onnx",
            [](auto& c) -> auto& { return c.model_repository; }),
        {"model.default", "--default-model", "mnist", "the model POST /predict uses",
         [](ServiceConfig& c, const std::string& v, const SettingContext&) {
             if (v.empty() || v.find('/') != std::string::npos) {
                 invalid("model.default", v, "a model's name (no '/')");
             }
             c.default_model = v;
         },
         [](const ServiceConfig& c) { return c.default_model; }},
        path(
            "model.path", "--model", "", "serve this one ONNX file instead of the repository",
            [](auto& c) -> auto& { return c.model_path; }),
        // [limits]
        integer(
            "limits.max_body_bytes", "--max-body-bytes", "8388608", "largest request body", 1024,
            1LL << 30, [](auto& c) -> auto& { return c.limits.max_body_bytes; }),
        integer(
            "limits.max_batch", "--max-batch", "64", "most images in one request", 1, 4096,
            [](auto& c) -> auto& { return c.limits.max_batch; }),
        integer(
            "limits.max_image_pixels", "--max-image-pixels", "16777216", "largest width*height",
            784, 1LL << 30, [](auto& c) -> auto& { return c.limits.max_image_pixels; }),
        integer(
            "limits.max_json_depth", "--max-json-depth", "16", "deepest JSON nesting", 2, 1000,
            [](auto& c) -> auto& { return c.limits.max_json_depth; }),
        integer(
            "limits.max_base64_bytes", "--max-base64-bytes", "4194304",
            "longest base64 text per image", 16, 1LL << 30,
            [](auto& c) -> auto& { return c.limits.max_base64_bytes; }),
        integer(
            "limits.max_decode_bytes", "--max-decode-bytes", "67108864",
            "bytes of pixels one request's images may decode to", 1LL << 20, 1LL << 40,
            [](auto& c) -> auto& { return c.limits.max_decode_bytes; }),
        seconds(
            "limits.request_deadline", "--request-deadline", "20",
            "seconds before a request is abandoned with 503 (0 = never)",
            [](auto& c) -> auto& { return c.limits.request_deadline; }),
        {"limits.allowed_formats", "--allowed-formats", "png,jpeg,bmp,webp,tiff,pnm",
         "comma-separated image formats",
         [](ServiceConfig& c, const std::string& v, const SettingContext&) {
             c.limits.allowed_formats.clear();
             Poco::StringTokenizer names(
                 v, ",", Poco::StringTokenizer::TOK_TRIM | Poco::StringTokenizer::TOK_IGNORE_EMPTY);
             for (const std::string& name : names) {
                 if (std::find(kImageFormats.begin(), kImageFormats.end(), name) ==
                     kImageFormats.end()) {
                     throw std::invalid_argument("limits.allowed_formats: unknown format '" + name +
                                                 "' (known: png, jpeg, bmp, gif, webp, tiff, pnm)");
                 }
                 c.limits.allowed_formats.push_back(name);
             }
         },
         [](const ServiceConfig& c) {
             std::string out;
             for (const auto& f : c.limits.allowed_formats) {
                 out += (out.empty() ? "" : ",") + f;
             }
             return out;
         }},
        // [log]
        {"log.level", "--log-level", "information", "error, warning, information or debug",
         [](ServiceConfig& c, const std::string& v, const SettingContext&) {
             static const char* const kLevels[] = {"fatal",  "critical",    "error", "warning",
                                                   "notice", "information", "debug", "trace"};
             if (std::find(std::begin(kLevels), std::end(kLevels), v) == std::end(kLevels)) {
                 invalid("log.level", v, "error, warning, information or debug");
             }
             c.log_level = v;
         },
         [](const ServiceConfig& c) { return c.log_level; }},
        text(
            "log.file", "--log-file", "", "log to this file instead of stderr (SIGUSR1 reopens)",
            [](auto& c) -> auto& { return c.log_file; }),
        {"log.access", "--access-log", "on", "on or off: one line per request",
         [](ServiceConfig& c, const std::string& v, const SettingContext&) {
             if (v != "on" && v != "off") {
                 invalid("log.access", v, "on or off");
             }
             c.access_log = v == "on";
         },
         [](const ServiceConfig& c) { return std::string(c.access_log ? "on" : "off"); }},
        integer(
            "log.access_buffer", "--access-log-buffer", "0",
            "bytes of access lines held before one write (0 = write each line)", 0, 16LL << 20,
            [](auto& c) -> auto& { return c.access_log_buffer; }),
        seconds(
            "log.access_flush", "--access-log-flush", "1",
            "seconds a buffered access line may wait before it is written",
            [](auto& c) -> auto& { return c.access_log_flush; }),
    };
    return settings;
}

}  // namespace

const std::vector<Setting>& settingsTable() {
    return table();
}

}  // namespace predictd
