// http_transport.hpp — how predictd-score reaches its servers: the base URLs (round-robin,
// skipping a host that is failing for a cool-down that grows while it keeps failing) and, per
// concurrent slot, one keep-alive Poco HTTPClientSession per host.
//
// Owns connections, timeouts and host health. It does not retry (retry_policy and the scorer
// decide that), except once at once when a kept-alive connection turns out closed by the server.
#pragma once

#include <chrono>
#include <cstddef>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "http_exchange.hpp"

namespace Poco::Net {
class HTTPClientSession;
}

namespace predictd::score {

struct BaseUrl {
    std::string text;  // as given
    std::string host;
    unsigned short port = 80;
    std::string path;  // prefix without a trailing '/': "" or "/scoring"
};

// http://host[:port][/prefix]; nullopt (and `error`) for anything else (https is not built in).
std::optional<BaseUrl> parseBaseUrl(const std::string& text, std::string& error);

class HostPool {
  public:
    using Clock = std::chrono::steady_clock;
    explicit HostPool(std::vector<BaseUrl> hosts);

    [[nodiscard]] std::size_t size() const { return hosts_.size(); }
    [[nodiscard]] const BaseUrl& host(std::size_t i) const { return hosts_[i]; }
    // The next host in turn that is not cooling down; when all are, the one that is ready first.
    std::size_t pick(Clock::time_point now = Clock::now());
    // Whether some host is not cooling down.
    bool anyHealthy(Clock::time_point now = Clock::now());
    // A host that failed (no answer, 502, 504) cools down 0.5 s, doubling with each failure in a
    // row up to 30 s; one success ends it.
    void failed(std::size_t i, Clock::time_point now = Clock::now());
    void succeeded(std::size_t i);

  private:
    struct Health {
        Clock::time_point down_until{};
        int failures = 0;
    };
    std::vector<BaseUrl> hosts_;
    std::mutex mutex_;
    std::vector<Health> health_;
    std::size_t next_ = 0;
};

// One concurrent slot's connections: used by one thread at a time.
class SlotTransport {
  public:
    SlotTransport(const HostPool& hosts, std::chrono::seconds timeout);
    ~SlotTransport();
    SlotTransport(const SlotTransport&) = delete;
    SlotTransport& operator=(const SlotTransport&) = delete;

    HttpReply send(std::size_t host, const HttpCall& call);

  private:
    HttpReply sendOnce(Poco::Net::HTTPClientSession& session, const BaseUrl& base,
                       const HttpCall& call);
    const HostPool& hosts_;
    std::chrono::seconds timeout_;
    std::vector<std::unique_ptr<Poco::Net::HTTPClientSession>> sessions_;
};

}  // namespace predictd::score
