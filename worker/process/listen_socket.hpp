// listen_socket.hpp — the listening socket the supervisor opens once and every worker inherits.
//
// Owns parsing a listen address ("unix:/path", "tcp:127.0.0.1:9000", "tcp:[::1]:9000"),
// binding it (unlinking a stale unix socket file first, then applying its mode), and closing it
// (removing the socket file again). Workers only ever see the file descriptor.
#pragma once

#include <string>

namespace predictd {

struct ListenAddress {
    enum class Kind { kUnix, kTcp } kind = Kind::kUnix;
    std::string path;  // kUnix
    std::string host;  // kTcp, without brackets
    int port = 0;      // kTcp

    [[nodiscard]] std::string describe() const;
};

// Parses "unix:/path", "/path" (unix), "tcp:HOST:PORT", "tcp:[V6]:PORT". Returns false and sets
// *error on malformed input.
bool parseListenAddress(const std::string& text, ListenAddress* out, std::string* error);

class ListenSocket {
  public:
    ListenSocket() = default;
    ~ListenSocket();
    ListenSocket(const ListenSocket&) = delete;
    ListenSocket& operator=(const ListenSocket&) = delete;
    ListenSocket(ListenSocket&& other) noexcept;
    ListenSocket& operator=(ListenSocket&& other) noexcept;

    // Binds and listens. The descriptor is non-blocking (workers poll it, see
    // transport/worker_loop.cpp) and is inherited across fork. `unix_mode` and `unix_group` (a
    // group name; empty keeps the process's group) apply to unix sockets only.
    static ListenSocket open(const ListenAddress& address, int backlog, unsigned unix_mode,
                             const std::string& unix_group, std::string* error);

    // Takes over a listening socket passed by systemd socket activation (LISTEN_FDS). The
    // socket file, if any, stays systemd's: it is never unlinked here.
    static ListenSocket adopt(int fd, std::string* error);

    [[nodiscard]] int fd() const { return fd_; }
    [[nodiscard]] bool valid() const { return fd_ >= 0; }
    [[nodiscard]] const ListenAddress& address() const { return address_; }

    // Closes the descriptor in this process without removing the socket file (used by workers
    // that must not unlink what the supervisor owns).
    void release();

  private:
    int fd_ = -1;
    ListenAddress address_;
    bool owns_path_ = false;
};

}  // namespace predictd
