// service_harness.cpp — starting NGINX and predictd for the integration tests.
#include "service_harness.hpp"

#include <arpa/inet.h>
#include <dirent.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <Poco/Base64Encoder.h>
#include <Poco/Net/HTTPClientSession.h>
#include <Poco/Net/HTTPRequest.h>
#include <Poco/Net/HTTPResponse.h>
#include <Poco/Net/NetException.h>
#include <Poco/StreamCopier.h>
#include <Poco/String.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>

namespace predictd::testing {

std::string sourceDir() {
    return PREDICTD_SOURCE_DIR;
}

std::string makeTempDir() {
    std::string templ = (std::filesystem::temp_directory_path() / "predictd-test-XXXXXX").string();
    if (::mkdtemp(templ.data()) == nullptr) {
        throw std::runtime_error("mkdtemp failed");
    }
    ::chmod(templ.c_str(), 0755);  // NGINX workers run as nobody when the tests run as root
    return templ;
}

NginxCheck checkShippedNginxSite(const std::string& site_path) {
    const std::string dir = makeTempDir();
    std::string site = readFile(site_path);
    const auto replace = [&site](const std::string& from, const std::string& to) {
        if (const auto at = site.find(from); at != std::string::npos) {
            site.replace(at, from.size(), to);
        }
    };
    replace("/etc/nginx/snippets/predictd-locations.conf",
            sourceDir() + "/nginx/predictd-locations.conf");
    for (const std::string name : {"predictd.access.log", "predictd.error.log"}) {
        replace("/var/log/nginx/" + name, dir + "/" + name);
    }
    std::string listen = "listen 127.0.0.1:";
    listen += std::to_string(freeTcpPort());
    listen += ";";
    replace("listen 80;", listen);
    replace("listen [::]:80;", "");
    std::ofstream(dir + "/site.conf") << site;
    std::ofstream(dir + "/nginx.conf")
        << "pid " << dir << "/nginx.pid;\nerror_log stderr;\nevents {}\nhttp {\n"
        << "client_body_temp_path " << dir << "/cb;\nfastcgi_temp_path " << dir << "/fc;\n"
        << "proxy_temp_path " << dir << "/px;\nuwsgi_temp_path " << dir << "/uw;\n"
        << "scgi_temp_path " << dir << "/sc;\ninclude " << dir << "/site.conf;\n}\n";
    NginxCheck result;
    {
        ChildProcess check({"/usr/sbin/nginx", "-t", "-p", dir, "-c", dir + "/nginx.conf"},
                           dir + "/check.log");
        if (const auto status = check.waitExit(std::chrono::seconds(30)); status.has_value()) {
            result.status = *status;
        }
    }
    result.output = readFile(dir + "/check.log");
    std::filesystem::remove_all(dir);
    return result;
}

int freeTcpPort() {
    int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in sa{};
    sa.sin_family = AF_INET;
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    sa.sin_port = 0;
    socklen_t len = sizeof(sa);
    if (::bind(fd, reinterpret_cast<sockaddr*>(&sa), sizeof(sa)) != 0 ||
        ::getsockname(fd, reinterpret_cast<sockaddr*>(&sa), &len) != 0) {
        ::close(fd);
        throw std::runtime_error("cannot find a free port");
    }
    ::close(fd);
    return ntohs(sa.sin_port);
}

std::string readFile(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

std::string base64(const std::string& bytes) {
    std::ostringstream out;
    Poco::Base64Encoder enc(out);
    enc.rdbuf()->setLineLength(0);
    enc << bytes;
    enc.close();
    return out.str();
}

std::string samplePng(int digit) {
    return readFile(sourceDir() + "/tests/data/samples/digit-" + std::to_string(digit) + ".png");
}

std::string predictBody(const std::string& image_bytes) {
    return R"({"image": ")" + base64(image_bytes) + "\"}";
}

Json::Value parseJson(const std::string& text) {
    Json::Value v;
    Json::CharReaderBuilder b;
    std::string errs;
    std::istringstream in(text);
    EXPECT_TRUE(Json::parseFromStream(b, in, &v, &errs)) << text;
    return v;
}

ChildProcess::ChildProcess(const std::vector<std::string>& argv, const std::string& log_path,
                           const std::vector<std::string>& env) {
    std::vector<char*> args;
    for (const auto& a : argv) {
        args.push_back(const_cast<char*>(a.c_str()));
    }
    args.push_back(nullptr);
    pid_ = ::fork();
    if (pid_ == 0) {
        ::setpgid(0, 0);
        int fd = ::open(log_path.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
        ::dup2(fd, 1);
        ::dup2(fd, 2);
        for (const auto& e : env) {
            ::putenv(const_cast<char*>(e.c_str()));
        }
        ::execv(args[0], args.data());
        ::_exit(127);
    }
    if (pid_ < 0) {
        throw std::runtime_error("fork failed");
    }
    ::setpgid(pid_, pid_);
}

ChildProcess::~ChildProcess() {
    if (pid_ > 0 && !status_) {
        ::kill(-pid_, SIGKILL);
        ::kill(pid_, SIGKILL);
        int st = 0;
        ::waitpid(pid_, &st, 0);
    }
}

void ChildProcess::signal(int sig) const {
    ::kill(pid_, sig);
}

std::optional<int> ChildProcess::waitExit(std::chrono::milliseconds timeout) {
    eventually(
        [this] {
            int st = 0;
            if (!status_ && ::waitpid(pid_, &st, WNOHANG) == pid_) {
                status_ = st;
            }
            return status_.has_value();
        },
        timeout);
    return status_;
}

bool ChildProcess::running() {
    return !waitExit(std::chrono::milliseconds(0)).has_value();
}

HttpResult httpRequest(int port, const std::string& method, const std::string& path,
                       const std::string& body, const std::string& content_type,
                       const std::vector<std::pair<std::string, std::string>>& headers) {
    HttpResult result;
    try {
        Poco::Net::HTTPClientSession session("127.0.0.1", static_cast<Poco::UInt16>(port));
        session.setTimeout(Poco::Timespan(30, 0));
        Poco::Net::HTTPRequest req(method, path, Poco::Net::HTTPMessage::HTTP_1_1);
        if (!body.empty() || method == "POST") {
            req.setContentType(content_type);
            req.setContentLength(static_cast<std::streamsize>(body.size()));
        }
        for (const auto& [name, value] : headers) {
            req.set(name, value);
        }
        session.sendRequest(req) << body;
        Poco::Net::HTTPResponse res;
        std::istream& in = session.receiveResponse(res);
        Poco::StreamCopier::copyToString(in, result.body);
        result.status = static_cast<int>(res.getStatus());
        for (const auto& [name, value] : res) {
            result.headers[Poco::toLower(name)] = value;
        }
    } catch (const Poco::Exception& e) {
        result.status = 0;
        result.body = e.displayText();
    }
    return result;
}

std::vector<pid_t> childrenOf(pid_t parent) {
    std::vector<pid_t> out;
    for (const auto& entry : std::filesystem::directory_iterator("/proc")) {
        const std::string name = entry.path().filename().string();
        if (name.find_first_not_of("0123456789") != std::string::npos) {
            continue;
        }
        std::string stat = readFile(entry.path().string() + "/stat");
        auto close = stat.rfind(')');
        if (close == std::string::npos) {
            continue;
        }
        std::istringstream rest(stat.substr(close + 2));
        char state = 0;
        pid_t ppid = 0;
        rest >> state >> ppid;
        if (ppid == parent && state != 'Z') {
            out.push_back(std::stoi(name));
        }
    }
    return out;
}

bool processExists(pid_t pid) {
    std::string stat = readFile("/proc/" + std::to_string(pid) + "/stat");
    if (stat.empty()) {
        return false;
    }
    auto close = stat.rfind(')');
    return close != std::string::npos && close + 2 < stat.size() && stat[close + 2] != 'Z';
}

PredictdService::PredictdService(const Options& options) : dir_(makeTempDir()) {
    const std::string src = sourceDir();
    std::vector<std::string> argv;
    for (const auto& a : options.launcher) {
        argv.push_back(a == "@SOCKET@" ? socketPath() : a);
    }
    argv.push_back(PREDICTD_BINARY);
    if (!options.ini_text.empty()) {
        std::ofstream(iniPath()) << options.ini_text;
        argv.insert(argv.end(), {"--config", iniPath()});
    }
    if (options.listen_flag) {
        argv.insert(argv.end(), {"--listen", "unix:" + socketPath(), "--socket-mode", "0666"});
    }
    argv.insert(argv.end(), {"--workers", std::to_string(options.workers)});
    if (!options.model_repository.empty()) {
        argv.insert(argv.end(), {"--model-repository", options.model_repository});
    } else if (options.ini_text.empty() || !options.model.empty()) {
        argv.insert(
            argv.end(),
            {"--model", options.model.empty() ? src + "/model/mnist/1/model.onnx" : options.model});
    }
    argv.insert(argv.end(), options.extra_args.begin(), options.extra_args.end());
    predictd_storage_.emplace(argv, dir_ + "/predictd.log", options.env);
    predictd_ = &*predictd_storage_;

    if (options.with_nginx) {
        port_ = freeTcpPort();
        std::string conf = readFile(src + "/nginx/predictd-dev.conf.in");
        auto replace = [&conf](const std::string& from, const std::string& to) {
            for (auto pos = conf.find(from); pos != std::string::npos; pos = conf.find(from)) {
                conf.replace(pos, from.size(), to);
            }
        };
        replace("@PREFIX@", dir_);
        replace("@LISTEN@", "127.0.0.1:" + std::to_string(port_));
        replace("@CONTROL_SOCKET@", dir_ + "/predictd-control.sock");
        replace("@SOCKET@", socketPath());
        replace("@SOURCE_DIR@", src);
        replace("worker_processes auto;", "worker_processes 1;");
        if (!options.nginx_edits.empty()) {  // the shared locations file, edited, as a copy
            std::string locations = readFile(src + "/nginx/predictd-locations.conf");
            for (const auto& [from, to] : options.nginx_edits) {
                for (auto pos = locations.find(from); pos != std::string::npos;
                     pos = locations.find(from, pos + to.size())) {
                    locations.replace(pos, from.size(), to);
                }
            }
            std::ofstream(dir_ + "/predictd-locations.conf") << locations;
            replace(src + "/nginx/predictd-locations.conf", dir_ + "/predictd-locations.conf");
        }
        std::ofstream(dir_ + "/nginx.conf") << conf;
        nginx_storage_.emplace(std::vector<std::string>{"/usr/sbin/nginx", "-e", "stderr", "-p",
                                                        dir_, "-c", dir_ + "/nginx.conf"},
                               dir_ + "/nginx.log");
    }
}

PredictdService::~PredictdService() {
    if (predictd_ != nullptr && predictd_->running()) {
        predictd_->signal(SIGTERM);
        predictd_->waitExit(std::chrono::seconds(10));
    }
    nginx_storage_.reset();
    predictd_storage_.reset();
    if (std::getenv("PREDICTD_KEEP_TEST_DIRS") == nullptr) {
        std::error_code ec;
        std::filesystem::remove_all(dir_, ec);
    }
}

int PredictdService::predictDigit(int digit) const {
    HttpResult r = post("/predict", predictBody(samplePng(digit)));
    if (r.status != 200) {
        return -r.status;
    }
    return parseJson(r.body)["prediction"].asInt();
}

Json::Value statusOf(const PredictdService& s, bool full) {
    HttpResult r = s.status(full);
    EXPECT_EQ(r.status, 200) << r.body;
    return parseJson(r.body);
}

rlim_t raiseOpenFileLimit(rlim_t want) {
    rlimit lim{};
    if (::getrlimit(RLIMIT_NOFILE, &lim) != 0) {
        return 0;
    }
    if (lim.rlim_cur < want) {
        lim.rlim_cur = lim.rlim_max == RLIM_INFINITY ? want : std::min(want, lim.rlim_max);
        ::setrlimit(RLIMIT_NOFILE, &lim);
        ::getrlimit(RLIMIT_NOFILE, &lim);
    }
    return lim.rlim_cur;
}

bool PredictdService::waitReady(std::chrono::milliseconds timeout) {
    // Ready = one worker answers, and none is still booting (so counts in /status are settled).
    return eventually(
        [this] {
            if (port_ == 0 || get("/ready").status != 200) {
                return false;
            }
            HttpResult st = get("/status");
            return st.status == 200 && st.body.find("\"booting_processes\":0") != std::string::npos;
        },
        timeout);
}

}  // namespace predictd::testing
