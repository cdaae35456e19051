// listen_socket.cpp — binding the unix or TCP listening socket (see listen_socket.hpp).
#include "process/listen_socket.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <grp.h>
#include <netdb.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <cstring>
#include <utility>

namespace predictd {

std::string ListenAddress::describe() const {
    if (kind == Kind::kUnix) {
        return "unix:" + path;
    }
    if (host.find(':') != std::string::npos) {
        return "tcp:[" + host + "]:" + std::to_string(port);
    }
    return "tcp:" + host + ":" + std::to_string(port);
}

bool parseListenAddress(const std::string& text, ListenAddress* out, std::string* error) {
    ListenAddress a;
    if (text.rfind("unix:", 0) == 0 || text.rfind('/', 0) == 0) {
        a.kind = ListenAddress::Kind::kUnix;
        a.path = text.rfind("unix:", 0) == 0 ? text.substr(5) : text;
        if (a.path.empty() || a.path.size() >= sizeof(sockaddr_un::sun_path)) {
            *error = "unix socket path is empty or longer than " +
                     std::to_string(sizeof(sockaddr_un::sun_path) - 1) + " bytes: '" + text + "'";
            return false;
        }
        *out = a;
        return true;
    }
    if (text.rfind("tcp:", 0) != 0) {
        *error = "listen address must start with unix: or tcp: — got '" + text + "'";
        return false;
    }
    std::string rest = text.substr(4);
    std::size_t colon = rest.rfind(':');
    if (colon == std::string::npos || colon == 0) {
        *error = "tcp listen address needs HOST:PORT — got '" + text + "'";
        return false;
    }
    a.kind = ListenAddress::Kind::kTcp;
    a.host = rest.substr(0, colon);
    if (a.host.size() >= 2 && a.host.front() == '[' && a.host.back() == ']') {
        a.host = a.host.substr(1, a.host.size() - 2);
    }
    std::string port = rest.substr(colon + 1);
    auto [ptr, ec] = std::from_chars(port.data(), port.data() + port.size(), a.port);
    if (ec != std::errc() || ptr != port.data() + port.size() || a.port < 1 || a.port > 65535) {
        *error = "bad tcp port in '" + text + "'";
        return false;
    }
    *out = a;
    return true;
}

ListenSocket::~ListenSocket() {
    if (fd_ >= 0) {
        ::close(fd_);
        if (owns_path_) {
            ::unlink(address_.path.c_str());
        }
    }
}

ListenSocket::ListenSocket(ListenSocket&& other) noexcept
    : fd_(std::exchange(other.fd_, -1)),
      address_(std::move(other.address_)),
      owns_path_(std::exchange(other.owns_path_, false)) {}

ListenSocket& ListenSocket::operator=(ListenSocket&& other) noexcept {
    if (this != &other) {
        ListenSocket old(std::move(*this));
        fd_ = std::exchange(other.fd_, -1);
        address_ = std::move(other.address_);
        owns_path_ = std::exchange(other.owns_path_, false);
    }
    return *this;
}

void ListenSocket::release() {
    if (fd_ >= 0) {
        ::close(fd_);
    }
    fd_ = -1;
    owns_path_ = false;
}

namespace {

std::string errnoText(const std::string& what) {
    return what + ": " + std::strerror(errno);
}

int bindUnix(const ListenAddress& a, unsigned mode, const std::string& group, std::string* error) {
    int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0);
    if (fd < 0) {
        *error = errnoText("socket(AF_UNIX)");
        return -1;
    }
    sockaddr_un sa{};
    sa.sun_family = AF_UNIX;
    std::memcpy(sa.sun_path, a.path.c_str(), a.path.size() + 1);
    // A socket file left by a previous run (crash, SIGKILL) would make bind fail with EADDRINUSE.
    // Remove it only if it is a socket: never unlink a regular file by mistake.
    struct stat st {};
    if (::lstat(a.path.c_str(), &st) == 0 && S_ISSOCK(st.st_mode)) {
        ::unlink(a.path.c_str());
    }
    if (::bind(fd, reinterpret_cast<sockaddr*>(&sa), sizeof(sa)) != 0) {
        *error = errnoText("bind(" + a.path + ")");
        ::close(fd);
        return -1;
    }
    if (!group.empty()) {
        struct group* gr = ::getgrnam(group.c_str());  // start-up only, single-threaded
        if (gr == nullptr || ::chown(a.path.c_str(), static_cast<uid_t>(-1), gr->gr_gid) != 0) {
            *error = gr == nullptr ? "unknown socket group '" + group + "'"
                                   : errnoText("chown(" + a.path + ", group " + group + ")");
            ::close(fd);
            ::unlink(a.path.c_str());
            return -1;
        }
    }
    if (::chmod(a.path.c_str(), mode) != 0) {
        *error = errnoText("chmod(" + a.path + ")");
        ::close(fd);
        ::unlink(a.path.c_str());
        return -1;
    }
    return fd;
}

int bindTcp(const ListenAddress& a, std::string* error) {
    addrinfo hints{};
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_NUMERICHOST | AI_PASSIVE;
    addrinfo* res = nullptr;
    std::string port = std::to_string(a.port);
    int rc = ::getaddrinfo(a.host.c_str(), port.c_str(), &hints, &res);
    if (rc != 0) {
        *error = "listen host '" + a.host + "' must be a numeric address: " + gai_strerror(rc);
        return -1;
    }
    int fd = ::socket(res->ai_family, SOCK_STREAM | SOCK_NONBLOCK, 0);
    if (fd < 0) {
        *error = errnoText("socket(AF_INET)");
        ::freeaddrinfo(res);
        return -1;
    }
    int one = 1;
    ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    if (::bind(fd, res->ai_addr, res->ai_addrlen) != 0) {
        *error = errnoText("bind(" + a.describe() + ")");
        ::close(fd);
        fd = -1;
    }
    ::freeaddrinfo(res);
    return fd;
}

}  // namespace

