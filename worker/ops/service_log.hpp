// service_log.hpp — where predictd's log lines go: stderr (journald) or a file that SIGUSR1
// reopens after rotation. One place sets the format for the supervisor, the workers and the
// per-request access lines.
#pragma once

#include <string>

namespace predictd {

// `file` empty: stderr. Throws Poco::Exception if the file cannot be opened.
void setUpLogging(const std::string& level, const std::string& file);

// Reopens the log file (after logrotate moved it); no-op when logging to stderr.
void reopenLogs();

}  // namespace predictd
