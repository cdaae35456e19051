// test_peer_allow_list.cpp — server.allowed_peers: parsing addresses and networks, matching
// peers (both families, IPv4-mapped IPv6), what `auto` resolves to (FCGI_WEB_SERVER_ADDRS or
// loopback), and the pool-wide rate limit of the "refused" log line.
#include <gtest/gtest.h>

#include <Poco/Net/IPAddress.h>

#include <cstdlib>
#include <string>

#include "ops/service_config.hpp"
#include "ops/service_metrics.hpp"
#include "process/peer_allow_list.hpp"

namespace predictd {
namespace {

using Poco::Net::IPAddress;

PeerAllowList parsed(const std::string& text) {
    PeerAllowList list;
    std::string error;
    EXPECT_TRUE(PeerAllowList::parse(text, &list, &error)) << text << ": " << error;
    return list;
}

std::string parseError(const std::string& text) {
    PeerAllowList list;
    std::string error;
    EXPECT_FALSE(PeerAllowList::parse(text, &list, &error)) << text << " was accepted";
    return error;
}

TEST(PeerAllowList, AddressesAndNetworksAreReadAndShownWithTheirPrefix) {
    EXPECT_EQ(parsed("10.0.0.1").describe(), "10.0.0.1/32");
    EXPECT_EQ(parsed(" 10.0.0.1 , 192.168.7.0/24,fd00::/8 ,::1").describe(),
              "10.0.0.1/32,192.168.7.0/24,fd00::/8,::1/128");
    EXPECT_EQ(parsed("10.1.2.3/16").describe(), "10.1.0.0/16");  // host bits cleared
    EXPECT_EQ(parsed("0.0.0.0/0,::/0").describe(), "0.0.0.0/0,::/0");
    EXPECT_EQ(parsed("10.0.0.1,,").describe(), "10.0.0.1/32");  // empty entries skipped
}

TEST(PeerAllowList, BadEntriesAreErrorsNamingTheEntry) {
    EXPECT_NE(parseError("nginx.internal").find("'nginx.internal'"), std::string::npos);
    EXPECT_NE(parseError("10.0.0.1,10.0.0.300").find("'10.0.0.300'"), std::string::npos);
    EXPECT_NE(parseError("10.0.0.0/33").find("0 to 32"), std::string::npos);
    EXPECT_NE(parseError("::1/129").find("0 to 128"), std::string::npos);
    EXPECT_NE(parseError("10.0.0.0/x").find("'10.0.0.0/x'"), std::string::npos);
    EXPECT_NE(parseError("10.0.0.1 10.0.0.2").find("commas"), std::string::npos);
    EXPECT_NE(parseError("").find("empty"), std::string::npos);
    EXPECT_NE(parseError(" , ").find("empty"), std::string::npos);
}

TEST(PeerAllowList, MatchesExactAddressesAndNetworksOfTheSameFamily) {
    const PeerAllowList list = parsed("10.0.0.5,192.168.7.0/24,fd00:1::/32");
    EXPECT_TRUE(list.allows(IPAddress("10.0.0.5")));
    EXPECT_FALSE(list.allows(IPAddress("10.0.0.6")));
    EXPECT_TRUE(list.allows(IPAddress("192.168.7.0")));
    EXPECT_TRUE(list.allows(IPAddress("192.168.7.255")));
    EXPECT_FALSE(list.allows(IPAddress("192.168.8.1")));
    EXPECT_TRUE(list.allows(IPAddress("fd00:1:ffff::9")));
    EXPECT_FALSE(list.allows(IPAddress("fd00:2::9")));
    EXPECT_FALSE(list.allows(IPAddress("::1")));
    EXPECT_FALSE(list.allows(IPAddress("127.0.0.1")));
    const PeerAllowList any = parsed("0.0.0.0/0,::/0");
    EXPECT_TRUE(any.allows(IPAddress("203.0.113.9")));
    EXPECT_TRUE(any.allows(IPAddress("2001:db8::9")));
}

TEST(PeerAllowList, AnIPv4MappedPeerMatchesTheIPv4Entries) {
    // A dual-stack [::] listener sees IPv4 peers as ::ffff:a.b.c.d.
    const PeerAllowList list = parsed("10.0.0.0/24");
    EXPECT_TRUE(list.allows(IPAddress("::ffff:10.0.0.9")));
    EXPECT_FALSE(list.allows(IPAddress("::ffff:10.0.1.9")));
}

TEST(PeerAllowList, TheDefaultIsLoopbackOnly) {
    const PeerAllowList list = PeerAllowList::loopback();
    EXPECT_EQ(list.describe(), "127.0.0.0/8,::1/128");
    EXPECT_TRUE(list.loopbackOnly());
    EXPECT_TRUE(list.allows(IPAddress("127.0.0.1")));
    EXPECT_TRUE(list.allows(IPAddress("127.1.2.3")));
    EXPECT_TRUE(list.allows(IPAddress("::1")));
    EXPECT_FALSE(list.allows(IPAddress("10.0.0.1")));
    EXPECT_FALSE(list.allows(IPAddress("::2")));
    EXPECT_FALSE(parsed("127.0.0.1,10.0.0.1").loopbackOnly());
}

// FCGI_WEB_SERVER_ADDRS set for one test, restored after it.
class WebServerAddrsEnv {
  public:
    explicit WebServerAddrsEnv(const char* value) {
        if (const char* old = std::getenv(kName)) {
            old_ = old;
            had_ = true;
        }
        if (value != nullptr) {
            ::setenv(kName, value, 1);
        } else {
            ::unsetenv(kName);
        }
    }
    ~WebServerAddrsEnv() {
        if (had_) {
            ::setenv(kName, old_.c_str(), 1);
        } else {
            ::unsetenv(kName);
        }
    }
    WebServerAddrsEnv(const WebServerAddrsEnv&) = delete;
    WebServerAddrsEnv& operator=(const WebServerAddrsEnv&) = delete;

