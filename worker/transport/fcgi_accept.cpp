// fcgi_accept.cpp — accepting FastCGI connections, checking TCP peers (see fcgi_accept.hpp).
//
// Why the check sits before libfcgi, not after FCGX_Accept_r: FCGX_Accept_r accepts and then
// reads FCGI_BEGIN_REQUEST and every param from the new connection, blocking (an accepted
// socket is blocking), while our acceptors hold the accept mutex. Checking the peer afterwards
// would let anyone who can reach the port have libfcgi parse their bytes, and pin a worker by
// connecting and sending nothing. libfcgi's own FCGI_WEB_SERVER_ADDRS check happens at the right
// moment but covers IPv4 only (every IPv6 peer passes), exact addresses only, and is silent.
//
// The hand-over: FCGX_Accept_r reads the request from req.ipcFd when it is already open and
// accepts only when it is < 0; FCGX_Finish_r at its start closes that descriptor unless
// req.keepConnection is set (libfcgi fcgiapp.c, FCGX_Accept_r and FCGX_Finish_r, 2.4.2). That is
// exactly the state libfcgi leaves after a request on an FCGI_KEEP_CONN connection, so setting
// ipcFd to our accepted connection and keepConnection to 1 makes libfcgi read the request from
// it as from a kept-alive one. The request's own FCGI_BEGIN_REQUEST then sets keepConnection
// again (0 from NGINX without fastcgi_keep_conn), so FCGX_Finish_r closes it as before.
#include "transport/fcgi_accept.hpp"

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>

namespace predictd {

bool isTcpSocket(int fd) {
    sockaddr_storage ss{};
    socklen_t len = sizeof(ss);
    if (fd < 0 || ::getsockname(fd, reinterpret_cast<sockaddr*>(&ss), &len) != 0) {
        return false;
    }
    return ss.ss_family == AF_INET || ss.ss_family == AF_INET6;
}

int initFastCgiRequest(FCGX_Request& req, int listen_fd, bool tcp) {
    return FCGX_InitRequest(&req, tcp ? -1 : listen_fd, FCGI_FAIL_ACCEPT_ON_INTR);
}

AcceptResult acceptFastCgi(FCGX_Request& req, int listen_fd, const PeerAllowList* peers) {
    AcceptResult result;
    // A connection kept open by FCGI_KEEP_CONN (not used by our NGINX configuration) carries its
    // next request: libfcgi reads it from there, as it always has.
    if (peers == nullptr || req.ipcFd >= 0) {
        result.rc = FCGX_Accept_r(&req);
        return result;
    }
    sockaddr_storage peer{};
    socklen_t len = sizeof(peer);
    const int fd = ::accept4(listen_fd, reinterpret_cast<sockaddr*>(&peer), &len, SOCK_CLOEXEC);
    if (fd < 0) {
        // EAGAIN: another worker won it; ECONNABORTED and the like: the peer gave up first.
        result.rc = errno == EAGAIN || errno == EWOULDBLOCK || errno == ECONNABORTED ||
                            errno == EINTR || errno == EPROTO
                        ? -EAGAIN
                        : -errno;
        return result;
    }
    const auto* sa = reinterpret_cast<const sockaddr*>(&peer);
    if (!peers->allows(sa)) {
        Poco::Net::IPAddress address;
        result.refused = peerAddress(sa, &address) ? address : Poco::Net::IPAddress();
        ::close(fd);  // unread: the peer sees the connection end without an answer
        return result;
    }
    // Small records, answered at once: no Nagle delay (libfcgi's OS_Accept does the same).
    int one = 1;
    ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    req.ipcFd = fd;
    req.keepConnection = 1;  // "do not close ipcFd": read the request from it (see above)
    result.rc = FCGX_Accept_r(&req);
    if (result.rc != 0) {
        // The connection ended (or spoke no FastCGI) before a whole request: libfcgi closed it,
        // and, having no listening socket for this request, went no further.
        result.rc = -EAGAIN;
        if (req.ipcFd >= 0) {  // not expected; never leak it
            ::close(req.ipcFd);
            req.ipcFd = -1;
        }
    }
    return result;
}

}  // namespace predictd
