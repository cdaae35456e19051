// fcgi_accept.hpp — taking the next FastCGI request off a listening socket, with the peer check
// of server.allowed_peers on TCP sockets.
//
// Owns the one call that accepts: for a unix socket libfcgi's own FCGX_Accept_r (file modes
// decide who connects); for a TCP socket our accept, the peer checked against the allow-list
// before a byte is read, and only then the connection handed to libfcgi to read the request.
// Counting and logging refusals is the worker loop's; the list itself is
// process/peer_allow_list's.
#pragma once

#include <fcgiapp.h>

#include <Poco/Net/IPAddress.h>

#include <cerrno>
#include <optional>

#include "process/peer_allow_list.hpp"

namespace predictd {

// True when `fd` is a TCP (IPv4 or IPv6) socket: its connections get the peer check.
bool isTcpSocket(int fd);

// FCGX_InitRequest for `listen_fd`. A TCP socket's request is given no listening socket (-1):
// libfcgi then never accepts on it by itself (it would after a connection that ends before its
// request, FCGX_Accept_r's retry loop), so every TCP connection passes acceptFastCgi's check.
int initFastCgiRequest(FCGX_Request& req, int listen_fd, bool tcp);

struct AcceptResult {
    // 0: a request was read into `req`. -EAGAIN: nothing to serve (another worker won the
    // connection, or it was refused, or it closed before a whole request). Other -errno: an error.
    int rc = -EAGAIN;
    std::optional<Poco::Net::IPAddress> refused;  // set when the peer was refused
};

// Takes the next connection from `listen_fd` (non-blocking) and reads its request's params into
// `req`. `peers` null: libfcgi accepts (unix sockets). Otherwise a connection whose peer `peers`
// does not allow is closed at once, unread and unanswered. Callers serialise calls on one
// process's requests (libfcgi's accept path takes no lock of its own).
AcceptResult acceptFastCgi(FCGX_Request& req, int listen_fd, const PeerAllowList* peers);

}  // namespace predictd