  private:
    static constexpr const char* kName = "FCGI_WEB_SERVER_ADDRS";
    std::string old_;
    bool had_ = false;
};

ServiceConfig loaded(const std::vector<std::pair<std::string, std::string>>& overrides) {
    ServiceConfig c;
    std::string error;
    EXPECT_TRUE(loadServiceConfig("", overrides, &c, &error)) << error;
    return c;
}

TEST(AllowedPeersSetting, AutoIsLoopbackWithoutTheEnvironmentVariable) {
    WebServerAddrsEnv env(nullptr);
    const ServiceConfig c = loaded({});
    EXPECT_EQ(c.allowed_peers.describe(), "127.0.0.0/8,::1/128");
    EXPECT_EQ(c.allowed_peers_origin, "auto: loopback");
}

TEST(AllowedPeersSetting, AutoTakesLibfcgisEnvironmentVariable) {
    WebServerAddrsEnv env("10.0.0.1,10.0.0.2");  // libfcgi's format: addresses, commas
    const ServiceConfig c = loaded({});
    EXPECT_EQ(c.allowed_peers.describe(), "10.0.0.1/32,10.0.0.2/32");
    EXPECT_EQ(c.allowed_peers_origin, "FCGI_WEB_SERVER_ADDRS");
}

TEST(AllowedPeersSetting, AnExplicitValueWinsOverTheEnvironment) {
    WebServerAddrsEnv env("10.0.0.1");
    const ServiceConfig c = loaded({{"server.allowed_peers", "10.9.0.0/16"}});
    EXPECT_EQ(c.allowed_peers.describe(), "10.9.0.0/16");
    EXPECT_EQ(c.allowed_peers_origin, "server.allowed_peers");
}

TEST(AllowedPeersSetting, ABadValueRefusesTheConfigurationNamingWhereItCameFrom) {
    {
        WebServerAddrsEnv env(nullptr);
        ServiceConfig c;
        std::string error;
        EXPECT_FALSE(loadServiceConfig("", {{"server.allowed_peers", "nginx"}}, &c, &error));
        EXPECT_NE(error.find("server.allowed_peers: 'nginx'"), std::string::npos) << error;
    }
    WebServerAddrsEnv env("10.0.0.1;10.0.0.2");
    ServiceConfig c;
    std::string error;
    EXPECT_FALSE(loadServiceConfig("", {}, &c, &error));
    EXPECT_NE(error.find("FCGI_WEB_SERVER_ADDRS: "), std::string::npos) << error;
}

TEST(RefusedConnections, AreAllCountedAndLoggedAtMostOncePerInterval) {
    ServiceMetrics m;
    std::uint64_t unlogged = 99;
    EXPECT_TRUE(m.noteRefused(1000, 10'000, &unlogged));  // the first at once
    EXPECT_EQ(unlogged, 0U);
    for (int i = 0; i < 5; ++i) {
        EXPECT_FALSE(m.noteRefused(2000 + i, 10'000, &unlogged));
    }
    EXPECT_FALSE(m.noteRefused(10'999, 10'000, &unlogged));
    EXPECT_TRUE(m.noteRefused(11'000, 10'000, &unlogged));  // the interval has passed
    EXPECT_EQ(unlogged, 6U);                                // the six in between
    EXPECT_TRUE(m.noteRefused(30'000, 10'000, &unlogged));
    EXPECT_EQ(unlogged, 0U);
    EXPECT_EQ(m.refused.load(), 9U);
}

}  // namespace
}  // namespace predictd
