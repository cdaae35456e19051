// service_harness.hpp — real NGINX + real predictd on a free loopback port, for the tests.
//
// Owns a private temp directory (socket, NGINX prefix, logs), the two processes (each in its own
// process group, killed on destruction whatever happens), and a small HTTP client. NGINX runs
// from the repository's own nginx/predictd-dev.conf.in, so the tests exercise the shipped config.
#pragma once

#include <sys/resource.h>
#include <sys/types.h>
#include <unistd.h>

#include <json/json.h>

#include <chrono>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace predictd::testing {

// A child process started with fork/exec; stdout+stderr go to `log_path`.
class ChildProcess {
  public:
    // `env` entries ("NAME=value") are added to the child's environment.
    ChildProcess(const std::vector<std::string>& argv, const std::string& log_path,
                 const std::vector<std::string>& env = {});
    ~ChildProcess();  // SIGKILLs the process group if still running
    ChildProcess(const ChildProcess&) = delete;
    ChildProcess& operator=(const ChildProcess&) = delete;

    [[nodiscard]] pid_t pid() const { return pid_; }
    void signal(int sig) const;
    // Waits up to `timeout` for exit; returns the waitpid status, or nullopt if still running.
    std::optional<int> waitExit(std::chrono::milliseconds timeout);
    [[nodiscard]] bool running();

  private:
    pid_t pid_ = -1;
    std::optional<int> status_;
};

struct HttpResult {
    int status = 0;  // 0: no HTTP answer at all (connection failed)
    std::string body;
    std::map<std::string, std::string> headers;  // lower-case names
};

// `headers`: more request headers (name, value), e.g. Inference-Header-Content-Length.
HttpResult httpRequest(int port, const std::string& method, const std::string& path,
                       const std::string& body = "",
                       const std::string& content_type = "application/json",
                       const std::vector<std::pair<std::string, std::string>>& headers = {});

std::string readFile(const std::string& path);
std::string base64(const std::string& bytes);
std::string samplePng(int digit);                         // tests/data/samples/digit-N.png
std::string predictBody(const std::string& image_bytes);  // {"image": "<b64>"}
// Parses a JSON body (a gtest failure, and a null value, if it is not JSON).
Json::Value parseJson(const std::string& text);

// Child pids of `parent` (from /proc).
std::vector<pid_t> childrenOf(pid_t parent);
bool processExists(pid_t pid);
// Polls `pred` every 20 ms until true or the timeout passes.
template <typename Pred>
bool eventually(Pred pred, std::chrono::milliseconds timeout) {
    auto end = std::chrono::steady_clock::now() + timeout;
    while (std::chrono::steady_clock::now() < end) {
        if (pred()) {
            return true;
        }
        ::usleep(20'000);
    }
    return pred();
}

class PredictdService {
  public:
    struct Options {
        int workers = 2;
        std::string model;                    // default: model/mnist/1/model.onnx
        std::string model_repository;         // if set: --model-repository instead of --model
        std::vector<std::string> extra_args;  // more predictd flags
        std::string ini_text;                 // if set, written to predictd.ini and used
        bool with_nginx = true;
        std::vector<std::string> env;       // extra environment, "NAME=value"
        std::vector<std::string> launcher;  // argv prefix; "@SOCKET@" = socketPath()
        bool listen_flag = true;            // pass --listen unix:<dir>/predictd.sock
        std::vector<std::pair<std::string, std::string>> nginx_edits;  // text replacements
    };
    explicit PredictdService(const Options& options);
    PredictdService() : PredictdService(Options{}) {}
    ~PredictdService();
    PredictdService(const PredictdService&) = delete;
    PredictdService& operator=(const PredictdService&) = delete;

    bool waitReady(std::chrono::milliseconds timeout = std::chrono::seconds(30));
    HttpResult get(const std::string& path) const { return httpRequest(port_, "GET", path); }
    HttpResult post(const std::string& path, const std::string& body,
                    const std::string& type = "application/json") const {
        return httpRequest(port_, "POST", path, body, type);
    }
    [[nodiscard]] int port() const { return port_; }
    [[nodiscard]] const std::string& dir() const { return dir_; }
    [[nodiscard]] std::string socketPath() const { return dir_ + "/predictd.sock"; }
    [[nodiscard]] std::string iniPath() const { return dir_ + "/predictd.ini"; }
    [[nodiscard]] std::string predictdLog() const { return readFile(dir_ + "/predictd.log"); }
    ChildProcess& supervisor() { return *predictd_; }
    std::vector<pid_t> workers() const { return childrenOf(predictd_->pid()); }
    // POST /predict with sample digit `digit`: the predicted label, or -status on an error.
    int predictDigit(int digit) const;
    // GET /status?full through NGINX, parsed fields by name ("" when absent).
    HttpResult status(bool full = false) const { return get(full ? "/status?full" : "/status"); }

  private:
    std::string dir_;
    int port_ = 0;
    std::optional<ChildProcess> nginx_storage_;
    std::optional<ChildProcess> predictd_storage_;
    ChildProcess* predictd_ = nullptr;
};

// GET /status (or /status?full) through NGINX, parsed; a gtest failure if it is not a 200.
Json::Value statusOf(const PredictdService& s, bool full = false);

// Raises this process's open-file soft limit towards `want` (at most the hard limit) and returns
// it. NGINX and predictd started afterwards inherit it: load tests need it for their sockets.
rlim_t raiseOpenFileLimit(rlim_t want);

int freeTcpPort();
std::string makeTempDir();
std::string sourceDir();

// `nginx -t` on a shipped site file (`site_path`, written for Debian: the snippet in
// /etc/nginx/snippets, logs in /var/log/nginx, port 80) moved into a temp dir: the snippet taken
// from the repository, logs and temp paths in the dir, a free loopback port, under a minimal
// main config that includes the site as Debian's does. `status` -1: nginx did not finish.
struct NginxCheck {
    int status = -1;
    std::string output;
};
NginxCheck checkShippedNginxSite(const std::string& site_path);

}  // namespace predictd::testing
