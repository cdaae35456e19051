// test_slow_clients.cpp — slow clients (hundreds of connections sending a byte at a time) must
// not starve good requests: NGINX holds incomplete requests (headers, and bodies through
// fastcgi_request_buffering) and the FastCGI workers only ever see complete ones. Owns the
// slow-client tests of the load suite: 400 dribbling connections during good traffic, stalled
// requests dropped by NGINX's client timeouts, and the control showing what a slow body does to
// a worker when request buffering is off.
//
// NGINX's client_header_timeout (10 s) is a deadline for the whole header counted from the
// connection's accept, not a per-read timeout: a connection dribbling its headers is closed 10 s
// after it connected however fast it dribbles (client_body_timeout, in contrast, is per read).
// So the header dribblers here complete their requests well within 10 s of connecting.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <json/json.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

#include "service_harness.hpp"

namespace predictd::testing {
namespace {

using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;
using std::chrono::seconds;

constexpr int kSlowConnections = 400;  // half dribble headers, half dribble bodies
constexpr milliseconds kDribbleInterval(250);
constexpr milliseconds kWarmup(1000);     // every slow connection accepted and dribbling
constexpr milliseconds kGoodPhase(4000);  // header dribblers must finish within 10 s
constexpr int kGoodThreads = 2;
constexpr int kMaxGoodPerThread = 5000;
constexpr seconds kAnswerDeadline(60);  // bounded wait for the slow requests' answers
constexpr seconds kHeaderTimeout(10);   // client_header_timeout in predictd-locations.conf

// A socket closed when it goes out of scope.
class Fd {
  public:
    Fd() = default;
    explicit Fd(int fd) : fd_(fd) {}
    ~Fd() { reset(); }
    Fd(Fd&& other) noexcept : fd_(other.fd_) { other.fd_ = -1; }
    Fd& operator=(Fd&& other) noexcept {
        if (this != &other) {
            reset();
            fd_ = other.fd_;
            other.fd_ = -1;
        }
        return *this;
    }
    Fd(const Fd&) = delete;
    Fd& operator=(const Fd&) = delete;
    [[nodiscard]] int get() const { return fd_; }
    void reset() {
        if (fd_ >= 0) {
            ::close(fd_);
            fd_ = -1;
        }
    }

