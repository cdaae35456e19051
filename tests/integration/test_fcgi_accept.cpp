// test_fcgi_accept.cpp — the peer check on a TCP listening socket (transport/fcgi_accept), with
// the real libfcgi on loopback sockets: an allowed peer's request is read and answered; a peer
// outside server.allowed_peers is closed unread and unanswered; and a connection that ends
// before its request does not let libfcgi accept the next one unchecked. 127.0.0.0/8 gives the
// test several source addresses (127.0.0.1 allowed, 127.0.0.2 not).
#include <arpa/inet.h>
#include <fcgiapp.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <cerrno>
#include <future>
#include <stdexcept>
#include <string>

#include "fastcgi_client.hpp"
#include "process/peer_allow_list.hpp"
#include "transport/fcgi_accept.hpp"

namespace predictd::testing {
namespace {

// A non-blocking TCP listener on 127.0.0.1, as ListenSocket makes it for the workers.
class Listener {
  public:
    Listener() {
        fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        sockaddr_in sa{};
        sa.sin_family = AF_INET;
        sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        socklen_t len = sizeof(sa);
        if (::bind(fd_, reinterpret_cast<sockaddr*>(&sa), sizeof(sa)) != 0 ||
            ::listen(fd_, 16) != 0 ||
            ::getsockname(fd_, reinterpret_cast<sockaddr*>(&sa), &len) != 0) {
            throw std::runtime_error("cannot listen on 127.0.0.1");
        }
        port_ = ntohs(sa.sin_port);
    }
    ~Listener() { ::close(fd_); }
    Listener(const Listener&) = delete;
    Listener& operator=(const Listener&) = delete;
    [[nodiscard]] int fd() const { return fd_; }
    [[nodiscard]] int port() const { return port_; }

  private:
    int fd_ = -1;
    int port_ = 0;
};

// A connection to 127.0.0.1:port from `source` (another loopback address), or -1.
int connectFrom(const char* source, int port) {
    const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in from{};
    from.sin_family = AF_INET;
    ::inet_pton(AF_INET, source, &from.sin_addr);
    sockaddr_in to{};
    to.sin_family = AF_INET;
    to.sin_port = htons(static_cast<std::uint16_t>(port));
    to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (::bind(fd, reinterpret_cast<sockaddr*>(&from), sizeof(from)) != 0 ||
        ::connect(fd, reinterpret_cast<sockaddr*>(&to), sizeof(to)) != 0) {
        ::close(fd);
        return -1;
    }
    return fd;
}

// Waits (at most 5 s) for a connection to be pending, then takes it as a worker does.
AcceptResult acceptNext(FCGX_Request& req, const Listener& l, const PeerAllowList& peers) {
    pollfd p{l.fd(), POLLIN, 0};
    if (::poll(&p, 1, 5000) != 1) {
        ADD_FAILURE() << "no connection arrived";
        return {};
    }
    return acceptFastCgi(req, l.fd(), &peers);
}

PeerAllowList onlyLocalhost() {
    PeerAllowList peers;
    std::string error;
    EXPECT_TRUE(PeerAllowList::parse("127.0.0.1", &peers, &error)) << error;
    return peers;
}

class FastCgiAccept : public ::testing::Test {
  protected:
    void SetUp() override {
        ASSERT_EQ(FCGX_Init(), 0);
        ASSERT_TRUE(isTcpSocket(listener_.fd()));
        ASSERT_EQ(initFastCgiRequest(req_, listener_.fd(), true), 0);
    }
    void TearDown() override { FCGX_Free(&req_, req_.ipcFd >= 0 ? 1 : 0); }

    Listener listener_;
    FCGX_Request req_{};
    const PeerAllowList peers_ = onlyLocalhost();
};

TEST_F(FastCgiAccept, AnAllowedPeersRequestIsReadByLibfcgiAndAnswered) {
    auto client = std::async(std::launch::async, [port = listener_.port()] {
        return fastCgiRequest("127.0.0.1", port, "GET", "/health?x=1");
    });
    const AcceptResult taken = acceptNext(req_, listener_, peers_);
    ASSERT_EQ(taken.rc, 0);
    EXPECT_FALSE(taken.refused.has_value());
    EXPECT_STREQ(FCGX_GetParam("DOCUMENT_URI", req_.envp), "/health");
    EXPECT_STREQ(FCGX_GetParam("QUERY_STRING", req_.envp), "x=1");
    const std::string answer = "Status: 200 OK\r\nContent-Type: text/plain\r\n\r\nhello";
    FCGX_PutStr(answer.data(), static_cast<int>(answer.size()), req_.out);
    FCGX_Finish_r(&req_);
    EXPECT_EQ(req_.ipcFd, -1);  // closed after the request, as NGINX's (no keep-alive) are
    const FastCgiAnswer got = client.get();
    EXPECT_TRUE(got.answered) << got.error;
    EXPECT_EQ(got.status, 200);
    EXPECT_EQ(got.body, "hello");
}

TEST_F(FastCgiAccept, APeerOutsideTheListIsClosedUnreadAndUnanswered) {
    const int fd = connectFrom("127.0.0.2", listener_.port());
    ASSERT_GE(fd, 0);
    const std::string junk = "not even FastCGI";
    ASSERT_EQ(::send(fd, junk.data(), junk.size(), MSG_NOSIGNAL), ssize_t(junk.size()));
    const AcceptResult taken = acceptNext(req_, listener_, peers_);
    EXPECT_EQ(taken.rc, -EAGAIN);
    ASSERT_TRUE(taken.refused.has_value());
    EXPECT_EQ(taken.refused->toString(), "127.0.0.2");
    EXPECT_EQ(req_.ipcFd, -1);  // libfcgi never saw it
    // The peer sees the connection end (a reset: its bytes were never read) without a byte.
    char byte = 0;
    timeval tv{5, 0};
    ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    EXPECT_LE(::recv(fd, &byte, 1, 0), 0);
    ::close(fd);
}

TEST_F(FastCgiAccept, AConnectionEndingBeforeItsRequestDoesNotLetLibfcgiAcceptTheNext) {
    // An allowed peer connects and leaves at once; a refused one waits behind it. libfcgi's
    // retry loop after the empty connection would accept the next connection itself: our
    // requests give it no listening socket, so it cannot, and the check sees the second one.
    const int quitter = connectFrom("127.0.0.1", listener_.port());
    ASSERT_GE(quitter, 0);
    ::close(quitter);
    const int outsider = connectFrom("127.0.0.2", listener_.port());
    ASSERT_GE(outsider, 0);
    const AcceptResult first = acceptNext(req_, listener_, peers_);
    EXPECT_EQ(first.rc, -EAGAIN);
    EXPECT_FALSE(first.refused.has_value());
    EXPECT_EQ(req_.ipcFd, -1);
    const AcceptResult second = acceptNext(req_, listener_, peers_);
    EXPECT_EQ(second.rc, -EAGAIN);
    ASSERT_TRUE(second.refused.has_value());
    EXPECT_EQ(second.refused->toString(), "127.0.0.2");
    ::close(outsider);
}

TEST_F(FastCgiAccept, NoPendingConnectionIsNothingToServe) {
    EXPECT_EQ(acceptFastCgi(req_, listener_.fd(), &peers_).rc, -EAGAIN);
}

}  // namespace
}  // namespace predictd::testing
