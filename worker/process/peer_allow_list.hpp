// peer_allow_list.hpp — which peer addresses may talk FastCGI to a TCP listening socket
// (server.allowed_peers; libfcgi's FCGI_WEB_SERVER_ADDRS idea, with CIDRs and IPv6).
//
// Owns parsing a list ("10.0.0.1, 10.1.0.0/16, ::1") and matching a peer against it, with
// Poco::Net::IPAddress doing the address arithmetic. Taking connections and refusing them is
// transport/fcgi_accept's job; what `auto` means is the settings table's.
#pragma once

#include <Poco/Net/IPAddress.h>

#include <string>
#include <vector>

struct sockaddr;

namespace predictd {

class PeerAllowList {
  public:
    // 127.0.0.0/8 and ::1: the web server on the same machine, over loopback.
    static PeerAllowList loopback();

    // A comma-separated list of addresses ("10.0.0.1", "::1") and networks ("10.0.0.0/24",
    // "fd00::/8"); spaces around entries are ignored. A network's host bits are cleared
    // ("10.0.0.7/24" is 10.0.0.0/24). Returns false with a message naming the bad entry on an
    // empty list, a host name, or a prefix longer than the address.
    static bool parse(const std::string& text, PeerAllowList* out, std::string* error);

    // An IPv4-mapped IPv6 peer (::ffff:10.0.0.1, from a dual-stack [::] listener) matches the
    // IPv4 entries as the IPv4 address it is.
    [[nodiscard]] bool allows(const Poco::Net::IPAddress& peer) const;
    // The peer of an accepted socket (AF_INET or AF_INET6; anything else is refused).
    [[nodiscard]] bool allows(const sockaddr* peer) const;

    // "127.0.0.0/8,::1/128": each network with its prefix length, in the order given.
    [[nodiscard]] std::string describe() const;
    // True when every entry is a loopback network (the default).
    [[nodiscard]] bool loopbackOnly() const;

  private:
    struct Network {
        Poco::Net::IPAddress base;  // host bits cleared
        Poco::Net::IPAddress mask;
        unsigned prefix = 0;
    };
    std::vector<Network> networks_;
};

// The address of an accepted peer (AF_INET or AF_INET6), or false for any other family.
bool peerAddress(const sockaddr* peer, Poco::Net::IPAddress* out);

}  // namespace predictd