  private:
    int fd_ = -1;
};

// A blocking TCP connection to NGINX with Nagle off (each dribbled byte is its own segment) and
// bounded blocking sends; an empty Fd (get() < 0) on failure.
Fd connectTo(int port) {
    Fd fd(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
    if (fd.get() < 0) {
        return fd;
    }
    sockaddr_in sa{};
    sa.sin_family = AF_INET;
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    sa.sin_port = htons(static_cast<std::uint16_t>(port));
    const int one = 1;
    ::setsockopt(fd.get(), IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    timeval tv{};
    tv.tv_sec = 10;
    ::setsockopt(fd.get(), SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
    if (::connect(fd.get(), reinterpret_cast<const sockaddr*>(&sa), sizeof(sa)) != 0) {
        return Fd();
    }
    return fd;
}

// Sends all of `data` (blocking, bounded by SO_SNDTIMEO); false on any error.
bool sendAll(int fd, const char* data, std::size_t size) {
    while (size > 0) {
        const ssize_t n = ::send(fd, data, size, MSG_NOSIGNAL);
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n <= 0) {
            return false;
        }
        data += n;
        size -= static_cast<std::size_t>(n);
    }
    return true;
}

// A complete HTTP/1.1 POST /predict for sample digit `digit`; `head_size` = its header part.
std::string predictRequest(int digit, std::size_t& head_size) {
    const std::string body = predictBody(samplePng(digit));
    const std::string head =
        "POST /predict HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        "Content-Type: application/json\r\nContent-Length: " +
        std::to_string(body.size()) + "\r\nConnection: close\r\n\r\n";
    head_size = head.size();
    return head + body;
}

struct SlowClient {
    Fd fd;
    int digit = 0;
    bool dribbles_headers = false;  // else: complete headers, dribbled body
    std::string request;            // the whole request, headers and body
    std::size_t sent = 0;           // bytes of `request` sent so far
    std::size_t dribble_limit = 0;  // never dribble past this: the request stays incomplete
    int send_errno = 0;             // first send error while dribbling, 0 if none
    std::string answer;             // what NGINX sent back
    bool closed = false;            // NGINX closed the connection (EOF or reset)
};

// One thread sends one byte to every slow client in turn, each one every kDribbleInterval,
// until stopped.
class Dribbler {
  public:
    explicit Dribbler(std::vector<SlowClient>& clients)
        : clients_(clients), thread_([this] { run(); }) {}
    ~Dribbler() { stop(); }
    Dribbler(const Dribbler&) = delete;
    Dribbler& operator=(const Dribbler&) = delete;

    void stop() {
        stop_.store(true);
        if (thread_.joinable()) {
            thread_.join();
        }
    }
    [[nodiscard]] int rounds() const { return rounds_.load(); }

  private:
    void run() {
        auto next = Clock::now();
        while (!stop_.load()) {
            for (SlowClient& c : clients_) {
                if (c.send_errno != 0 || c.sent >= c.dribble_limit) {
                    continue;
                }
                const ssize_t n =
                    ::send(c.fd.get(), &c.request[c.sent], 1, MSG_NOSIGNAL | MSG_DONTWAIT);
                if (n == 1) {
                    ++c.sent;
                } else if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
                    c.send_errno = errno;
                }
            }
            rounds_.fetch_add(1);
            next += kDribbleInterval;
            while (!stop_.load() && Clock::now() < next) {
                std::this_thread::sleep_for(milliseconds(10));
            }
            next = std::max(next, Clock::now());  // after a stall, no burst to catch up
        }
    }

    std::vector<SlowClient>& clients_;
    std::atomic<bool> stop_{false};
    std::atomic<int> rounds_{0};
    std::thread thread_;
};

// Why `fd` is not open with nothing to read ("" when it is: no answer byte, no EOF, no error).
std::string whyNotOpenAndSilent(int fd) {
    char byte = 0;
    const ssize_t n = ::recv(fd, &byte, 1, MSG_PEEK | MSG_DONTWAIT);
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
        return "";
    }
    return n == 0 ? "closed by NGINX" : n > 0 ? "got answer bytes" : std::strerror(errno);
}

// Reads every client's answer until NGINX closes each connection, or the deadline passes.
void readAnswers(const std::vector<SlowClient*>& clients, Clock::time_point deadline) {
    std::vector<SlowClient*> pending = clients;
    char buf[4096];
    while (!pending.empty() && Clock::now() < deadline) {
        std::vector<pollfd> fds;
        fds.reserve(pending.size());
        for (const SlowClient* c : pending) {
            fds.push_back({c->fd.get(), POLLIN, 0});
        }
        if (::poll(fds.data(), fds.size(), 200) <= 0) {
            continue;
        }
        std::vector<SlowClient*> still;
        for (std::size_t i = 0; i < pending.size(); ++i) {
            SlowClient& c = *pending[i];
            if (fds[i].revents != 0) {
                const ssize_t n = ::recv(c.fd.get(), buf, sizeof(buf), MSG_DONTWAIT);
                if (n > 0) {
                    c.answer.append(buf, static_cast<std::size_t>(n));
                } else if (n == 0 || (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)) {
                    c.closed = true;
                    continue;
                }
            }
            still.push_back(&c);
        }
        pending = std::move(still);
    }
}

// The HTTP status of a raw answer (0 if none), and its body.
int statusOfAnswer(const std::string& answer, std::string& body) {
    const auto end = answer.find("\r\n\r\n");
    if (answer.rfind("HTTP/1.", 0) != 0 || answer.size() < 12 || end == std::string::npos) {
        return 0;
    }
    body = answer.substr(end + 4);
    return std::atoi(answer.substr(9, 3).c_str());
}

// /status once the pool is quiet: polls (up to 10 s) until the only busy worker is the one
// answering and nothing waits in the listen queue. A worker marks itself idle a moment after
// NGINX has passed its answer on, hence the polling. Returns the last status and adds the
// /status requests made to `calls` (each one is counted in accepted_conn).
Json::Value quietStatus(const PredictdService& s, int& calls) {
    Json::Value st;
    eventually(
        [&] {
            ++calls;
            st = statusOf(s);
            return st["active_processes"].asInt() == 1 && st["listen_queue"].asUInt() == 0;
        },
        seconds(10));
    return st;
}

// Nearest-rank percentile (p in (0, 1]).
double percentile(std::vector<double> v, double p) {
    if (v.empty()) {
        return 0;
    }
    std::sort(v.begin(), v.end());
    const auto rank = static_cast<std::size_t>(std::ceil(p * static_cast<double>(v.size())));
    return v[std::clamp<std::size_t>(rank, 1, v.size()) - 1];
}

double msSince(Clock::time_point t0) {
    return std::chrono::duration<double, std::milli>(Clock::now() - t0).count();
}

// 400 connections dribble a byte every 250 ms — half still in their headers, half in their
// bodies — while two clients post real predictions. Every good request is answered right, no
// worker ever sees a slow request while it is incomplete (accepted_conn counts exactly the good
// requests, no worker busy, nothing queued), and every slow request, once finished, is answered.
TEST(SlowClients, HundredsOfByteAtATimeClientsDoNotStarveGoodRequests) {
    // The slow connections, and NGINX's for them (client and upstream), need descriptors.
    ASSERT_GE(raiseOpenFileLimit(4096), static_cast<rlim_t>(2 * kSlowConnections + 200))
        << "RLIMIT_NOFILE too low for " << kSlowConnections << " slow connections";
    PredictdService s;  // 2 workers, default model
    ASSERT_TRUE(s.waitReady()) << s.predictdLog();

    std::vector<std::string> requests(10);
    std::vector<std::size_t> head_sizes(10);
    for (int d = 0; d < 10; ++d) {
        requests[d] = predictRequest(d, head_sizes[d]);
    }

    // Body dribblers first (their headers are complete, so only the per-read body timeout
    // applies), then header dribblers (whose 10 s header deadline starts now).
    std::vector<SlowClient> slow(kSlowConnections);
    for (int i = 0; i < kSlowConnections; ++i) {
        SlowClient& c = slow[i];
        c.digit = i % 10;
        c.dribbles_headers = i >= kSlowConnections / 2;
        c.request = requests[c.digit];
        c.dribble_limit = (c.dribbles_headers ? head_sizes[c.digit] : c.request.size()) - 1;
    }
    Clock::time_point headers_started;
    for (int i = 0; i < kSlowConnections; ++i) {
        SlowClient& c = slow[i];
        if (i == kSlowConnections / 2) {
            headers_started = Clock::now();
        }
        c.fd = connectTo(s.port());
        ASSERT_GE(c.fd.get(), 0) << "slow connection " << i << ": " << std::strerror(errno);
        if (!c.dribbles_headers) {
            c.sent = head_sizes[c.digit];
            ASSERT_TRUE(sendAll(c.fd.get(), c.request.data(), c.sent)) << std::strerror(errno);
        }
    }
    Dribbler dribbler(slow);
    std::this_thread::sleep_for(kWarmup);

    int calls = 0;
    const Json::Value before = quietStatus(s, calls);
    EXPECT_EQ(before["active_processes"].asInt(), 1) << "only the worker answering /status";
    EXPECT_EQ(before["listen_queue"].asUInt(), 0u);

    // The good clients: real predictions, each checked, for kGoodPhase.
    std::atomic<int> good_sent{0};
    std::atomic<int> good_failed{0};
    std::vector<std::vector<double>> latencies(kGoodThreads);
    std::vector<std::string> first_failure(kGoodThreads);
    std::vector<std::string> bodies(10);
    for (int d = 0; d < 10; ++d) {
        bodies[d] = predictBody(samplePng(d));
    }
    const auto good_start = Clock::now();
    const auto good_end = good_start + kGoodPhase;
    {
        std::vector<std::thread> threads;
        threads.reserve(kGoodThreads);
        for (int t = 0; t < kGoodThreads; ++t) {
            threads.emplace_back([&, t] {
                for (int i = 0; i < kMaxGoodPerThread; ++i) {
                    if (i > 0 && Clock::now() >= good_end) {
                        break;
                    }
                    const int digit = (t * 5 + i) % 10;
                    const auto t0 = Clock::now();
                    const HttpResult r = s.post("/predict", bodies[digit]);
                    latencies[t].push_back(msSince(t0));
                    ++good_sent;
                    const bool right =
                        r.status == 200 && parseJson(r.body)["prediction"].asInt() == digit;
                    if (!right && good_failed.fetch_add(1) == 0) {
                        first_failure[t] = "digit " + std::to_string(digit) + ": " +
                                           std::to_string(r.status) + " " + r.body;
                    }
                }
            });
        }
        for (auto& th : threads) {
            th.join();
        }
    }
    const double good_ms = msSince(good_start);
    calls = 0;
    const Json::Value after = quietStatus(s, calls);

    // (b) every slow connection still open, silent, and incomplete.
    dribbler.stop();
    int not_silent = 0;
    std::string why_first;
    std::size_t dribbled = 0;
    for (int i = 0; i < kSlowConnections; ++i) {
        SlowClient& c = slow[i];
        std::string why;
        if (c.send_errno != 0) {
            why = std::string("send failed: ") + std::strerror(c.send_errno);
        } else if (c.sent >= c.request.size()) {
            why = "request was complete";
        } else {
            why = whyNotOpenAndSilent(c.fd.get());
        }
        if (!why.empty() && not_silent++ == 0) {
            why_first = "slow connection " + std::to_string(i) +
                        (c.dribbles_headers ? " (headers)" : " (body)") + ": " + why;
        }
        dribbled += c.sent - (c.dribbles_headers ? 0 : head_sizes[c.digit]);
    }
    const double header_age_ms = msSince(headers_started);

    std::vector<double> all;
    for (const auto& l : latencies) {
        all.insert(all.end(), l.begin(), l.end());
    }
    std::printf(
        "slow clients: %d connections (%d dribbling headers, %d bodies), %d dribble rounds, "
        "%zu bytes dribbled\n"
        "good requests: %d in %.0f ms with %d threads (%.0f req/s), p50 %.2f ms, p99 %.2f ms, "
        "max %.2f ms\n"
        "accepted_conn %llu -> %llu, max_active_processes %d\n",
        kSlowConnections, kSlowConnections / 2, kSlowConnections / 2, dribbler.rounds(), dribbled,
        good_sent.load(), good_ms, kGoodThreads, good_sent.load() * 1000.0 / good_ms,
        percentile(all, 0.50), percentile(all, 0.99), percentile(all, 1.0),
        static_cast<unsigned long long>(before["accepted_conn"].asUInt64()),
        static_cast<unsigned long long>(after["accepted_conn"].asUInt64()),
        after["max_active_processes"].asInt());
    std::fflush(stdout);

    // (a) every good request answered 200 with the right label.
    EXPECT_EQ(good_failed.load(), 0) << [&] {
        std::string all_first;
        for (const auto& f : first_failure) {
            all_first += f;
        }
        return all_first;
    }();
    EXPECT_GE(good_sent.load(), kGoodThreads);
    // (b)
    EXPECT_EQ(not_silent, 0) << not_silent
                             << " slow connections were not open and silent; first: " << why_first
                             << " (header dribblers connected " << header_age_ms
                             << " ms ago; NGINX drops unfinished headers after "
                             << kHeaderTimeout.count() << " s)";
    // (c) the workers accepted the good requests and the /status requests since `before`, and
    // nothing else: a worker counts a connection when it accepts it, before answering (so each
    // /status counts itself), and NGINX opens a FastCGI connection only for a complete request.
    EXPECT_EQ(after["accepted_conn"].asUInt64() - before["accepted_conn"].asUInt64(),
              static_cast<Json::UInt64>(good_sent.load() + calls))
        << "a worker accepted a connection for an incomplete slow request";
    EXPECT_EQ(after["active_processes"].asInt(), 1)
        << "a worker stays busy besides the one answering /status: pinned by a slow client";
    EXPECT_EQ(after["idle_processes"].asInt(), 1);
    EXPECT_EQ(after["listen_queue"].asUInt(), 0u) << "requests are waiting for a worker";
    ASSERT_LT(header_age_ms, static_cast<double>(kHeaderTimeout.count()) * 1000)
        << "the header dribblers outlived client_header_timeout (the good phase took too long)";

    // Nothing lost: finish every slow request at once and read every answer.
    const auto finish_start = Clock::now();
    std::vector<SlowClient*> finishing;
    for (SlowClient& c : slow) {
        if (sendAll(c.fd.get(), c.request.data() + c.sent, c.request.size() - c.sent)) {
            c.sent = c.request.size();
            finishing.push_back(&c);
        } else {
            ADD_FAILURE() << "finishing a slow request: " << std::strerror(errno);
        }
    }
    readAnswers(finishing, finish_start + kAnswerDeadline);
    const double finish_ms = msSince(finish_start);
    int answered_right = 0;
    std::string wrong_first;
    for (int i = 0; i < kSlowConnections; ++i) {
        const SlowClient& c = slow[i];
        std::string body;
        const int status = statusOfAnswer(c.answer, body);
        if (c.closed && status == 200 && parseJson(body)["prediction"].asInt() == c.digit) {
            ++answered_right;
        } else if (wrong_first.empty()) {
            wrong_first = "slow connection " + std::to_string(i) + " (digit " +
                          std::to_string(c.digit) + ", " +
                          (c.dribbles_headers ? "headers" : "body") +
                          "): " + (c.closed ? "" : "not closed, ") + "answer: " + c.answer;
        }
    }
    calls = 0;
    const Json::Value end = quietStatus(s, calls);
    std::printf("slow requests finished: %d of %d answered right in %.0f ms\n", answered_right,
                kSlowConnections, finish_ms);
    EXPECT_EQ(answered_right, kSlowConnections) << wrong_first;
    EXPECT_EQ(end["accepted_conn"].asUInt64() - after["accepted_conn"].asUInt64(),
              static_cast<Json::UInt64>(kSlowConnections + calls))
        << "each finished slow request reached a worker exactly once";

    // After: no worker was lost or replaced, and the service still answers.
    EXPECT_EQ(end["total_processes"].asInt(), 2);
    EXPECT_EQ(end["restarts"]["crash"].asUInt64(), 0u);
    EXPECT_EQ(end["restarts"]["killed"].asUInt64(), 0u);
    EXPECT_EQ(end["restarts"]["max_requests"].asUInt64(), 0u);
    EXPECT_EQ(s.predictDigit(7), 7);
}

// A request that stops mid-headers or mid-body is closed by NGINX after its client timeout
// (10 s), without an answer from a worker: no worker ever accepted it.
TEST(SlowClients, StalledRequestsAreDroppedByNginxWithoutReachingAWorker) {
    PredictdService s;
    ASSERT_TRUE(s.waitReady()) << s.predictdLog();
    std::size_t head_size = 0;
    const std::string request = predictRequest(4, head_size);
    int calls = 0;
    const Json::Value before = quietStatus(s, calls);

    std::vector<SlowClient> stalled(2);
    stalled[0].fd = connectTo(s.port());  // stops in the middle of its headers
    stalled[1].fd = connectTo(s.port());  // stops in the middle of its body
    ASSERT_GE(stalled[0].fd.get(), 0);
    ASSERT_GE(stalled[1].fd.get(), 0);
    const auto t0 = Clock::now();
    ASSERT_TRUE(sendAll(stalled[0].fd.get(), request.data(), head_size / 2));
    ASSERT_TRUE(sendAll(stalled[1].fd.get(), request.data(), head_size + 100));

    std::vector<SlowClient*> waiting = {&stalled[0], &stalled[1]};
    readAnswers(waiting, t0 + seconds(25));
    std::printf("stalled requests closed by NGINX after %.1f s\n", msSince(t0) / 1000);
    for (const SlowClient& c : stalled) {
        EXPECT_TRUE(c.closed) << "NGINX did not close a stalled request within 25 s";
        // NGINX closes without a word (at most a 408 of its own): never a worker's answer.
        EXPECT_TRUE(c.answer.empty() || c.answer.rfind("HTTP/1.1 408", 0) == 0) << c.answer;
    }
    calls = 0;
    const Json::Value after = quietStatus(s, calls);
    EXPECT_EQ(after["accepted_conn"].asUInt64() - before["accepted_conn"].asUInt64(),
              static_cast<Json::UInt64>(calls))
        << "a worker accepted a stalled request (only the /status requests should count)";
    EXPECT_EQ(after["active_processes"].asInt(), 1);
    EXPECT_EQ(after["restarts"]["crash"].asUInt64(), 0u);
    EXPECT_EQ(after["restarts"]["killed"].asUInt64(), 0u);
    EXPECT_EQ(s.predictDigit(7), 7);
}

// The control for the first test's counters: with fastcgi_request_buffering off, NGINX hands a
// request to a worker as soon as its headers are in, and one client dribbling its body pins that
// worker (counted as accepted and busy) until the body is complete. This is what request
// buffering prevents, and what the accepted_conn / active_processes assertions above detect.
TEST(SlowClients, WithoutRequestBufferingASlowBodyPinsAWorker) {
    PredictdService::Options o;
    o.nginx_edits = {{"fastcgi_request_buffering on;", "fastcgi_request_buffering off;"}};
    PredictdService s(o);
    ASSERT_TRUE(s.waitReady()) << s.predictdLog();
    std::size_t head_size = 0;
    const std::string request = predictRequest(6, head_size);
    int calls = 0;
    const Json::Value before = quietStatus(s, calls);

    SlowClient c;
    c.fd = connectTo(s.port());
    ASSERT_GE(c.fd.get(), 0);
    std::size_t sent = head_size + 10;
    ASSERT_TRUE(sendAll(c.fd.get(), request.data(), sent));
    calls = 0;
    Json::Value st;
    EXPECT_TRUE(eventually(
        [&] {
            ++calls;
            st = statusOf(s);
            return st["accepted_conn"].asUInt64() - before["accepted_conn"].asUInt64() ==
                       static_cast<Json::UInt64>(calls) + 1 &&
                   st["active_processes"].asInt() == 2;
        },
        seconds(10)))
        << "with request buffering off, a slow body should be accepted by a worker and hold it "
           "busy; last status: "
        << st;
    // It stays pinned for as long as the client dribbles.
    for (int i = 0; i < 4; ++i) {
        std::this_thread::sleep_for(kDribbleInterval);
        ASSERT_TRUE(sendAll(c.fd.get(), request.data() + sent++, 1));
    }
    EXPECT_EQ(statusOf(s)["active_processes"].asInt(), 2);

    ASSERT_TRUE(sendAll(c.fd.get(), request.data() + sent, request.size() - sent));
    std::vector<SlowClient*> one = {&c};
    readAnswers(one, Clock::now() + seconds(30));
    std::string body;
    ASSERT_EQ(statusOfAnswer(c.answer, body), 200) << c.answer;
    EXPECT_EQ(parseJson(body)["prediction"].asInt(), 6);
    calls = 0;
    const Json::Value end = quietStatus(s, calls);
    EXPECT_EQ(end["active_processes"].asInt(), 1);
    EXPECT_EQ(end["restarts"]["crash"].asUInt64(), 0u);
    EXPECT_EQ(end["restarts"]["killed"].asUInt64(), 0u);
}

}  // namespace
}  // namespace predictd::testing
