// test_open_loop_load.cpp — the open-loop generator against a scripted loopback HTTP server.
//
// The overload test's verdict is only as good as the generator's counting, so each way an answer
// can arrive (kept alive, closed with the answer, body to the close, cut short, never) and the
// schedule itself are checked here against a server whose behaviour is known exactly.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <functional>
#include <string>
#include <thread>
#include <vector>

#include "open_loop_load.hpp"

namespace predictd::load {
namespace {

// Reads one request (head + Content-Length body) from `fd`; false on EOF.
bool readRequest(int fd, std::string& pending) {
    for (;;) {
        const auto end = pending.find("\r\n\r\n");
        if (end != std::string::npos) {
            std::size_t length = 0;
            const auto cl = pending.find("Content-Length: ");
            if (cl != std::string::npos && cl < end) {
                length = std::stoul(pending.substr(cl + 16));
            }
            if (pending.size() >= end + 4 + length) {
                pending.erase(0, end + 4 + length);
                return true;
            }
        }
        char buf[4096];
        const ssize_t n = ::recv(fd, buf, sizeof(buf), 0);
        if (n <= 0) {
            return false;
        }
        pending.append(buf, static_cast<std::size_t>(n));
    }
}

void sendAll(int fd, const std::string& bytes) {
    std::size_t off = 0;
    while (off < bytes.size()) {
        const ssize_t n = ::send(fd, bytes.data() + off, bytes.size() - off, MSG_NOSIGNAL);
        if (n <= 0) {
            return;
        }
        off += static_cast<std::size_t>(n);
    }
}

std::string answer(int status, const std::string& body, const std::string& extra = "") {
    return "HTTP/1.1 " + std::to_string(status) +
           " X\r\nContent-Length: " + std::to_string(body.size()) + "\r\n" + extra + "\r\n" + body;
}

// A loopback server: each accepted connection is handed to `serve(fd, connection_index)` on the
// server's own thread (one connection at a time, which is all these scripts need).
class ScriptedServer {
  public:
    explicit ScriptedServer(std::function<void(int, int)> serve) : serve_(std::move(serve)) {
        listen_ = ::socket(AF_INET, SOCK_STREAM, 0);
        sockaddr_in sa{};
        sa.sin_family = AF_INET;
        sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        socklen_t len = sizeof(sa);
        EXPECT_EQ(::bind(listen_, reinterpret_cast<sockaddr*>(&sa), sizeof(sa)), 0);
        EXPECT_EQ(::listen(listen_, 64), 0);
        ::getsockname(listen_, reinterpret_cast<sockaddr*>(&sa), &len);
        port_ = ntohs(sa.sin_port);
        thread_ = std::thread([this] {
            for (int index = 0; !stop_; ++index) {
                const int fd = ::accept(listen_, nullptr, nullptr);
                if (fd < 0 || stop_) {
                    if (fd >= 0) {
                        ::close(fd);
                    }
                    return;
                }
                serve_(fd, index);
                ::close(fd);
            }
        });
    }
    ~ScriptedServer() {
        stop_ = true;
        ::shutdown(listen_, SHUT_RDWR);
        thread_.join();
        ::close(listen_);
    }
    ScriptedServer(const ScriptedServer&) = delete;
    ScriptedServer& operator=(const ScriptedServer&) = delete;
    [[nodiscard]] int port() const { return port_; }