ListenSocket ListenSocket::open(const ListenAddress& address, int backlog, unsigned unix_mode,
                                const std::string& unix_group, std::string* error) {
    ListenSocket s;
    int fd = address.kind == ListenAddress::Kind::kUnix
                 ? bindUnix(address, unix_mode, unix_group, error)
                 : bindTcp(address, error);
    if (fd < 0) {
        return s;
    }
    s.fd_ = fd;
    s.address_ = address;
    s.owns_path_ = address.kind == ListenAddress::Kind::kUnix;
    if (::listen(fd, backlog) != 0) {
        *error = errnoText("listen(" + address.describe() + ")");
        return ListenSocket{};  // s's destructor closes and unlinks
    }
    return s;
}

ListenSocket ListenSocket::adopt(int fd, std::string* error) {
    ListenSocket s;
    int listening = 0;
    socklen_t len = sizeof(listening);
    if (::getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &listening, &len) != 0 || listening == 0) {
        *error = "inherited descriptor " + std::to_string(fd) + " is not a listening socket";
        return s;
    }
    sockaddr_storage ss{};
    len = sizeof(ss);
    if (::getsockname(fd, reinterpret_cast<sockaddr*>(&ss), &len) != 0) {
        *error = errnoText("getsockname");
        return s;
    }
    ListenAddress a;
    if (ss.ss_family == AF_UNIX) {
        a.kind = ListenAddress::Kind::kUnix;
        a.path = reinterpret_cast<sockaddr_un*>(&ss)->sun_path;
    } else {
        char host[INET6_ADDRSTRLEN] = {};
        a.kind = ListenAddress::Kind::kTcp;
        if (ss.ss_family == AF_INET) {
            auto* in = reinterpret_cast<sockaddr_in*>(&ss);
            ::inet_ntop(AF_INET, &in->sin_addr, host, sizeof(host));
            a.port = ntohs(in->sin_port);
        } else {
            auto* in6 = reinterpret_cast<sockaddr_in6*>(&ss);
            ::inet_ntop(AF_INET6, &in6->sin6_addr, host, sizeof(host));
            a.port = ntohs(in6->sin6_port);
        }
        a.host = host;
    }
    ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) | O_NONBLOCK);   // workers poll it
    ::fcntl(fd, F_SETFD, ::fcntl(fd, F_GETFD) & ~FD_CLOEXEC);  // workers inherit it
    s.fd_ = fd;
    s.address_ = a;
    s.owns_path_ = false;
    return s;
}

}  // namespace predictd
