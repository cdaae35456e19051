// private_memory.cpp — private resident memory from /proc/self/smaps_rollup (see
// private_memory.hpp).
#include "process/private_memory.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <charconv>
#include <string>

namespace predictd {
namespace {

// The kB figure of a "Name:   1234 kB" line, if `line` is that field.
std::optional<std::uint64_t> fieldKb(std::string_view line, std::string_view name) {
    if (line.substr(0, name.size()) != name || line.size() == name.size() ||
        line[name.size()] != ':') {
        return std::nullopt;
    }
    std::string_view rest = line.substr(name.size() + 1);
    while (!rest.empty() && (rest.front() == ' ' || rest.front() == '\t')) {
        rest.remove_prefix(1);
    }
    std::uint64_t kb = 0;
    const auto [end, ec] = std::from_chars(rest.data(), rest.data() + rest.size(), kb);
    if (ec != std::errc() || std::string_view(end, rest.data() + rest.size()) != " kB") {
        return std::nullopt;
    }
    return kb;
}

}  // namespace

std::optional<std::uint64_t> parsePrivateBytes(std::string_view text) {
    std::uint64_t kb = 0;
    bool found = false;
    while (!text.empty()) {
        const std::size_t nl = text.find('\n');
        const std::string_view line = text.substr(0, nl);
        text.remove_prefix(nl == std::string_view::npos ? text.size() : nl + 1);
        for (const std::string_view name : {"Private_Clean", "Private_Dirty"}) {
            if (const auto v = fieldKb(line, name)) {
                kb += *v;
                found = true;
            }
        }
    }
    if (!found) {
        return std::nullopt;
    }
    return kb * 1024;
}

std::optional<std::uint64_t> privateMemoryBytes() {
    // A few hundred bytes; read with plain syscalls: this runs once a second in every worker.
    const int fd = ::open("/proc/self/smaps_rollup", O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        return std::nullopt;
    }
    std::string text;
    char buf[4096];
    for (;;) {
        const ssize_t n = ::read(fd, buf, sizeof(buf));
        if (n <= 0) {
            break;
        }
        text.append(buf, static_cast<std::size_t>(n));
    }
    ::close(fd);
    return parsePrivateBytes(text);
}

}  // namespace predictd
