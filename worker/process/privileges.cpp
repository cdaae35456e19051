// privileges.cpp — dropping root and disabling core dumps (see privileges.hpp).
#include "process/privileges.hpp"

#include <grp.h>
#include <pwd.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace predictd {

bool dropPrivileges(const std::string& user, const std::string& group, std::string* error) {
    if (user.empty()) {
        return true;
    }
    const passwd* pw = ::getpwnam(user.c_str());  // start-up only, single-threaded
    if (pw == nullptr) {
        *error = "unknown user '" + user + "'";
        return false;
    }
    const uid_t uid = pw->pw_uid;
    gid_t gid = pw->pw_gid;
    if (!group.empty()) {
        const struct group* gr = ::getgrnam(group.c_str());
        if (gr == nullptr) {
            *error = "unknown group '" + group + "'";
            return false;
        }
        gid = gr->gr_gid;
    }
    if (::geteuid() != 0) {
        if (::geteuid() == uid) {
            return true;  // already that user
        }
        *error = "switching to user '" + user + "' needs root";
        return false;
    }
    if (::setgroups(1, &gid) != 0 || ::setgid(gid) != 0 || ::setuid(uid) != 0) {
        *error = std::string("cannot switch to ") + user + ": " + std::strerror(errno);
        return false;
    }
    if (::setuid(0) == 0) {  // must be impossible now
        *error = "still able to regain root after switching to " + user;
        return false;
    }
    return true;
}

void disableCoreDumps() {
    rlimit none{0, 0};
    ::setrlimit(RLIMIT_CORE, &none);
    ::prctl(PR_SET_DUMPABLE, 0);
}

}  // namespace predictd
