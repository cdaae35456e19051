// main.cpp — the predictd command: flags, configuration, logging, socket, then the supervisor.
#include <Poco/Logger.h>
#include <opencv2/imgcodecs.hpp>

#include <systemd/sd-daemon.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <iostream>
#include <string>
#include <vector>

#include "models/model_repository.hpp"
#include "ops/service_config.hpp"
#include "ops/service_log.hpp"
#include "process/listen_socket.hpp"
#include "process/privileges.hpp"
#include "process/supervisor.hpp"

namespace {

void printUsage() {
    std::cout << "usage: predictd [--config FILE] [flags]\n\n"
                 "Serves ONNX image-model predictions over FastCGI with prefork workers (see "
                 "README.md).\n\n"
                 "  --config FILE          settings file (predictd.ini); flags override it\n"
                 "  --check-config         validate the settings, print them and exit\n"
                 "  --version              print the version and exit\n";
    for (const auto& s : predictd::settingsTable()) {
        std::string name = std::string(s.flag) + " VALUE";
        name.resize(std::max<std::size_t>(name.size() + 1, 23), ' ');
        std::cout << "  " << name << s.help << " (" << (*s.fallback ? s.fallback : "empty")
                  << ")  [" << s.key << "]\n";
    }
}

// Encodes and decodes a 1x1 PNG: builds the (static) encoder/decoder lists of imgcodecs.
void warmUpImageCodecs() {
    std::vector<uchar> png;
    cv::imencode(".png", cv::Mat(1, 1, CV_8UC1, cv::Scalar(0)), png);
    (void)cv::imdecode(png, cv::IMREAD_UNCHANGED);
}

}  // namespace

int main(int argc, char** argv) {
    using predictd::kExitConfig;
    std::string config_path;
    bool check_only = false;
    std::vector<std::pair<std::string, std::string>> overrides;

    for (int i = 1; i < argc; ++i) {
        std::string arg = argv[i];
        std::string value;
        bool has_value = false;
        if (auto eq = arg.find('='); arg.rfind("--", 0) == 0 && eq != std::string::npos) {
            value = arg.substr(eq + 1);
            arg = arg.substr(0, eq);
            has_value = true;
        }
        auto takeValue = [&]() -> bool {
            if (has_value) {
                return true;
            }
            if (i + 1 >= argc) {
                std::cerr << "predictd: " << arg << " needs a value\n";
                return false;
            }
            value = argv[++i];
            return true;
        };
        if (arg == "--help" || arg == "-h") {
            printUsage();
            return 0;
        }
        if (arg == "--version") {
            std::cout << "predictd " PREDICTD_VERSION "\n";
            return 0;
        }
        if (arg == "--check-config") {
            check_only = true;
            continue;
        }
        if (arg == "--config" || arg == "-c") {
            if (!takeValue()) {
                return kExitConfig;
            }
            config_path = value;
            continue;
        }
        const auto& flags = predictd::settingsTable();
        auto it = std::find_if(flags.begin(), flags.end(),
                               [&](const predictd::Setting& f) { return arg == f.flag; });
        if (it == flags.end()) {
            std::cerr << "predictd: unknown option '" << arg << "' (see --help)\n";
            return kExitConfig;
        }
        if (!takeValue()) {
            return kExitConfig;
        }
        overrides.emplace_back(it->key, value);
    }

    predictd::ServiceConfig config;
    std::string error;
    if (!predictd::loadServiceConfig(config_path, overrides, &config, &error)) {
        std::cerr << "predictd: configuration error: " << error << "\n";
        return kExitConfig;
    }
    if (check_only) {
        std::vector<std::string> problems;
        const auto files = predictd::listVersionFiles(config.modelSource(), &problems);
        if (!files.ok()) {
            std::cerr << "predictd: " << files.error().message << "\n";
            return predictd::kExitModel;
        }
        for (const auto& p : problems) {
            std::cerr << "predictd: warning: " << p << " (not served)\n";
        }
        for (const auto& setting : predictd::settingsTable()) {
            std::cout << setting.key << " = " << setting.show(config) << "\n";
        }
        for (const auto& f : files.value()) {
            std::cout << "model " << f.model << " version " << f.version << " = " << f.path << "\n";
        }
        return 0;
    }
    try {
        predictd::setUpLogging(
            config.log_level, config.log_file, config.access_log_buffer,
            std::chrono::milliseconds(static_cast<long long>(config.access_log_flush * 1000)));
    } catch (const std::exception& e) {
        std::cerr << "predictd: cannot open log file " << config.log_file << ": " << e.what()
                  << "\n";
        return kExitConfig;
    }
    Poco::Logger& log = Poco::Logger::get("supervisor");

    // Fail fast with a clear message rather than forking workers that cannot load anything.
    if (!config.model_path.empty() && ::access(config.model_path.c_str(), R_OK) != 0) {
        log.fatal("model file " + config.model_path + " is not readable: " + std::strerror(errno));
        return predictd::kExitModel;
    }
    std::vector<std::string> problems;
    if (const auto files = predictd::listVersionFiles(config.modelSource(), &problems);
        !files.ok()) {
        log.fatal(files.error().message);
        return predictd::kExitModel;
    }
    for (const auto& p : problems) {
        log.warning(p + " (not served)");
    }
    // systemd socket activation (predictd.socket): the socket is already bound and listening,
    // and stays open across restarts of the service, so no connection is ever refused.
    const int passed = sd_listen_fds(1);
    if (passed > 1) {
        log.fatal("systemd passed " + std::to_string(passed) + " sockets; predictd uses one");
        return kExitConfig;
    }
    predictd::ListenSocket socket =
        passed == 1 ? predictd::ListenSocket::adopt(SD_LISTEN_FDS_START, &error)
                    : predictd::ListenSocket::open(config.listen, config.backlog,
                                                   config.socket_mode, config.socket_group, &error);
    if (!socket.valid()) {
        log.fatal("cannot listen on " + config.listen.describe() + ": " + error);
        return kExitConfig;
    }
    config.listen = socket.address();  // what is really served, for logs and reload checks
    // The control socket: monitoring that never waits behind queued predictions. predictd binds
    // it itself, also under socket activation (predictd.socket passes only the main socket).
    std::optional<predictd::ListenAddress> control_address;
    if (!predictd::resolveControlListen(config, config.listen, &control_address, &error)) {
        log.fatal("server.control_listen: " + error);
        return kExitConfig;
    }
    predictd::ListenSocket control;
    if (control_address) {
        control = predictd::ListenSocket::open(*control_address, config.backlog, config.socket_mode,
                                               config.socket_group, &error);
        if (!control.valid()) {
            log.fatal("cannot listen on " + control_address->describe() + ": " + error);
            return kExitConfig;
        }
    }
    predictd::disableCoreDumps();
    if (!predictd::dropPrivileges(config.user, config.group, &error)) {
        log.fatal(error);
        return kExitConfig;
    }
    // Initialise OpenCV's codec registry once here, before fork: every worker inherits it
    // (shared copy-on-write pages) instead of paying for it on its first request.
    warmUpImageCodecs();
    try {
        predictd::Supervisor supervisor(std::move(config), config_path, std::move(overrides),
                                        std::move(socket), std::move(control));
        return supervisor.run();
    } catch (const std::exception& e) {
        log.fatal(std::string("supervisor failed: ") + e.what());
        return 1;
    }
}
