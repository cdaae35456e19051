// test_scale_out.cpp — several hosts behind one NGINX, tested for real (README, "Scaling out").
//
// Three hosts built from network namespaces on one private /24 (tests/integration/
// netns_hosts.hpp): the hub runs NGINX from nginx/predictd-upstream.conf.example as shipped
// (addresses and paths rewritten), h1 and h2 each run the real predictd supervisor listening on
// TCP with server.allowed_peers = the hub's address, and a fourth, `out`, is a machine on the same
// network that is not allowed. Under continuous bounded load through NGINX: SIGKILL h1's whole
// process group → no request fails (NGINX retries on h2); restart it → it takes traffic again;
// a FastCGI request from `out` is closed unanswered and counted, while the same request from
// the hub is answered. Needs root (namespaces); skips with the reason otherwise.
#include <signal.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "client_load.hpp"
#include "fastcgi_client.hpp"
#include "netns_hosts.hpp"
#include "service_harness.hpp"

namespace predictd::testing {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;
using std::chrono::steady_clock;

constexpr int kMainPort = 9000;     // the example's ports, kept as shipped
constexpr int kControlPort = 9001;  //
constexpr int kNginxPort = 8080;    // inside the hub's fresh namespace: always free
constexpr int kClients = 3;
constexpr auto kLoadLimit = seconds(120);  // every client stops by then whatever happens

// a + b + …, appended in place: `"literal" + std::string&&` trips GCC 12's -Wrestrict false
// positive in Release builds.
std::string cat(std::initializer_list<std::string_view> parts) {
    std::string out;
    for (const auto p : parts) {
        out.append(p);
    }
    return out;
}

// Replaces every `from` in `text`; a gtest failure if there is none (the shipped file changed
// shape, and the test must follow it).
void replaceAll(std::string& text, const std::string& from, const std::string& to) {
    std::size_t n = 0;
    for (auto pos = text.find(from); pos != std::string::npos; pos = text.find(from, pos)) {
        text.replace(pos, from.size(), to);
        pos += to.size();
        ++n;
    }
    EXPECT_GT(n, 0U) << "'" << from << "' is no longer in nginx/predictd-upstream.conf.example";
}

// The example site, made to run in a temp dir with the test hosts' addresses.
std::string exampleSite(const NetnsHosts& net, const std::string& dir) {
    const std::string src = sourceDir();
    std::string site = readFile(src + "/nginx/predictd-upstream.conf.example");
    replaceAll(site, "192.0.2.11", net.addressOf("h1"));
    replaceAll(site, "192.0.2.12", net.addressOf("h2"));
    replaceAll(site, "/etc/nginx/snippets/predictd-locations.conf",
               src + "/nginx/predictd-locations.conf");
    replaceAll(site, "/var/log/nginx/predictd.access.log", dir + "/access.log");
    replaceAll(site, "/var/log/nginx/predictd.error.log", dir + "/error.log");
    replaceAll(site, "listen 80;", cat({"listen 127.0.0.1:", std::to_string(kNginxPort), ";"}));
    replaceAll(site, "listen [::]:80;", "");
    return site;
}

// NGINX in the hub namespace, running the example site.
class FrontNginx {
  public:
    explicit FrontNginx(const NetnsHosts& net) : dir_(makeTempDir()) {
        std::ofstream(dir_ + "/site.conf") << exampleSite(net, dir_);
        std::ofstream(dir_ + "/nginx.conf")
            << "daemon off;\nworker_processes 1;\npid " << dir_ << "/nginx.pid;\n"
            << "error_log stderr warn;\nevents { worker_connections 1024; }\nhttp {\n"
            << "client_body_temp_path " << dir_ << "/cb;\nfastcgi_temp_path " << dir_ << "/fc;\n"
            << "proxy_temp_path " << dir_ << "/px;\nuwsgi_temp_path " << dir_ << "/uw;\n"
            << "scgi_temp_path " << dir_ << "/sc;\ninclude " << dir_ << "/site.conf;\n}\n";
        std::vector<std::string> argv = net.exec("");
        argv.insert(argv.end(),
                    {"/usr/sbin/nginx", "-e", "stderr", "-p", dir_, "-c", dir_ + "/nginx.conf"});
        process_.emplace(argv, dir_ + "/nginx.log");
    }
    ~FrontNginx() {
        process_.reset();
        if (std::getenv("PREDICTD_KEEP_TEST_DIRS") == nullptr) {
            std::error_code ec;
            std::filesystem::remove_all(dir_, ec);
        }
    }
    FrontNginx(const FrontNginx&) = delete;
    FrontNginx& operator=(const FrontNginx&) = delete;
    [[nodiscard]] std::string accessLog() const { return readFile(dir_ + "/access.log"); }
    [[nodiscard]] std::string log() const { return readFile(dir_ + "/nginx.log"); }

