// listen_queue.hpp — how many connections wait in the listening socket's accept queue.
//
// PHP-FPM reports this for TCP only (0 on unix sockets). Here: TCP_INFO for TCP listeners, and
// the sock_diag netlink interface (UDIAG_SHOW_RQLEN) for unix listeners, where the kernel
// reports the queue length and the backlog of a listening socket by its inode. Hand-written
// because no library we use exposes either.
#pragma once

#include <cstdint>
#include <optional>

namespace predictd {

struct ListenQueue {
    std::uint32_t queued = 0;   // connections waiting for accept()
    std::uint32_t backlog = 0;  // the queue's capacity
};

std::optional<ListenQueue> readListenQueue(int listen_fd);

}  // namespace predictd
