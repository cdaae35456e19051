// peer_allow_list.cpp — parsing and matching server.allowed_peers (see peer_allow_list.hpp).
//
// libfcgi's own FCGI_WEB_SERVER_ADDRS check (os_unix.c, ClientAddrOK) compares IPv4 peers with
// inet_addr() against each listed address and lets every IPv6 peer through; this one takes
// networks too and checks both families.
#include "process/peer_allow_list.hpp"

#include <Poco/Exception.h>
#include <Poco/NumberParser.h>
#include <Poco/StringTokenizer.h>
#include <sys/socket.h>

#include <algorithm>
#include <cstdint>
#include <cstring>

namespace predictd {
namespace {

using Poco::Net::IPAddress;

unsigned maxPrefix(const IPAddress& a) {
    return a.family() == IPAddress::IPv4 ? 32U : 128U;
}

// Same family and the same bytes: IPAddress::operator== also compares IPv6 scope ids, which a
// link-local peer has and a configured network does not.
bool sameBytes(const IPAddress& a, const IPAddress& b) {
    return a.family() == b.family() && a.length() == b.length() &&
           std::memcmp(a.addr(), b.addr(), a.length()) == 0;
}

IPAddress unmapped(const IPAddress& peer) {
    if (peer.family() == IPAddress::IPv6 && peer.isIPv4Mapped()) {
        return IPAddress(static_cast<const std::uint8_t*>(peer.addr()) + 12, 4);
    }
    return peer;
}

}  // namespace

PeerAllowList PeerAllowList::loopback() {
    PeerAllowList list;
    std::string error;
    parse("127.0.0.0/8,::1", &list, &error);
    return list;
}

bool PeerAllowList::parse(const std::string& text, PeerAllowList* out, std::string* error) {
    PeerAllowList list;
    Poco::StringTokenizer entries(
        text, ",", Poco::StringTokenizer::TOK_TRIM | Poco::StringTokenizer::TOK_IGNORE_EMPTY);
    for (const std::string& entry : entries) {
        if (entry.find_first_of(" \t") != std::string::npos) {
            // inet_aton, under IPAddress::tryParse, would read "10.0.0.1 10.0.0.2" as the first
            // address alone.
            *error = "'" + entry + "': separate the entries with commas";
            return false;
        }
        const auto slash = entry.find('/');
        const std::string host = entry.substr(0, slash);
        IPAddress address;
        if (host == "::") {  // IPAddress::tryParse refuses the all-zero IPv6 address (for ::/0)
            address = IPAddress(IPAddress::IPv6);
        } else if (!IPAddress::tryParse(host, address)) {
            *error = "'" + entry + "' is not an IP address or network (ADDRESS or ADDRESS/PREFIX)";
            return false;
        }
        unsigned prefix = maxPrefix(address);
        if (slash != std::string::npos &&
            (!Poco::NumberParser::tryParseUnsigned(entry.substr(slash + 1), prefix) ||
             prefix > maxPrefix(address))) {
            *error = "'" + entry + "': the prefix length must be 0 to " +
                     std::to_string(maxPrefix(address));
            return false;
        }
        try {
            Network n;
            n.mask = IPAddress(prefix, address.family());
            n.base = address & n.mask;
            n.prefix = prefix;
            list.networks_.push_back(n);
        } catch (const Poco::Exception& e) {  // not expected for a parsed address
            *error = "'" + entry + "': " + e.displayText();
            return false;
        }
    }
    if (list.networks_.empty()) {
        *error = "the list is empty (give addresses or networks, e.g. 127.0.0.1,10.0.0.0/24)";
        return false;
    }
    *out = std::move(list);
    return true;
}

bool PeerAllowList::allows(const IPAddress& peer) const {
    const IPAddress p = unmapped(peer);
    return std::any_of(networks_.begin(), networks_.end(), [&p](const Network& n) {
        return p.family() == n.base.family() && sameBytes(p & n.mask, n.base);
    });
}

bool PeerAllowList::allows(const sockaddr* peer) const {
    IPAddress address;
    return peerAddress(peer, &address) && allows(address);
}

std::string PeerAllowList::describe() const {
    std::string out;
    for (const Network& n : networks_) {
        if (!out.empty()) {
            out += ',';
        }
        out += n.base.toString();
        out += '/';
        out += std::to_string(n.prefix);
    }
    return out;
}

bool PeerAllowList::loopbackOnly() const {
    return std::all_of(networks_.begin(), networks_.end(),
                       [](const Network& n) { return n.base.isLoopback(); });
}

bool peerAddress(const sockaddr* peer, IPAddress* out) {
    if (peer == nullptr || (peer->sa_family != AF_INET && peer->sa_family != AF_INET6)) {
        return false;
    }
    *out = IPAddress(*peer);
    return true;
}

}  // namespace predictd