  private:
    std::string dir_;
    std::optional<ChildProcess> process_;
};

// predictd on `host`: TCP on its own address, FastCGI allowed from the hub only.
PredictdService::Options hostOptions(const NetnsHosts& net, const std::string& host) {
    const std::string address = net.addressOf(host);
    PredictdService::Options o;
    o.workers = 2;
    o.with_nginx = false;
    o.listen_flag = false;
    o.launcher = net.exec(host);
    o.extra_args = {"--listen",         "tcp:" + address + ":" + std::to_string(kMainPort),
                    "--control-listen", "tcp:" + address + ":" + std::to_string(kControlPort),
                    "--allowed-peers",  net.hubAddress()};
    return o;
}

// A counter from a host's /metrics, asked over FastCGI from the hub (an allowed peer) on the
// host's control port; -1 if the host does not answer.
long long hostMetric(const NetnsHosts& net, const std::string& host, const std::string& series) {
    NetnsScope in(net.hubNamespace());
    const FastCgiAnswer a = fastCgiRequest(net.addressOf(host), kControlPort, "GET", "/metrics");
    if (a.status != 200) {
        return -1;
    }
    const auto pos = a.body.find("\n" + series + " ");
    return pos == std::string::npos ? 0 : std::stoll(a.body.substr(pos + series.size() + 2));
}

long long predictionsServed(const NetnsHosts& net, const std::string& host) {
    return hostMetric(net, host, R"(predictd_requests_total{route="/predict",status="200"})");
}

// Clients in the hub namespace posting sample digits through NGINX, each until told to stop, or
// kLoadLimit, or 100 000 requests. A request fails unless it gets 200 with the right digit.
ClientLoad::Options hubClients(const NetnsHosts& net, int clients) {
    ClientLoad::Options o;
    o.clients = clients;
    o.time_limit = std::chrono::duration_cast<milliseconds>(kLoadLimit);
    o.setup = [&net] { return std::make_shared<NetnsScope>(net.hubNamespace()); };
    return o;
}

ClientLoad::Request digitRequests() {
    auto bodies = std::make_shared<std::vector<std::string>>();
    for (int d = 0; d < 10; ++d) {
        bodies->push_back(predictBody(samplePng(d)));
    }
    return [bodies](int client, int i) {
        const int digit = (i + client) % 10;
        const HttpResult r =
            httpRequest(kNginxPort, "POST", "/predict", (*bodies)[static_cast<std::size_t>(digit)]);
        const bool good =
            r.status == 200 &&
            r.body.find(cat({"\"prediction\":", std::to_string(digit), ","})) != std::string::npos;
        return good ? std::string() : std::to_string(r.status) + " " + r.body;
    };
}

TEST(ScaleOut, TheUpstreamExampleParses) {
    // No root needed: nginx -t with the hosts' placeholders (nothing is connected to).
    const NginxCheck r =
        checkShippedNginxSite(sourceDir() + "/nginx/predictd-upstream.conf.example");
    EXPECT_EQ(r.status, 0) << r.output;
    EXPECT_NE(r.output.find("test is successful"), std::string::npos) << r.output;
}

TEST(ScaleOut, TwoHostsBehindOneNginxSurviveAKillAndRefuseStrangers) {
    if (const std::string why = NetnsHosts::unavailable(); !why.empty()) {
        GTEST_SKIP() << "scale-out test skipped: " << why;
    }
    NetnsHosts net({"h1", "h2", "out"});  // declared first: removed last, after every process
    std::optional<PredictdService> h1(std::in_place, hostOptions(net, "h1"));
    std::optional<PredictdService> h2(std::in_place, hostOptions(net, "h2"));
    for (const char* host : {"h1", "h2"}) {
        ASSERT_TRUE(eventually(
            [&] {
                NetnsScope in(net.hubNamespace());
                return fastCgiRequest(net.addressOf(host), kControlPort, "GET", "/ready").status ==
                       200;
            },
            seconds(60)))
            << host << " never became ready:\n"
            << (std::string(host) == "h1" ? h1->predictdLog() : h2->predictdLog());
    }
    FrontNginx nginx(net);
    ASSERT_TRUE(eventually(
        [&] {
            NetnsScope in(net.hubNamespace());
            return httpRequest(kNginxPort, "GET", "/ready").status == 200;
        },
        seconds(30)))
        << nginx.log();

    ClientLoad load(hubClients(net, kClients), digitRequests());
    // Both hosts serve.
    EXPECT_TRUE(eventually(
        [&] { return predictionsServed(net, "h1") >= 20 && predictionsServed(net, "h2") >= 20; },
        seconds(30)))
        << "h1 " << predictionsServed(net, "h1") << ", h2 " << predictionsServed(net, "h2");

    // h1 dies whole: the supervisor and its workers (one process group), no goodbye.
    ASSERT_EQ(::kill(-h1->supervisor().pid(), SIGKILL), 0);
    ASSERT_TRUE(h1->supervisor().waitExit(seconds(10)).has_value());
    const long long h2_at_kill = predictionsServed(net, "h2");
    const long long ok_at_kill = load.ok();
    // Longer than the example's fail_timeout (5 s): NGINX tries the dead host again meanwhile.
    std::this_thread::sleep_for(seconds(7));
    EXPECT_GT(predictionsServed(net, "h2"), h2_at_kill + 20) << "h2 did not take h1's share";
    EXPECT_GT(load.ok(), ok_at_kill + 20);
    EXPECT_EQ(load.failed(), 0) << load.failures();

    // h1 comes back (a new supervisor on the same address) and takes traffic again: once its
    // fail_timeout is over, NGINX's next try there succeeds.
    h1.reset();
    const auto restarted = steady_clock::now();
    h1.emplace(hostOptions(net, "h1"));
    EXPECT_TRUE(eventually([&] { return predictionsServed(net, "h1") >= 20; }, seconds(60)))
        << "h1 served " << predictionsServed(net, "h1") << " after its restart\n"
        << h1->predictdLog();
    const auto back_ms =
        std::chrono::duration_cast<milliseconds>(steady_clock::now() - restarted).count();
    const long long h2_before = predictionsServed(net, "h2");
    std::this_thread::sleep_for(seconds(1));
    EXPECT_GT(predictionsServed(net, "h2"), h2_before) << "h2 stopped serving";
    load.stop();
    EXPECT_EQ(load.failed(), 0) << load.failures();
    EXPECT_GT(load.ok(), 100);
    // The access log shows the failover: requests tried on h1, then answered by h2.
    const std::string failover =
        cat({"upstream=", net.addressOf("h1"), ":9000, ", net.addressOf("h2"), ":9000 "});
    const std::string access = nginx.accessLog();
    std::size_t retried = 0;
    for (auto pos = access.find(failover); pos != std::string::npos;
         pos = access.find(failover, pos + 1)) {
        ++retried;
    }
    EXPECT_GT(retried, 0U) << "no request went from h1 to h2 in the access log";
    RecordProperty("requests", std::to_string(load.ok()));
    RecordProperty("retried_on_h2", std::to_string(retried));
    RecordProperty("h1_serving_again_ms", std::to_string(back_ms));
    std::printf(
        "%lld requests, 0 failed; %zu retried from h1 to h2; h1 served 20 again %lld ms "
        "after its restart\n",
        load.ok(), retried, static_cast<long long>(back_ms));

    // A stranger on the same network is refused on both ports: connected, then closed without
    // an answer. The same requests from NGINX's address are answered.
    const std::string h2_address = net.addressOf("h2");
    const long long refused_before = hostMetric(net, "h2", "predictd_refused_connections_total");
    EXPECT_EQ(refused_before, 0);
    for (const int port : {kMainPort, kControlPort}) {
        FastCgiAnswer stranger;
        {
            NetnsScope in(net.namespaceOf("out"));
            stranger = fastCgiRequest(h2_address, port, "GET", "/health");
        }
        EXPECT_TRUE(stranger.connected) << port << ": " << stranger.error;
        EXPECT_FALSE(stranger.answered) << port << ": answered " << stranger.status;
        EXPECT_EQ(stranger.status, 0);
        NetnsScope in(net.hubNamespace());
        const FastCgiAnswer nginx_host = fastCgiRequest(h2_address, port, "GET", "/health");
        EXPECT_EQ(nginx_host.status, 200) << port << ": " << nginx_host.error;
    }
    EXPECT_EQ(hostMetric(net, "h2", "predictd_refused_connections_total"), refused_before + 2);
    EXPECT_NE(
        h2->predictdLog().find(cat({"refused a FastCGI connection from ", net.addressOf("out"),
                                    ": not in the allowed peers ", net.hubAddress(), "/32"})),
        std::string::npos)
        << h2->predictdLog();
}

}  // namespace
}  // namespace predictd::testing
