// open_loop_load.cpp — the open-loop generator: schedule, connection pool, response framing.
//
// Hand-written rather than taken from a library: the kept libraries (Poco's HTTPClientSession)
// are blocking, one request per thread; an open loop at thousands of requests per second with a
// thousand requests in flight needs one non-blocking event loop that sends on time whatever the
// server does.
#include "open_loop_load.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <stdexcept>
#include <unordered_map>

namespace predictd::load {
namespace {

using Clock = std::chrono::steady_clock;

std::uint32_t micros(Clock::duration d) {
    const auto us = std::chrono::duration_cast<std::chrono::microseconds>(d).count();
    return static_cast<std::uint32_t>(std::clamp<long long>(us, 0, UINT32_MAX));
}

bool startsWithNoCase(std::string_view text, std::string_view prefix) {
    if (text.size() < prefix.size()) {
        return false;
    }
    for (std::size_t i = 0; i < prefix.size(); ++i) {
        const auto lower = [](char c) { return (c >= 'A' && c <= 'Z') ? char(c - 'A' + 'a') : c; };
        if (lower(text[i]) != lower(prefix[i])) {
            return false;
        }
    }
    return true;
}

// An HTTP/1.1 answer being read: complete once the head and Content-Length bytes are in.
struct ResponseFrame {
    int status = 0;
    std::size_t body_start = 0;
    long long content_length = -1;  // -1: none given, the body runs to the connection's end
    bool close = false;

    // Parses the head once it is complete; false while it is still incomplete.
    bool parseHead(const std::string& in) {
        const auto end = in.find("\r\n\r\n");
        if (end == std::string::npos) {
            return false;
        }
        body_start = end + 4;
        status = (in.size() > 12 && in.compare(0, 5, "HTTP/") == 0) ? std::atoi(in.c_str() + 9) : 0;
        close = in.compare(0, 8, "HTTP/1.0") == 0;
        std::size_t pos = in.find("\r\n");
        while (pos < end) {
            const std::size_t next = in.find("\r\n", pos + 2);
            const std::string_view line(in.data() + pos + 2, next - pos - 2);
            if (startsWithNoCase(line, "content-length:")) {
                content_length = std::atoll(std::string(line.substr(15)).c_str());
            } else if (startsWithNoCase(line, "connection:")) {
                close = line.find("close") != std::string_view::npos;
            }
            pos = next;
        }
        return true;
    }
    [[nodiscard]] bool complete(const std::string& in) const {
        return content_length >= 0 &&
               in.size() >= body_start + static_cast<std::size_t>(content_length);
    }
};

// "prediction":N in a 200 answer equals `expected` (or nothing to check).
bool labelMatches(const std::string& in, std::size_t body_start, int expected) {
    if (expected < 0) {
        return true;
    }
    constexpr std::string_view kKey = "\"prediction\":";
    const auto at = in.find(kKey, body_start);
    return at != std::string::npos && std::atoi(in.c_str() + at + kKey.size()) == expected;
}

class LoadRun {
  public:
    explicit LoadRun(const LoadOptions& options) : options_(options) {
        if (options_.requests.empty()) {
            throw std::runtime_error("open-loop load: no requests to send");
        }
        epoll_ = ::epoll_create1(EPOLL_CLOEXEC);
        if (epoll_ < 0) {
            throw std::runtime_error(std::string("epoll_create1: ") + std::strerror(errno));
        }
        address_.sin_family = AF_INET;
        address_.sin_port = htons(static_cast<std::uint16_t>(options_.port));
        address_.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    }
    ~LoadRun() {
        for (const auto& [fd, conn] : connections_) {
            ::close(fd);
        }
        ::close(epoll_);
    }
    LoadRun(const LoadRun&) = delete;
    LoadRun& operator=(const LoadRun&) = delete;

    LoadResult run();

  private:
    enum class State { kIdle, kConnecting, kWriting, kReading };
    struct Connection {
        State state = State::kIdle;
        bool reused = false;   // the current request is not this connection's first
        bool retried = false;  // the current request was already re-sent once
        std::size_t request = 0;
        Clock::time_point scheduled;
        std::size_t written = 0;
        std::string in;
        ResponseFrame frame;
        bool head_parsed = false;
    };

    void startRequest(Clock::time_point scheduled, std::size_t request, bool retried);
    void send(int fd, Connection& conn);
    void onEvent(int fd, std::uint32_t events);
    void onReadable(int fd, Connection& conn);
    void onClosed(int fd, Connection& conn);
    void finish(int fd, Connection& conn, int status, bool timed_out = false);
    void closeConnection(int fd);
    void watch(int fd, std::uint32_t events, bool add = false) const;
    void expireTimeouts(Clock::time_point now, bool all = false);
    [[nodiscard]] std::size_t inFlight() const { return connections_.size() - idle_.size(); }

