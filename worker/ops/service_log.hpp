// service_log.hpp — where predictd's log lines go: stderr (journald) or a file that SIGUSR1
// reopens after rotation. One place sets the format for the supervisor, the workers and the
// per-request access lines.
#pragma once

#include <chrono>
#include <cstddef>
#include <string>

namespace predictd {

// `file` empty: stderr. Throws Poco::Exception if the file cannot be opened. Access lines
// (logger "access") are buffered up to `access_buffer_bytes` or `access_flush` (0 bytes: each
// line written at once).
void setUpLogging(const std::string& level, const std::string& file,
                  std::size_t access_buffer_bytes = 0,
                  std::chrono::milliseconds access_flush = std::chrono::milliseconds(1000));

// Writes the buffered access lines if the oldest is due (or at once with `force`). The worker's
// watch loop calls it about twice a second, and with force before it exits.
void flushAccessLog(bool force);

// Reopens the log file (after logrotate moved it); no-op when logging to stderr.
void reopenLogs();

}  // namespace predictd
