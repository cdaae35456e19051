// netns_hosts.cpp — building and removing the test's network namespaces (see netns_hosts.hpp).
#include "netns_hosts.hpp"

#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <unistd.h>

#include <Poco/Pipe.h>
#include <Poco/PipeStream.h>
#include <Poco/Process.h>
#include <Poco/StreamCopier.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <stdexcept>

namespace predictd::testing {
namespace {

// A private /24 that exists only inside the namespaces built here (no route leads out of them).
constexpr const char* kSubnet = "10.77.0.";

std::string ipBinary() {
    for (const char* path : {"/usr/sbin/ip", "/sbin/ip", "/usr/bin/ip", "/bin/ip"}) {
        if (::access(path, X_OK) == 0) {
            return path;
        }
    }
    return "";
}

struct Command {
    int status = -1;
    std::string output;
};

// Runs `ip args…`, stdout and stderr together.
Command ip(const std::vector<std::string>& args) {
    Command c;
    const std::string binary = ipBinary();
    if (binary.empty()) {
        c.output = "no ip binary";
        return c;
    }
    Poco::Pipe out;
    Poco::ProcessHandle handle = Poco::Process::launch(binary, args, nullptr, &out, &out);
    Poco::PipeInputStream in(out);
    Poco::StreamCopier::copyToString(in, c.output);
    c.status = handle.wait();
    return c;
}

void mustIp(const std::vector<std::string>& args) {
    Command c = ip(args);
    if (c.status != 0) {
        std::string line = "ip";
        for (const auto& a : args) {
            line += " " + a;
        }
        throw std::runtime_error(line + " failed: " + c.output);
    }
}

std::string uniquePrefix() {
    static std::atomic<int> counter{0};
    std::string name = "predictd-";  // appended piece by piece: GCC 12's -Wrestrict (README)
    name += std::to_string(::getpid());
    name += '-';
    name += std::to_string(counter++);
    return name;
}

// Namespaces left by a run that was killed before its destructors ran (a CTest timeout): named
// predictd-<pid>-…, removed here when that pid no longer runs.
void removeStale() {
    std::error_code ec;
    for (const auto& entry : std::filesystem::directory_iterator("/run/netns", ec)) {
        const std::string name = entry.path().filename().string();
        if (name.rfind("predictd-", 0) != 0) {
            continue;
        }
        const pid_t pid = static_cast<pid_t>(std::atol(name.c_str() + 9));
        if (pid > 0 && pid != ::getpid() && ::kill(pid, 0) != 0 && errno == ESRCH) {
            ip({"netns", "delete", name});
        }
    }
}

}  // namespace

std::string NetnsHosts::unavailable() {
    if (::geteuid() != 0) {
        return "needs root: it builds hosts from network namespaces and veth pairs (ip netns add, "
               "ip link add), which only root may do; CI runs the tests as root";
    }
    if (ipBinary().empty()) {
        return "needs the `ip` command (Debian package iproute2) to build network namespaces";
    }
    const std::string probe = uniquePrefix() + "-probe";
    Command add = ip({"netns", "add", probe});
    if (add.status != 0) {
        return "this kernel or container does not let us create a network namespace (ip netns "
               "add: " +
               add.output + ")";
    }
    Command bridge = ip({"-n", probe, "link", "add", "br0", "type", "bridge"});
    ip({"netns", "delete", probe});
    if (bridge.status != 0) {
        return "no bridge support in this kernel or container (ip link add type bridge: " +
               bridge.output + ")";
    }
    return "";
}

NetnsHosts::NetnsHosts(const std::vector<std::string>& hosts)
    : prefix_(uniquePrefix()), hub_(prefix_ + "-hub"), hosts_(hosts) {
    removeStale();
    try {
        mustIp({"netns", "add", hub_});
        created_.push_back(hub_);
        mustIp({"-n", hub_, "link", "set", "lo", "up"});
        mustIp({"-n", hub_, "link", "add", "br0", "type", "bridge"});
        mustIp({"-n", hub_, "addr", "add", hubAddress() + "/24", "dev", "br0"});
        mustIp({"-n", hub_, "link", "set", "br0", "up"});
        for (std::size_t i = 0; i < hosts_.size(); ++i) {
            const std::string ns = namespaceOf(hosts_[i]);
            std::string port = "v";  // the hub's end, on the bridge
            port += std::to_string(i);
            mustIp({"netns", "add", ns});
            created_.push_back(ns);
            mustIp({"-n", ns, "link", "set", "lo", "up"});
            mustIp({"-n", hub_, "link", "add", port, "type", "veth", "peer", "name", "eth0",
                    "netns", ns});
            mustIp({"-n", hub_, "link", "set", port, "master", "br0"});
            mustIp({"-n", hub_, "link", "set", port, "up"});
            mustIp({"-n", ns, "addr", "add", addressOf(hosts_[i]) + "/24", "dev", "eth0"});
            mustIp({"-n", ns, "link", "set", "eth0", "up"});
        }
    } catch (...) {
        removeAll();
        throw;
    }
}

NetnsHosts::~NetnsHosts() {
    removeAll();
}

void NetnsHosts::removeAll() noexcept {
    try {
        for (auto it = created_.rbegin(); it != created_.rend(); ++it) {
            ip({"netns", "delete", *it});  // takes its veth ends (and so the pairs) with it
        }
    } catch (...) {  // a destructor must not throw; a leftover is named in the next run's list
    }
    created_.clear();
}

std::string NetnsHosts::hubAddress() const {
    return std::string(kSubnet) + "1";
}

std::size_t NetnsHosts::indexOf(const std::string& host) const {
    const auto it = std::find(hosts_.begin(), hosts_.end(), host);
    if (it == hosts_.end()) {
        throw std::invalid_argument("no test host named " + host);
    }
    return static_cast<std::size_t>(it - hosts_.begin());
}

std::string NetnsHosts::namespaceOf(const std::string& host) const {
    return host.empty() ? hub_ : prefix_ + "-" + std::to_string(indexOf(host));
}

std::string NetnsHosts::addressOf(const std::string& host) const {
    if (host.empty()) {
        return hubAddress();
    }
    std::string address = kSubnet;
    address += std::to_string(11 + indexOf(host));
    return address;
}

std::vector<std::string> NetnsHosts::exec(const std::string& host) const {
    return {ipBinary(), "netns", "exec", namespaceOf(host)};
}

NetnsScope::NetnsScope(const std::string& name) {
    original_ = ::open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
    const int target = ::open(("/run/netns/" + name).c_str(), O_RDONLY | O_CLOEXEC);
    const bool ok = original_ >= 0 && target >= 0 && ::setns(target, CLONE_NEWNET) == 0;
    const int saved = errno;
    if (target >= 0) {
        ::close(target);
    }
    if (!ok) {
        if (original_ >= 0) {
            ::close(original_);
        }
        throw std::runtime_error("cannot enter network namespace " + name + ": " +
                                 std::strerror(saved));
    }
}

NetnsScope::~NetnsScope() {
    ::setns(original_, CLONE_NEWNET);
    ::close(original_);
}

}  // namespace predictd::testing
