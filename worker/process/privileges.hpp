// privileges.hpp — giving up root after the socket is bound, and keeping request data out of
// core dumps.
#pragma once

#include <string>

namespace predictd {

// Started as root with `user` set: switch the whole process to `user` (and `group`, or the
// user's primary group), with only that group as supplementary groups, irreversibly. A no-op
// when `user` is empty. Not root and `user` names someone else: an error.
bool dropPrivileges(const std::string& user, const std::string& group, std::string* error);

// No core files (RLIMIT_CORE = 0) and not dumpable: a crash must not write request images or
// model memory to disk, and other users' processes cannot ptrace us.
void disableCoreDumps();

}  // namespace predictd
