// service_config.cpp — reading and validating predictd's settings (see service_config.hpp).
#include "ops/service_config.hpp"

#include <Poco/AutoPtr.h>
#include <Poco/Exception.h>
#include <Poco/NumberParser.h>
#include <Poco/Path.h>
#include <Poco/StringTokenizer.h>
#include <Poco/Util/IniFileConfiguration.h>
#include <Poco/Util/LayeredConfiguration.h>
#include <Poco/Util/MapConfiguration.h>

#include <thread>

#include "codecs/image_header.hpp"

namespace predictd {

const char* processManagerName(ProcessManager pm) {
    switch (pm) {
        case ProcessManager::kStatic:
            return "static";
        case ProcessManager::kDynamic:
            return "dynamic";
        case ProcessManager::kOndemand:
            return "ondemand";
    }
    return "static";
}

const std::vector<FlagMapping>& configFlags() {
    static const std::vector<FlagMapping> flags = {
        {"--listen", "server.listen", "unix:/path or tcp:HOST:PORT"},
        {"--control-listen", "server.control_listen",
         "socket for /health /ready /status /metrics: auto, off, unix:/path or tcp:HOST:PORT"},
        {"--socket-mode", "server.socket_mode", "octal mode of the unix socket (0660)"},
        {"--socket-group", "server.socket_group", "group to give the unix socket (NGINX's)"},
        {"--user", "server.user", "run as this user after binding (when started as root)"},
        {"--group", "server.group", "run as this group (default: the user's)"},
        {"--backlog", "server.backlog", "listen queue length (1024)"},
        {"--workers", "server.workers", "number of worker processes, or auto (= CPUs)"},
        {"--threads-per-worker", "server.threads_per_worker", "OpenCV threads per worker (1)"},
        {"--acceptor-threads", "server.acceptor_threads",
         "requests a worker serves at once (1; >1 enables batching)"},
        {"--max-batch-size", "batching.max_batch_size", "images per forward pass (64)"},
        {"--max-queue-delay-us", "batching.max_queue_delay_us",
         "microseconds a forward pass may wait for more requests (0)"},
        {"--graceful-timeout", "server.graceful_timeout", "seconds to finish in-flight requests"},
        {"--timeout", "server.timeout", "kill a worker stuck this many seconds (30; 0 = off)"},
        {"--max-requests", "server.max_requests", "recycle a worker after N requests (0 = off)"},
        {"--max-requests-jitter", "server.max_requests_jitter", "random extra 0..N requests"},
        {"--pm", "pm.pm", "static, dynamic or ondemand"},
        {"--start-workers", "pm.start_workers", "dynamic: workers at start (auto)"},
        {"--min-spare", "pm.min_spare", "dynamic: fewest idle workers (1)"},
        {"--max-spare", "pm.max_spare", "dynamic: most idle workers (3)"},
        {"--idle-timeout", "pm.idle_timeout", "ondemand: seconds before an idle worker retires"},
        {"--model-repository", "model.repository",
         "directory of models: <model>/config.json, <model>/<version>/model.onnx"},
        {"--model", "model.path", "serve this one ONNX file instead of the repository"},
        {"--default-model", "model.default", "the model POST /predict uses (mnist)"},
        {"--max-body-bytes", "limits.max_body_bytes", "largest request body (8388608)"},
        {"--max-batch", "limits.max_batch", "most images in one request (64)"},
        {"--max-image-pixels", "limits.max_image_pixels", "largest width*height (16777216)"},
        {"--max-json-depth", "limits.max_json_depth", "deepest JSON nesting (16)"},
        {"--max-base64-bytes", "limits.max_base64_bytes",
         "longest base64 text per image (4194304)"},
        {"--allowed-formats", "limits.allowed_formats",
         "comma-separated image formats (png,jpeg,bmp,webp,tiff,pnm)"},
        {"--log-level", "log.level", "error, warning, information or debug"},
        {"--log-file", "log.file", "log to this file instead of stderr"},
        {"--access-log", "log.access", "on or off: one line per request"},
    };
    return flags;
}

namespace {

using Poco::Util::AbstractConfiguration;

long long readInt(const AbstractConfiguration& c, const std::string& key, long long fallback,
                  long long lo, long long hi) {
    if (!c.has(key)) {
        return fallback;
    }
    std::string text = c.getString(key);
    Poco::Int64 v = 0;
    if (!Poco::NumberParser::tryParse64(text, v) || v < lo || v > hi) {
        throw Poco::InvalidArgumentException(key + " = '" + text + "': expected an integer in [" +
                                             std::to_string(lo) + ", " + std::to_string(hi) + "]");
    }
    return v;
}

double readSeconds(const AbstractConfiguration& c, const std::string& key, double fallback) {
    if (!c.has(key)) {
        return fallback;
    }
    std::string text = c.getString(key);
    double v = 0;
    if (!Poco::NumberParser::tryParseFloat(text, v) || v < 0 || v > 86400) {
        throw Poco::InvalidArgumentException(key + " = '" + text +
                                             "': expected seconds between 0 and 86400");
    }
    return v;
}

}  // namespace

bool resolveControlListen(const ServiceConfig& config, const ListenAddress& served,
                          std::optional<ListenAddress>* out, std::string* error) {
    out->reset();
    if (config.control_listen == "off") {
        return true;
    }
    if (config.control_listen == "auto") {
        if (served.kind != ListenAddress::Kind::kUnix) {
            return true;
        }
        ListenAddress control = served;
        const std::string suffix = ".sock";
        const std::string& p = served.path;
        control.path = p.size() > suffix.size() && p.ends_with(suffix)
                           ? p.substr(0, p.size() - suffix.size()) + "-control.sock"
                           : p + ".control";
        *out = control;
        return true;
    }
    ListenAddress control;
    if (!parseListenAddress(config.control_listen, &control, error)) {
        return false;
    }
    if (control.describe() == served.describe()) {
        *error = "must differ from server.listen";
        return false;
    }
    *out = control;
    return true;
}

bool loadServiceConfig(const std::string& ini_path,
                       const std::vector<std::pair<std::string, std::string>>& overrides,
                       ServiceConfig* out, std::string* error) {
    try {
        Poco::AutoPtr<Poco::Util::LayeredConfiguration> conf(
            new Poco::Util::LayeredConfiguration);  // NOLINT: Poco's ref-counted ownership
        Poco::AutoPtr<Poco::Util::MapConfiguration> flags(new Poco::Util::MapConfiguration);
        for (const auto& [key, value] : overrides) {
            flags->setString(key, value);
        }
        conf->add(flags, 0);
        std::string base_dir;
        if (!ini_path.empty()) {
            Poco::AutoPtr<Poco::Util::IniFileConfiguration> ini(
                new Poco::Util::IniFileConfiguration(ini_path));
            conf->add(ini, 10);
            base_dir = Poco::Path(ini_path).makeAbsolute().parent().toString();
        }

        ServiceConfig c;
        c.source = ini_path.empty() ? "built-in defaults" : ini_path;
        std::string listen = conf->getString("server.listen", "unix:/run/predictd/predictd.sock");
        std::string why;
        if (!parseListenAddress(listen, &c.listen, &why)) {
            throw Poco::InvalidArgumentException("server.listen: " + why);
        }
        c.control_listen = conf->getString("server.control_listen", "auto");
        std::optional<ListenAddress> control;
        if (!resolveControlListen(c, c.listen, &control, &why)) {
            throw Poco::InvalidArgumentException("server.control_listen: " + why);
        }
        std::string mode = conf->getString("server.socket_mode", "0660");
        unsigned parsed_mode = 0;
        if (!Poco::NumberParser::tryParseOct(mode, parsed_mode) || parsed_mode > 0777) {
            throw Poco::InvalidArgumentException("server.socket_mode = '" + mode +
                                                 "': expected an octal mode such as 0660");
        }
        c.socket_mode = parsed_mode;
        c.socket_group = conf->getString("server.socket_group", "");
        c.user = conf->getString("server.user", "");
        c.group = conf->getString("server.group", "");
        c.backlog = static_cast<int>(readInt(*conf, "server.backlog", 1024, 1, 65535));
        std::string workers = conf->getString("server.workers", "auto");
        if (workers == "auto") {
            c.workers = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
        } else {
            c.workers = static_cast<int>(readInt(*conf, "server.workers", 1, 1, 1024));
        }
        c.threads_per_worker =
            static_cast<int>(readInt(*conf, "server.threads_per_worker", 1, 1, 256));
        c.graceful_timeout = readSeconds(*conf, "server.graceful_timeout", 30.0);
        c.acceptor_threads = static_cast<int>(readInt(*conf, "server.acceptor_threads", 1, 1, 64));
        c.max_batch_size =
            static_cast<std::size_t>(readInt(*conf, "batching.max_batch_size", 64, 1, 4096));
        c.max_queue_delay_us = readInt(*conf, "batching.max_queue_delay_us", 0, 0, 1'000'000);
        c.timeout = readSeconds(*conf, "server.timeout", 30.0);
        c.max_requests =
            static_cast<std::uint64_t>(readInt(*conf, "server.max_requests", 0, 0, 1LL << 40));
        c.max_requests_jitter = static_cast<std::uint64_t>(
            readInt(*conf, "server.max_requests_jitter", 0, 0, 1LL << 40));

        const std::string pm = conf->getString("pm.pm", "static");
        if (pm == "static") {
            c.pm = ProcessManager::kStatic;
        } else if (pm == "dynamic") {
            c.pm = ProcessManager::kDynamic;
        } else if (pm == "ondemand") {
            c.pm = ProcessManager::kOndemand;
        } else {
            throw Poco::InvalidArgumentException("pm.pm = '" + pm +
                                                 "': expected static, dynamic or ondemand");
        }
        // Spare counts above `workers` are capped at it (they cannot be reached anyway).
        c.min_spare =
            std::min(c.workers, static_cast<int>(readInt(*conf, "pm.min_spare", 1, 0, 1024)));
        c.max_spare =
            std::min(c.workers, static_cast<int>(readInt(*conf, "pm.max_spare", 3, 1, 1024)));
        if (c.min_spare > c.max_spare) {
            throw Poco::InvalidArgumentException("pm.min_spare (" + std::to_string(c.min_spare) +
                                                 ") must not exceed pm.max_spare (" +
                                                 std::to_string(c.max_spare) + ")");
        }
        const std::string start = conf->getString("pm.start_workers", "auto");
        c.start_workers =
            start == "auto" ? std::max(1, c.min_spare + (c.max_spare - c.min_spare) / 2)
                            : static_cast<int>(readInt(*conf, "pm.start_workers", 1, 0, c.workers));
        c.start_workers = std::min(c.start_workers, c.workers);
        c.idle_timeout = readSeconds(*conf, "pm.idle_timeout", 10.0);

        // A relative model path in the ini file is relative to the ini file's directory; on the
        // command line it is relative to the working directory.
        const auto modelPath = [&](const char* key, const std::string& fallback) {
            const std::string value = conf->getString(key, fallback);
            if (value.empty()) {
                return value;
            }
            Poco::Path path(value);
            if (path.isRelative() && !flags->has(key) && !base_dir.empty()) {
                path.makeAbsolute(Poco::Path(base_dir));
            }
            return path.toString();
        };
        c.model_repository = modelPath("model.repository", "/usr/share/predictd/models");
        c.model_path = modelPath("model.path", "");
        c.default_model = conf->getString("model.default", "mnist");
        if (c.default_model.empty() || c.default_model.find('/') != std::string::npos) {
            throw std::invalid_argument("model.default must name a model (no '/')");
        }

        c.limits.max_body_bytes = static_cast<std::size_t>(
            readInt(*conf, "limits.max_body_bytes", 8LL << 20, 1024, 1LL << 30));
        c.limits.max_batch =
            static_cast<std::size_t>(readInt(*conf, "limits.max_batch", 64, 1, 4096));
        c.limits.max_image_pixels = static_cast<std::uint64_t>(
            readInt(*conf, "limits.max_image_pixels", 4096LL * 4096, 784, 1LL << 30));

        c.limits.max_json_depth =
            static_cast<std::size_t>(readInt(*conf, "limits.max_json_depth", 16, 2, 1000));
        c.limits.max_base64_bytes = static_cast<std::size_t>(
            readInt(*conf, "limits.max_base64_bytes", 4LL << 20, 16, 1LL << 30));
        if (conf->has("limits.allowed_formats")) {
            c.limits.allowed_formats.clear();
            Poco::StringTokenizer names(
                conf->getString("limits.allowed_formats"), ",",
                Poco::StringTokenizer::TOK_TRIM | Poco::StringTokenizer::TOK_IGNORE_EMPTY);
            for (const std::string& name : names) {
                if (std::find(kImageFormats.begin(), kImageFormats.end(), name) ==
                    kImageFormats.end()) {
                    throw Poco::InvalidArgumentException(
                        "limits.allowed_formats: unknown format '" + name +
                        "' (known: png, jpeg, bmp, gif, webp, tiff, pnm)");
                }
                c.limits.allowed_formats.push_back(name);
            }
        }

        c.log_level = conf->getString("log.level", "information");
        c.log_file = conf->getString("log.file", "");
        const std::string access = conf->getString("log.access", "on");
        if (access != "on" && access != "off") {
            throw Poco::InvalidArgumentException("log.access = '" + access +
                                                 "': expected on or off");
        }
        c.access_log = access == "on";
        static const char* const kLevels[] = {"fatal",  "critical",    "error", "warning",
                                              "notice", "information", "debug", "trace"};
        if (std::find(std::begin(kLevels), std::end(kLevels), c.log_level) == std::end(kLevels)) {
            throw Poco::InvalidArgumentException("log.level = '" + c.log_level +
                                                 "': expected error, warning, information or "
                                                 "debug");
        }
        *out = std::move(c);
        return true;
    } catch (const Poco::Exception& e) {
        *error = e.displayText();
    } catch (const std::exception& e) {
        *error = e.what();
    }
    return false;
}

}  // namespace predictd