    const LoadOptions& options_;
    int epoll_ = -1;
    sockaddr_in address_{};
    std::unordered_map<int, Connection> connections_;
    std::vector<int> idle_;  // kept-alive connections ready for a request (a stack)
    Clock::time_point start_;
    Clock::time_point last_answer_;
    std::size_t next_request_ = 0;
    bool closed_loop_ = false;
    bool accepting_ = true;  // closed loop: still before the end of the run
    LoadResult result_;
};

void LoadRun::watch(int fd, std::uint32_t events, bool add) const {
    epoll_event ev{};
    ev.events = events | EPOLLRDHUP;
    ev.data.fd = fd;
    ::epoll_ctl(epoll_, add ? EPOLL_CTL_ADD : EPOLL_CTL_MOD, fd, &ev);
}

void LoadRun::closeConnection(int fd) {
    ::epoll_ctl(epoll_, EPOLL_CTL_DEL, fd, nullptr);
    ::close(fd);
    connections_.erase(fd);
    idle_.erase(std::remove(idle_.begin(), idle_.end(), fd), idle_.end());
}

void LoadRun::startRequest(Clock::time_point scheduled, std::size_t request, bool retried) {
    int fd = -1;
    if (!idle_.empty()) {
        fd = idle_.back();
        idle_.pop_back();
    } else {
        fd = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        if (fd < 0) {
            ++result_.connect_errors;
            result_.samples.push_back({micros(scheduled - start_), 0, 0, true, false});
            return;
        }
        const int one = 1;
        ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
        const int rc =
            ::connect(fd, reinterpret_cast<const sockaddr*>(&address_), sizeof(address_));
        if (rc != 0 && errno != EINPROGRESS) {
            ::close(fd);
            ++result_.connect_errors;
            result_.samples.push_back({micros(scheduled - start_), 0, 0, true, false});
            return;
        }
        Connection fresh;
        fresh.state = rc == 0 ? State::kWriting : State::kConnecting;
        connections_.emplace(fd, std::move(fresh));
        watch(fd, EPOLLOUT, true);
    }
    Connection& conn = connections_.at(fd);
    conn.reused = conn.state == State::kIdle;
    if (conn.reused) {
        conn.state = State::kWriting;
    }
    conn.retried = retried;
    conn.request = request;
    conn.scheduled = scheduled;
    conn.written = 0;
    conn.in.clear();
    conn.head_parsed = false;
    conn.frame = ResponseFrame{};
    if (conn.state == State::kWriting) {
        send(fd, conn);
    }
}

void LoadRun::send(int fd, Connection& conn) {
    const std::string& bytes = options_.requests[conn.request].bytes;
    while (conn.written < bytes.size()) {
        const ssize_t n =
            ::send(fd, bytes.data() + conn.written, bytes.size() - conn.written, MSG_NOSIGNAL);
        if (n > 0) {
            conn.written += static_cast<std::size_t>(n);
        } else if (n < 0 && errno == EINTR) {
            continue;
        } else if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            conn.state = State::kWriting;
            watch(fd, EPOLLOUT);
            return;
        } else {  // EPIPE/ECONNRESET: the server closed the connection under us
            onClosed(fd, conn);
            return;
        }
    }
    conn.state = State::kReading;
    watch(fd, EPOLLIN);
}

void LoadRun::finish(int fd, Connection& conn, int status, bool timed_out) {
    const auto now = Clock::now();
    LoadSample s;
    s.scheduled_us = micros(conn.scheduled - start_);
    s.latency_us = micros(now - conn.scheduled);
    s.status = static_cast<std::uint16_t>(status);
    s.timed_out = timed_out;
    s.label_ok = status != 200 || labelMatches(conn.in, conn.frame.body_start,
                                               options_.requests[conn.request].expected_label);
    result_.samples.push_back(s);
    last_answer_ = now;
    if (status == 0 || conn.frame.close) {
        closeConnection(fd);
    } else {
        conn.state = State::kIdle;
        conn.in.clear();
        watch(fd, EPOLLIN);
        idle_.push_back(fd);
    }
    if (closed_loop_ && accepting_) {
        startRequest(now, next_request_++ % options_.requests.size(), false);
    }
}

void LoadRun::onClosed(int fd, Connection& conn) {
    // An idle connection the server closed just leaves the pool. A request on a reused
    // connection that got no byte back is re-sent once on a fresh one (the server closed a
    // kept-alive connection as we used it; any HTTP client retries that).
    if (conn.state == State::kIdle) {
        closeConnection(fd);
        return;
    }
    if (conn.head_parsed && conn.frame.content_length < 0) {  // the body ran to the end
        finish(fd, conn, conn.frame.status);
        return;
    }
    if (conn.in.empty() && conn.reused && !conn.retried) {
        const auto scheduled = conn.scheduled;
        const auto request = conn.request;
        closeConnection(fd);
        ++result_.retried;
        startRequest(scheduled, request, true);
        return;
    }
    ++(conn.in.empty() ? result_.closed_before_answer : result_.closed_mid_answer);
    finish(fd, conn, 0);
}

void LoadRun::onReadable(int fd, Connection& conn) {
    std::array<char, 16384> buf{};
    bool eof = false;  // an answer and the server's close often arrive together: parse first
    for (;;) {
        const ssize_t n = ::recv(fd, buf.data(), buf.size(), 0);
        if (n > 0) {
            conn.in.append(buf.data(), static_cast<std::size_t>(n));
            continue;
        }
        if (n < 0 && errno == EINTR) {
            continue;
        }
        eof = !(n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK));
        break;
    }
    if (conn.state == State::kIdle) {  // closed, or bytes nobody asked for: leave the pool
        if (eof || !conn.in.empty()) {
            closeConnection(fd);
        }
        return;
    }
    if (!conn.head_parsed && conn.frame.parseHead(conn.in)) {
        conn.head_parsed = true;
    }
    if (conn.head_parsed && conn.frame.complete(conn.in)) {
        conn.frame.close = conn.frame.close || eof;
        finish(fd, conn, conn.frame.status);
    } else if (eof) {
        onClosed(fd, conn);
    }
}

