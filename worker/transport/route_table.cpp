// route_table.cpp — segment-by-segment matching of a path against the route table.
#include "transport/route_table.hpp"

namespace predictd {
namespace {

// Next '/'-separated segment of `s` from `pos` (which points just past a '/').
std::string_view segment(std::string_view s, std::size_t& pos) {
    const std::size_t end = s.find('/', pos);
    const std::string_view seg = s.substr(pos, end == std::string_view::npos ? s.npos : end - pos);
    pos = end == std::string_view::npos ? s.size() + 1 : end + 1;
    return seg;
}

}  // namespace

std::optional<RouteMatch> matchRoute(std::string_view path) {
    if (path.empty() || path.front() != '/') {
        return std::nullopt;
    }
    for (const HttpRoute& route : kRoutes) {
        const std::string_view pattern = route.pattern;
        RouteMatch m{&route, {}};
        std::size_t pp = 1;
        std::size_t sp = 1;
        bool ok = true;
        while (ok && pp <= pattern.size() && sp <= path.size()) {
            const std::string_view want = segment(pattern, pp);
            const std::string_view got = segment(path, sp);
            const std::size_t close =
                want.size() > 2 && want.front() == '{' ? want.find('}') : std::string_view::npos;
            if (close != std::string_view::npos) {
                // {name} or {name}suffix: a non-empty value, then the literal suffix.
                const std::string_view suffix = want.substr(close + 1);
                ok = got.size() > suffix.size() && got.ends_with(suffix);
                m.params.emplace_back(std::string(want.substr(1, close - 1)),
                                      std::string(got.substr(0, got.size() - suffix.size())));
            } else {
                ok = want == got;
            }
        }
        if (ok && pp > pattern.size() && sp > path.size()) {
            return m;
        }
    }
    return std::nullopt;
}

std::optional<std::string> RouteMatch::param(std::string_view name) const {
    for (const auto& [key, value] : params) {
        if (key == name) {
            return value;
        }
    }
    return std::nullopt;
}

ApiProtocol protocolOfPath(std::string_view path) {
    if (path == "/v2" || path.starts_with("/v2/")) {
        return ApiProtocol::kV2;
    }
    if (path == "/v1" || path.starts_with("/v1/")) {
        return ApiProtocol::kTfServing;
    }
    return ApiProtocol::kNative;
}

bool routeAllows(const HttpRoute& route, std::string_view method) {
    const std::string_view allow = route.allow;
    if (method == "HEAD") {
        method = "GET";
    }
    std::size_t pos = 0;
    while (pos < allow.size()) {
        std::size_t end = allow.find(", ", pos);
        if (end == std::string_view::npos) {
            end = allow.size();
        }
        if (allow.substr(pos, end - pos) == method) {
            return true;
        }
        pos = end + 2;
    }
    return false;
}

}  // namespace predictd