  private:
    std::function<void(int, int)> serve_;
    int listen_ = -1;
    int port_ = 0;
    std::atomic<bool> stop_{false};
    std::thread thread_;
};

// One connection, closed loop, 300 ms, a request whose answer must say 3.
LoadOptions closedLoop(int port) {
    LoadOptions o;
    o.port = port;
    o.connections = 1;
    o.duration = std::chrono::milliseconds(300);
    o.request_timeout = std::chrono::milliseconds(2000);
    o.requests = {predictRequest("127.0.0.1", R"({"image": "x"})", 3)};
    return o;
}

TEST(OpenLoopLoad, KeptAliveAnswersAreCountedAndLabelsChecked) {
    std::atomic<int> served{0};
    ScriptedServer server([&](int fd, int) {
        std::string pending;
        while (readRequest(fd, pending)) {
            const int k = served++;
            sendAll(fd, answer(200, k % 2 == 0 ? R"({"prediction":3})" : R"({"prediction":4})"));
        }
    });
    const LoadResult r = runLoad(closedLoop(server.port()));
    ASSERT_GT(r.samples.size(), 10u) << r.summary();
    EXPECT_EQ(r.count(200), r.samples.size());
    EXPECT_EQ(r.samples.size(), static_cast<std::size_t>(served.load()));
    // Every other answer names the wrong digit.
    EXPECT_EQ(r.wrongLabels(), r.samples.size() / 2) << r.summary();
    EXPECT_EQ(r.retried, 0u);
}

TEST(OpenLoopLoad, AnAnswerArrivingWithTheCloseIsStillAnAnswer) {
    // "Connection: close" and the FIN in the same read (NGINX's keepalive_requests-th answer),
    // and an answer without Content-Length whose body runs to the close.
    ScriptedServer server([&](int fd, int index) {
        std::string pending;
        if (readRequest(fd, pending)) {
            sendAll(fd, index % 2 == 0 ? answer(200, R"({"prediction":3})", "Connection: close\r\n")
                                       : std::string("HTTP/1.1 503 X\r\n\r\n{\"error\":{}}"));
        }
    });
    const LoadResult r = runLoad(closedLoop(server.port()));
    ASSERT_GT(r.samples.size(), 10u) << r.summary();
    EXPECT_EQ(r.count(200) + r.count(503), r.samples.size()) << r.summary();
    EXPECT_GT(r.count(503), 0u);
    EXPECT_EQ(r.closed_mid_answer + r.closed_before_answer, 0u) << r.summary();
    EXPECT_EQ(r.wrongLabels(), 0u);
}

TEST(OpenLoopLoad, CutAndMissingAnswersAreFailuresOfTheirKind) {
    ScriptedServer server([&](int fd, int index) {
        std::string pending;
        if (!readRequest(fd, pending)) {
            return;
        }
        if (index % 2 == 0) {
            sendAll(fd, answer(200, R"({"prediction":3})").substr(0, 30));  // cut short
        }  // odd: closed without a byte
    });
    const LoadResult r = runLoad(closedLoop(server.port()));
    ASSERT_GT(r.samples.size(), 4u) << r.summary();
    EXPECT_EQ(r.count(0), r.samples.size()) << r.summary();
    EXPECT_GT(r.closed_mid_answer, 0u);
    EXPECT_GT(r.closed_before_answer, 0u);
    EXPECT_EQ(r.closed_mid_answer + r.closed_before_answer, r.samples.size());
}

TEST(OpenLoopLoad, AKeptAliveConnectionClosedUnderARequestIsRetriedOnce) {
    // Each connection answers one request and closes after the next arrives, unanswered, as a
    // server closing an idle kept-alive connection does: the client re-sends on a new one.
    ScriptedServer server([&](int fd, int) {
        std::string pending;
        if (readRequest(fd, pending)) {
            sendAll(fd, answer(200, R"({"prediction":3})"));
            readRequest(fd, pending);
        }
    });
    const LoadResult r = runLoad(closedLoop(server.port()));
    ASSERT_GT(r.samples.size(), 4u) << r.summary();
    EXPECT_EQ(r.count(200), r.samples.size()) << r.summary();
    EXPECT_GE(r.retried + 1, r.samples.size()) << r.summary();
}

TEST(OpenLoopLoad, OpenLoopSendsOnScheduleWhateverTheServerDoes) {
    // A server that never answers: a closed loop would send one request per connection; the
    // open loop sends all 100 on time, then counts them as timeouts, and drops what exceeds the
    // connection cap.
    std::atomic<bool> done{false};
    ScriptedServer server([&](int fd, int) {
        std::string pending;
        while (!done && readRequest(fd, pending)) {
        }
    });
    LoadOptions o = closedLoop(server.port());
    o.rate = 200;
    o.duration = std::chrono::milliseconds(500);
    o.connections = 1000;
    o.request_timeout = std::chrono::milliseconds(300);
    const LoadResult r = runLoad(o);
    done = true;
    EXPECT_EQ(r.samples.size() + r.dropped, 100u) << r.summary();
    EXPECT_EQ(r.timeouts(), r.samples.size()) << r.summary();
    ASSERT_FALSE(r.samples.empty());
    // Request i was scheduled at i × 5 ms.
    std::vector<std::uint32_t> starts;
    for (const auto& s : r.samples) {
        starts.push_back(s.scheduled_us);
    }
    std::sort(starts.begin(), starts.end());
    for (std::size_t i = 0; i < starts.size(); ++i) {
        EXPECT_NEAR(starts[i], i * 5000.0, 2.0) << i;
    }
}

}  // namespace
}  // namespace predictd::load
