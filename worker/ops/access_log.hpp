// access_log.hpp — the one access line per answered request (logger "access", when
// access_log is on): request_id, method, path, status, duration, bytes in and out.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

namespace Poco {
class Logger;
}

namespace predictd {

// `request_id` empty (NGINX sent none): "-".
void logAccess(Poco::Logger& log, const std::string& request_id, const std::string& method,
               const std::string& path, int status, std::uint64_t micros, std::size_t bytes_in,
               std::size_t bytes_out);

}  // namespace predictd
