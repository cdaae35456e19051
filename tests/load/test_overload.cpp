// test_overload.cpp — twice the saturation rate through real NGINX and predictd.
//
// Measures the stack's saturation rate (closed loop), then offers twice that rate open-loop for
// 60 s (PREDICTD_OVERLOAD_SECONDS to change it): every request must be answered 200 with the
// right digit or refused at once with 503 "overloaded" + Retry-After — never a 502/504, a reset
// or a timeout —, the served requests' p99 must stay within what the admission limit allows,
// monitoring must still answer during the overload, and afterwards the service must serve a
// normal load with no refusal and no worker lost. The heavier seed-like model is used so that
// the workers, not NGINX or the load generator, are what saturates on a 2-core machine.
#include <gtest/gtest.h>
#include <json/json.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <thread>

#include "open_loop_load.hpp"
#include "service_harness.hpp"

namespace predictd::testing {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

// The predictions NGINX lets in flight (limit_conn in nginx/predictd-locations.conf).
constexpr double kAdmissionLimit = 512;

std::vector<load::LoadRequest> digitRequests() {
    std::vector<load::LoadRequest> requests;
    requests.reserve(10);
    for (int d = 0; d < 10; ++d) {
        requests.push_back(load::predictRequest("127.0.0.1", predictBody(samplePng(d)), d));
    }
    return requests;
}

int overloadSeconds() {
    const char* env = std::getenv("PREDICTD_OVERLOAD_SECONDS");
    return env != nullptr ? std::max(5, std::atoi(env)) : 60;
}

TEST(Overload, TwiceTheSaturationRateGetsOnly200Or503AndRecovers) {
    raiseOpenFileLimit(16384);  // up to 4000 generator connections, and NGINX's for them
    PredictdService::Options o;
    o.workers = 2;
    o.model = sourceDir() + "/model/mnist-seedlike.onnx";
    PredictdService s(o);
    ASSERT_TRUE(s.waitReady()) << s.predictdLog();
    const auto workers_before = s.workers();
    ASSERT_EQ(workers_before.size(), 2u);

    // 1. Saturation: 64 connections, closed loop (after a short warm-up).
    load::LoadOptions closed;
    closed.port = s.port();
    closed.connections = 64;
    closed.requests = digitRequests();
    closed.duration = milliseconds(1000);
    (void)load::runLoad(closed);
    closed.duration = milliseconds(5000);
    const load::LoadResult sat = load::runLoad(closed);
    std::printf("saturation: %s\n", sat.summary().c_str());
    ASSERT_EQ(sat.count(200), sat.samples.size()) << sat.summary();
    ASSERT_EQ(sat.wrongLabels(), 0u);
    const double saturation = sat.ratePerSecond(200);
    ASSERT_GT(saturation, 50) << sat.summary();

    // 2. Twice that, open loop, with monitoring and single clients probing along the way.
    load::LoadOptions over = closed;
    over.rate = 2 * saturation;
    over.connections = 4000;  // far above the admission limit: the client never decides
    over.duration = seconds(overloadSeconds());
    std::atomic<bool> running{true};
    std::atomic<int> status_ok{0};
    std::atomic<int> status_calls{0};
    std::atomic<int> probes_refused{0};
    std::atomic<int> refusals_well_formed{0};
    std::thread monitor([&] {
        const std::string body = predictBody(samplePng(4));
        ::usleep(2'000'000);  // let the queue fill first
        while (running) {
            ++status_calls;
            status_ok += s.get("/status").status == 200 && s.get("/ready").status == 200 ? 1 : 0;
            HttpResult r = s.post("/predict", body);
            if (r.status == 503) {
                ++probes_refused;
                const bool ok = parseJson(r.body)["error"]["code"].asString() == "overloaded" &&
                                r.headers["retry-after"] == "1" &&
                                r.headers["content-type"] == "application/json";
                refusals_well_formed += ok ? 1 : 0;
            }
            ::usleep(500'000);
        }
    });
    const load::LoadResult res = load::runLoad(over);
    running = false;
    monitor.join();
    std::printf("overload at %.0f/s (2 × %.0f/s) for %d s: %s\n", over.rate, saturation,
                overloadSeconds(), res.summary().c_str());
    for (int t = 0; t < overloadSeconds(); t += 10) {
        const auto in = [&](const load::LoadSample& x, int status) {
            return x.status == status && x.scheduled_us >= t * 1'000'000u &&
                   x.scheduled_us < (t + 10) * 1'000'000u;
        };
        const auto served = std::count_if(res.samples.begin(), res.samples.end(),
                                          [&](const auto& x) { return in(x, 200); });
        const auto refused = std::count_if(res.samples.begin(), res.samples.end(),
                                           [&](const auto& x) { return in(x, 503); });
        std::printf("  %2d–%2d s: served %ld/s, refused %ld/s, served p99 %.1f ms\n", t, t + 10,
                    served / 10, refused / 10, res.percentileMs(99, 200, t, t + 10));
    }
    const double third = overloadSeconds() / 3.0;
    std::printf(
        "  p99 of served by third: %.1f / %.1f / %.1f ms; monitoring %d/%d answered; "
        "probes refused %d (well-formed %d)\n",
        res.percentileMs(99, 200, 0, third), res.percentileMs(99, 200, third, 2 * third),
        res.percentileMs(99, 200, 2 * third), status_ok.load(), status_calls.load(),
        probes_refused.load(), refusals_well_formed.load());

    EXPECT_EQ(res.count(200) + res.count(503), res.samples.size())
        << "only 200 and 503 are acceptable answers: " << res.summary();
    EXPECT_EQ(res.dropped, 0u);
    EXPECT_EQ(res.timeouts(), 0u);
    EXPECT_EQ(res.wrongLabels(), 0u);
    EXPECT_GT(res.count(503), 0u) << "twice the saturation rate must be refused in part";
    // No collapse: refusals take CPU on the same two cores (NGINX, kernel, this generator), but
    // a good part of the capacity still serves (loose on purpose: measured 0.37–0.65 of the
    // saturation rate on a busy 2-core machine).
    EXPECT_GT(res.ratePerSecond(200), 0.2 * saturation) << res.summary();
    // Bounded: a served request waited behind at most kAdmissionLimit others. An unbounded
    // queue at twice the capacity would instead grow towards NGINX's 25 s timeout.
    const double bound_ms =
        4 * 1000 * kAdmissionLimit / std::max(1.0, res.ratePerSecond(200)) + 500;
    EXPECT_LT(res.percentileMs(99, 200), bound_ms) << res.summary();
    EXPECT_LT(res.percentileMs(99, 200, 2 * third), bound_ms) << res.summary();
    EXPECT_GT(status_calls.load(), 0);
    EXPECT_EQ(status_ok.load(), status_calls.load()) << "/status and /ready must answer";
    EXPECT_EQ(refusals_well_formed.load(), probes_refused.load());

    // 3. Recovery: once the queue has drained, a closed loop of 64 clients (well under the
    // admission limit) is served in full: no refusal, no error, right labels. (An open loop at a
    // fraction of the measured saturation rate is not a fixed load here: on a shared machine the
    // capacity itself moves 3× between phases, so it could be a real overload — seen in the
    // flake hunt: 0.4 × 3010/s offered while only 1033/s could be served.)
    ASSERT_TRUE(eventually(
        [&] {
            Json::Value st = parseJson(s.get("/status").body);
            return st["listen_queue"].asInt() == 0 && st["active_processes"].asInt() <= 1;
        },
        seconds(30)));
    load::LoadOptions after = closed;
    after.duration = seconds(5);
    const load::LoadResult rec = load::runLoad(after);
    std::printf("after, closed loop: %s\n", rec.summary().c_str());
    EXPECT_EQ(rec.count(200), rec.samples.size()) << rec.summary();
    EXPECT_EQ(rec.wrongLabels(), 0u);
    EXPECT_EQ(s.predictDigit(7), 7);

    Json::Value st = parseJson(s.get("/status").body);
    EXPECT_EQ(st["restarts"]["crash"].asUInt64(), 0u) << st;
    EXPECT_EQ(st["restarts"]["killed"].asUInt64(), 0u) << st;
    auto workers_after = s.workers();
    std::sort(workers_after.begin(), workers_after.end());
    auto expected = workers_before;
    std::sort(expected.begin(), expected.end());
    EXPECT_EQ(workers_after, expected) << "no worker may be lost or replaced under overload";
    RecordProperty("saturation_rps", std::to_string(saturation));
    RecordProperty("served_rps_at_2x", std::to_string(res.ratePerSecond(200)));
    RecordProperty("served_p99_ms_at_2x", std::to_string(res.percentileMs(99, 200)));
}

}  // namespace
}  // namespace predictd::testing
