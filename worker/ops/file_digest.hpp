// file_digest.hpp — a file's sha256 (Poco's SHA2Engine), for model identities in /status,
// /metrics and the model repository.
#pragma once

#include <string>

namespace predictd {

// Lower-case hex; "" when the file cannot be read.
std::string sha256OfFile(const std::string& path);

}  // namespace predictd
