// listen_queue.cpp — accept-queue length via TCP_INFO or sock_diag (see listen_queue.hpp).
#include "process/listen_queue.hpp"

#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <linux/sock_diag.h>
#include <linux/unix_diag.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstring>

namespace predictd {
namespace {

constexpr int kTcpListen = 10;  // TCP_LISTEN in the kernel's state numbering

std::optional<ListenQueue> tcpQueue(int fd) {
    tcp_info info{};
    socklen_t len = sizeof(info);
    if (::getsockopt(fd, IPPROTO_TCP, TCP_INFO, &info, &len) != 0) {
        return std::nullopt;
    }
    // For a listener, tcpi_unacked is the accept-queue length and tcpi_sacked its backlog.
    return ListenQueue{info.tcpi_unacked, info.tcpi_sacked};
}

std::optional<ListenQueue> unixQueue(int fd) {
    struct stat st {};
    if (::fstat(fd, &st) != 0) {
        return std::nullopt;
    }
    int nl = ::socket(AF_NETLINK, SOCK_DGRAM | SOCK_CLOEXEC, NETLINK_SOCK_DIAG);
    if (nl < 0) {
        return std::nullopt;
    }
    struct {
        nlmsghdr header;
        unix_diag_req request;
    } msg{};
    msg.header.nlmsg_len = sizeof(msg);
    msg.header.nlmsg_type = SOCK_DIAG_BY_FAMILY;
    msg.header.nlmsg_flags = NLM_F_REQUEST;
    msg.request.sdiag_family = AF_UNIX;
    msg.request.udiag_states = 1u << kTcpListen;
    msg.request.udiag_ino = static_cast<__u32>(st.st_ino);
    msg.request.udiag_show = UDIAG_SHOW_RQLEN;
    msg.request.udiag_cookie[0] = static_cast<__u32>(~0u);  // INET_DIAG_NOCOOKIE
    msg.request.udiag_cookie[1] = static_cast<__u32>(~0u);

    std::optional<ListenQueue> result;
    timeval tv{0, 200'000};
    ::setsockopt(nl, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    if (::send(nl, &msg, sizeof(msg), 0) == static_cast<ssize_t>(sizeof(msg))) {
        alignas(nlmsghdr) char buf[1024];
        ssize_t n = ::recv(nl, buf, sizeof(buf), 0);
        auto* h = reinterpret_cast<nlmsghdr*>(buf);
        if (n > 0 && NLMSG_OK(h, static_cast<unsigned>(n)) &&
            h->nlmsg_type == SOCK_DIAG_BY_FAMILY) {
            auto* diag = static_cast<unix_diag_msg*>(NLMSG_DATA(h));
            int attr_len = static_cast<int>(h->nlmsg_len - NLMSG_LENGTH(sizeof(*diag)));
            for (auto* a = reinterpret_cast<rtattr*>(diag + 1); RTA_OK(a, attr_len);
                 a = RTA_NEXT(a, attr_len)) {
                if (a->rta_type == UNIX_DIAG_RQLEN && RTA_PAYLOAD(a) >= sizeof(unix_diag_rqlen)) {
                    unix_diag_rqlen q{};
                    std::memcpy(&q, RTA_DATA(a), sizeof(q));
                    result = ListenQueue{q.udiag_rqueue, q.udiag_wqueue};
                }
            }
        }
    }
    ::close(nl);
    return result;
}

}  // namespace

std::optional<ListenQueue> readListenQueue(int listen_fd) {
    sockaddr_storage ss{};
    socklen_t len = sizeof(ss);
    if (::getsockname(listen_fd, reinterpret_cast<sockaddr*>(&ss), &len) != 0) {
        return std::nullopt;
    }
    if (ss.ss_family == AF_UNIX) {
        return unixQueue(listen_fd);
    }
    return tcpQueue(listen_fd);
}

}  // namespace predictd
