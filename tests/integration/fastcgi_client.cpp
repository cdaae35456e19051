// fastcgi_client.cpp — a minimal FastCGI 1.0 responder client (see fastcgi_client.hpp).
#include "fastcgi_client.hpp"

#include <netdb.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstring>
#include <utility>
#include <vector>

namespace predictd::testing {
namespace {

// FastCGI 1.0 record types and the responder role (the specification's section 8).
constexpr std::uint8_t kBeginRequest = 1;
constexpr std::uint8_t kEndRequest = 3;
constexpr std::uint8_t kParams = 4;
constexpr std::uint8_t kStdin = 5;
constexpr std::uint8_t kStdout = 6;
constexpr std::uint16_t kResponder = 1;
constexpr std::uint16_t kRequestId = 1;

void appendRecord(std::string& out, std::uint8_t type, const std::string& content) {
    std::size_t offset = 0;
    do {  // an empty record ends a stream, so an empty content still writes one
        const std::size_t n = std::min<std::size_t>(content.size() - offset, 65535);
        const char header[8] = {1,
                                static_cast<char>(type),
                                static_cast<char>(kRequestId >> 8),
                                static_cast<char>(kRequestId & 0xff),
                                static_cast<char>(n >> 8),
                                static_cast<char>(n & 0xff),
                                0,
                                0};
        out.append(header, sizeof(header));
        out.append(content, offset, n);
        offset += n;
    } while (offset < content.size());
}

void appendLength(std::string& out, std::size_t n) {
    if (n < 128) {
        out += static_cast<char>(n);
    } else {
        out += static_cast<char>(0x80 | ((n >> 24) & 0x7f));
        out += static_cast<char>((n >> 16) & 0xff);
        out += static_cast<char>((n >> 8) & 0xff);
        out += static_cast<char>(n & 0xff);
    }
}

bool sendAll(int fd, const std::string& data) {
    std::size_t sent = 0;
    while (sent < data.size()) {
        // MSG_NOSIGNAL: a refused connection is reset under us; that is an answer, not a SIGPIPE.
        const ssize_t n = ::send(fd, data.data() + sent, data.size() - sent, MSG_NOSIGNAL);
        if (n <= 0) {
            return false;
        }
        sent += static_cast<std::size_t>(n);
    }
    return true;
}

// Reads exactly n bytes; false on end of stream, reset or timeout.
bool readExactly(int fd, char* buf, std::size_t n, std::string* error) {
    std::size_t got = 0;
    while (got < n) {
        const ssize_t r = ::recv(fd, buf + got, n - got, 0);
        if (r == 0) {
            *error = "connection closed by predictd";
            return false;
        }
        if (r < 0) {
            if (errno == EINTR) {
                continue;
            }
            *error = std::string("recv: ") + std::strerror(errno);
            return false;
        }
        got += static_cast<std::size_t>(r);
    }
    return true;
}

}  // namespace

FastCgiAnswer fastCgiRequest(const std::string& host, int port, const std::string& method,
                             const std::string& path, const std::string& body,
                             const std::string& content_type, int timeout_s) {
    FastCgiAnswer answer;
    addrinfo hints{};
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_NUMERICHOST | AI_NUMERICSERV;
    addrinfo* res = nullptr;
    if (::getaddrinfo(host.c_str(), std::to_string(port).c_str(), &hints, &res) != 0) {
        answer.error = "bad address " + host;
        return answer;
    }
    const int fd = ::socket(res->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    timeval tv{timeout_s, 0};
    ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
    answer.connected = fd >= 0 && ::connect(fd, res->ai_addr, res->ai_addrlen) == 0;
    ::freeaddrinfo(res);
    if (!answer.connected) {
        answer.error = std::string("connect: ") + std::strerror(errno);
        if (fd >= 0) {
            ::close(fd);
        }
        return answer;
    }

    std::string request;
    const char begin[8] = {0, static_cast<char>(kResponder), 0, 0, 0, 0, 0, 0};  // flags 0
    appendRecord(request, kBeginRequest, std::string(begin, sizeof(begin)));
    std::string params;
    const auto query = path.find('?');
    const std::vector<std::pair<std::string, std::string>> vars = {
        {"REQUEST_METHOD", method},
        {"DOCUMENT_URI", path.substr(0, query)},
        {"REQUEST_URI", path},
        {"QUERY_STRING", query == std::string::npos ? "" : path.substr(query + 1)},
        {"CONTENT_TYPE", content_type},
        {"CONTENT_LENGTH", std::to_string(body.size())},
        {"SERVER_PROTOCOL", "HTTP/1.1"},
        {"REQUEST_ID", "fastcgi-test-client"},
    };
    for (const auto& [name, value] : vars) {
        appendLength(params, name.size());
        appendLength(params, value.size());
        params += name;
        params += value;
    }
    appendRecord(request, kParams, params);
    appendRecord(request, kParams, "");
    if (!body.empty()) {
        appendRecord(request, kStdin, body);
    }
    appendRecord(request, kStdin, "");
    // A refused connection may be closed before or while we write: the read below says so.
    sendAll(fd, request);

    std::string out;
    for (;;) {
        char header[8];
        if (!readExactly(fd, header, sizeof(header), &answer.error)) {
            break;
        }
        const auto type = static_cast<std::uint8_t>(header[1]);
        const std::size_t length =
            (static_cast<std::size_t>(static_cast<std::uint8_t>(header[4])) << 8) |
            static_cast<std::uint8_t>(header[5]);
        const std::size_t padding = static_cast<std::uint8_t>(header[6]);
        std::string content(length + padding, '\0');
        if (!readExactly(fd, content.data(), content.size(), &answer.error)) {
            break;
        }
        if (type == kStdout) {
            out.append(content, 0, length);
        } else if (type == kEndRequest) {
            answer.answered = true;
            break;
        }
    }
    ::close(fd);
    if (!answer.answered) {
        return answer;
    }
    const auto end = out.find("\r\n\r\n");
    answer.body = end == std::string::npos ? "" : out.substr(end + 4);
    if (out.rfind("Status: ", 0) == 0) {
        answer.status = std::atoi(out.c_str() + 8);
    }
    return answer;
}

}  // namespace predictd::testing
