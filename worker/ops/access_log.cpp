// access_log.cpp — formats and writes the access line (see access_log.hpp).
#include "ops/access_log.hpp"

#include <Poco/Logger.h>

#include <cstdio>

namespace predictd {

void logAccess(Poco::Logger& log, const std::string& request_id, const std::string& method,
               const std::string& path, int status, std::uint64_t micros, std::size_t bytes_in,
               std::size_t bytes_out) {
    char line[512];
    std::snprintf(line, sizeof(line),
                  "request_id=%s method=%s path=%s status=%d duration_ms=%.3f bytes_in=%zu "
                  "bytes_out=%zu",
                  request_id.empty() ? "-" : request_id.c_str(), method.c_str(), path.c_str(),
                  status, static_cast<double>(micros) / 1000.0, bytes_in, bytes_out);
    log.information(line);
}

}  // namespace predictd