void LoadRun::onEvent(int fd, std::uint32_t events) {
    auto it = connections_.find(fd);
    if (it == connections_.end()) {
        return;
    }
    Connection& conn = it->second;
    if (conn.state == State::kConnecting) {
        int err = 0;
        socklen_t len = sizeof(err);
        ::getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len);
        if (err != 0 || (events & (EPOLLERR | EPOLLHUP)) != 0) {
            ++result_.connect_errors;
            finish(fd, conn, 0);
            return;
        }
        conn.state = State::kWriting;
    }
    if (conn.state == State::kWriting) {
        if ((events & (EPOLLOUT | EPOLLERR | EPOLLHUP)) != 0) {
            send(fd, conn);
        }
        return;
    }
    if ((events & (EPOLLIN | EPOLLRDHUP | EPOLLERR | EPOLLHUP)) != 0) {
        onReadable(fd, conn);
    }
}

void LoadRun::expireTimeouts(Clock::time_point now, bool all) {
    std::vector<int> expired;
    for (const auto& [fd, conn] : connections_) {
        if (conn.state != State::kIdle &&
            (all || now - conn.scheduled > options_.request_timeout)) {
            expired.push_back(fd);
        }
    }
    for (int fd : expired) {
        finish(fd, connections_.at(fd), 0, true);
    }
}

LoadResult LoadRun::run() {
    closed_loop_ = options_.rate <= 0;
    start_ = Clock::now();
    last_answer_ = start_;
    const auto end = start_ + options_.duration;
    const auto hard_stop = end + options_.request_timeout + std::chrono::seconds(2);
    const std::size_t total =
        closed_loop_
            ? 0
            : static_cast<std::size_t>(std::ceil(
                  options_.rate * std::chrono::duration<double>(options_.duration).count()));
    const auto dueAt = [&](std::size_t i) {
        return start_ + std::chrono::duration_cast<Clock::duration>(
                            std::chrono::duration<double>(static_cast<double>(i) / options_.rate));
    };
    if (closed_loop_) {
        for (int c = 0; c < options_.connections; ++c) {
            startRequest(start_, next_request_++ % options_.requests.size(), false);
        }
    }
    std::size_t sent = 0;
    auto next_timeout_scan = start_;
    std::vector<epoll_event> events(1024);
    for (;;) {
        auto now = Clock::now();
        if (closed_loop_) {
            accepting_ = now < end;
        } else {
            while (sent < total && dueAt(sent) <= now) {
                const auto due = dueAt(sent);
                result_.schedule_lag_ms =
                    std::max(result_.schedule_lag_ms,
                             std::chrono::duration<double, std::milli>(now - due).count());
                if (inFlight() >= static_cast<std::size_t>(options_.connections)) {
                    ++result_.dropped;
                } else {
                    startRequest(due, next_request_++ % options_.requests.size(), false);
                }
                ++sent;
            }
        }
        const bool all_started = closed_loop_ ? !accepting_ : sent == total;
        if (all_started && inFlight() == 0) {
            break;
        }
        if (now >= next_timeout_scan) {
            expireTimeouts(now);
            next_timeout_scan = now + std::chrono::milliseconds(100);
        }
        if (now > hard_stop) {  // bounded whatever happens
            expireTimeouts(now, true);
            break;
        }
        int wait_ms = 100;
        if (!closed_loop_ && sent < total) {
            const auto until = dueAt(sent) - now;
            wait_ms = static_cast<int>(std::clamp<long long>(
                std::chrono::duration_cast<std::chrono::milliseconds>(until).count(), 0, 100));
        }
        const int n = ::epoll_wait(epoll_, events.data(), static_cast<int>(events.size()), wait_ms);
        for (int k = 0; k < n; ++k) {
            onEvent(events[static_cast<std::size_t>(k)].data.fd,
                    events[static_cast<std::size_t>(k)].events);
        }
    }
    result_.elapsed_s = std::chrono::duration<double>(last_answer_ - start_).count();
    return std::move(result_);
}

}  // namespace

LoadRequest predictRequest(const std::string& host, const std::string& json_body,
                           int expected_label) {
    LoadRequest r;
    r.bytes = "POST /predict HTTP/1.1\r\nHost: " + host +
              "\r\nContent-Type: application/json\r\nContent-Length: " +
              std::to_string(json_body.size()) + "\r\n\r\n" + json_body;
    r.expected_label = expected_label;
    return r;
}

LoadResult runLoad(const LoadOptions& options) {
    LoadRun run(options);
    return run.run();
}

std::map<int, std::uint64_t> LoadResult::statusCounts() const {
    std::map<int, std::uint64_t> counts;
    for (const auto& s : samples) {
        ++counts[s.status];
    }
    return counts;
}

std::uint64_t LoadResult::count(int status) const {
    return static_cast<std::uint64_t>(
        std::count_if(samples.begin(), samples.end(),
                      [status](const LoadSample& s) { return s.status == status; }));
}

std::uint64_t LoadResult::wrongLabels() const {
    return static_cast<std::uint64_t>(std::count_if(
        samples.begin(), samples.end(), [](const LoadSample& s) { return !s.label_ok; }));
}

std::uint64_t LoadResult::timeouts() const {
    return static_cast<std::uint64_t>(std::count_if(
        samples.begin(), samples.end(), [](const LoadSample& s) { return s.timed_out; }));
}

double LoadResult::percentileMs(double p, int status, double from_s, double to_s) const {
    std::vector<std::uint32_t> lat;
    for (const auto& s : samples) {
        const double t = s.scheduled_us / 1e6;
        if (s.status == status && t >= from_s && t < to_s) {
            lat.push_back(s.latency_us);
        }
    }
    if (lat.empty()) {
        return 0;
    }
    // Nearest rank: the smallest value with at least p % of the samples at or below it.
    const auto rank =
        static_cast<std::size_t>(std::ceil(p / 100.0 * static_cast<double>(lat.size())));
    const std::size_t k = std::clamp<std::size_t>(rank, 1, lat.size()) - 1;
    std::nth_element(lat.begin(), lat.begin() + static_cast<std::ptrdiff_t>(k), lat.end());
    return lat[k] / 1000.0;
}

double LoadResult::ratePerSecond(int status) const {
    return elapsed_s > 0 ? static_cast<double>(count(status)) / elapsed_s : 0;
}

std::string LoadResult::summary() const {
    std::string out = "answers:";
    for (const auto& [status, n] : statusCounts()) {
        // Appended piece by piece: `" " + std::to_string(…)` trips GCC 12's -Wrestrict false
        // positive at -O3 (GCC bug 105329).
        out += ' ';
        out += std::to_string(status);
        out += "×";
        out += std::to_string(n);
    }
    std::array<char, 384> buf{};
    std::snprintf(
        buf.data(), buf.size(),
        "; dropped %llu, connect errors %llu, closed unanswered %llu, closed mid-answer "
        "%llu, timeouts %llu, retried %llu, wrong labels %llu; 200s: %.0f/s, p50 %.2f "
        "ms, p99 %.2f ms; max schedule lag %.1f ms; %.1f s",
        static_cast<unsigned long long>(dropped), static_cast<unsigned long long>(connect_errors),
        static_cast<unsigned long long>(closed_before_answer),
        static_cast<unsigned long long>(closed_mid_answer),
        static_cast<unsigned long long>(timeouts()), static_cast<unsigned long long>(retried),
        static_cast<unsigned long long>(wrongLabels()), ratePerSecond(200), percentileMs(50, 200),
        percentileMs(99, 200), schedule_lag_ms, elapsed_s);
    return out + buf.data();
}

}  // namespace predictd::load
