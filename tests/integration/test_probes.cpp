// test_probes.cpp — the Kubernetes probes (GET /v2/health/live, /v2/health/ready through NGINX)
// keep answering 200 across a rolling reload (SIGHUP) and during an overload in which predictions
// are refused with 503 + Retry-After. Probes go to predictd's control socket, which every worker
// serves before its next queued prediction, and which the supervisor keeps open across a reload
// (docs/design.md, "Kubernetes probes"). Every loop is bounded in count and time; the assertions
// are on statuses and counts only.
#include <gtest/gtest.h>
#include <signal.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "service_harness.hpp"

namespace predictd::testing {
namespace {

using std::chrono::seconds;

// Probes live and ready alternately on its own thread, every 20 ms, until stopped, 3 000 probes
// or 120 s; a probe is good if it is a 200 with {"live":true} / {"ready":true}.
class Prober {
  public:
    explicit Prober(int port)
        : thread_([this, port] {
              const auto end = std::chrono::steady_clock::now() + seconds(120);
              for (int i = 0; i < 3000 && !stop_ && std::chrono::steady_clock::now() < end; ++i) {
                  const bool live = i % 2 == 0;
                  const HttpResult r =
                      httpRequest(port, "GET", live ? "/v2/health/live" : "/v2/health/ready");
                  const Json::Value v = r.status == 200 ? parseJson(r.body) : Json::Value();
                  const bool good = r.status == 200 && v[live ? "live" : "ready"].asBool();
                  ++probes_;
                  if (!good) {
                      std::lock_guard lock(mutex_);
                      failures_.push_back(std::string(live ? "live " : "ready ") +
                                          std::to_string(r.status) + " " + r.body);
                  }
                  ::usleep(20'000);
              }
          }) {}
    ~Prober() { stop(); }
    Prober(const Prober&) = delete;
    Prober& operator=(const Prober&) = delete;

    void stop() {
        stop_ = true;
        if (thread_.joinable()) {
            thread_.join();
        }
    }
    [[nodiscard]] int probes() const { return probes_; }
    std::vector<std::string> failures() {
        std::lock_guard lock(mutex_);
        return failures_;
    }

  private:
    std::atomic<bool> stop_{false};
    std::atomic<int> probes_{0};
    std::mutex mutex_;
    std::vector<std::string> failures_;
    std::thread thread_;  // last: starts once the counters exist
};

std::string joined(const std::vector<std::string>& lines) {
    std::string out;
    for (const auto& l : lines) {
        out += l + "\n";
    }
    return out;
}

// (a) A rolling reload of the whole model repository: every worker is replaced, one at a time,
// and no probe fails or waits out NGINX's timeouts.
TEST(Probes, AnswerThroughoutARollingReload) {
    PredictdService::Options o;
    o.ini_text = "[server]\nworkers = 2\n[model]\nrepository = " + sourceDir() + "/model\n";
    PredictdService s(o);
    ASSERT_TRUE(s.waitReady()) << s.predictdLog();
    ASSERT_TRUE(eventually([&] { return s.workers().size() == 2; }, seconds(20)));
    const std::vector<pid_t> before = s.workers();

    Prober prober(s.port());
    ASSERT_TRUE(eventually([&] { return prober.probes() >= 20; }, seconds(30)));
    const int at_signal = prober.probes();
    s.supervisor().signal(SIGHUP);
    ASSERT_TRUE(eventually(
        [&] { return s.predictdLog().find("reload complete") != std::string::npos; }, seconds(60)))
        << s.predictdLog();
    const int during = prober.probes() - at_signal;
    const int at_complete = prober.probes();
    ASSERT_TRUE(eventually([&] { return prober.probes() >= at_complete + 20; }, seconds(30)));
    prober.stop();

    // The reload happened: a new generation, none of the old workers left.
    const std::vector<pid_t> after = s.workers();
    for (const pid_t pid : before) {
        EXPECT_EQ(std::count(after.begin(), after.end(), pid), 0) << "worker " << pid;
    }
    EXPECT_EQ(statusOf(s)["model"]["generation"].asInt(), 2);
    std::printf("reload: %d probes, %d during the reload, %zu failed\n", prober.probes(), during,
                prober.failures().size());
    EXPECT_TRUE(prober.failures().empty()) << joined(prober.failures());
    EXPECT_GE(during, 1) << "no probe was sent while the reload rolled";
    EXPECT_GE(prober.probes(), 40);
}

// (b) An overload: NGINX's admission limit lowered to 4 predictions in flight (the shipped
// mechanism, at 512 in production), 12 clients sending batches of photos to the photo model
// through /v2/.../infer (4 photos each). Predictions get 200 or the flat 503 with Retry-After: 1;
// the probes all get 200 — live, and ready too: readiness means "serves its models", not "has spare
// capacity" (an overloaded instance pulled from the load balancer would push its load onto the
// others).
TEST(Probes, AnswerDuringAnOverloadThatRefusesPredictions) {
    const std::string src = sourceDir();
    const std::string china = src + "/model/nsfw-mobilenetv2/samples/china.jpg";
    const std::string flower = src + "/model/nsfw-mobilenetv2/samples/flower.jpg";
    ASSERT_FALSE(readFile(china).empty()) << china << ": run tools/fetch-models";
    ASSERT_FALSE(readFile(flower).empty()) << flower << ": run tools/fetch-models";
    PredictdService::Options o;
    o.workers = 2;
    o.model_repository = src + "/model";
    o.nginx_edits = {{"limit_conn predictd_predict 512;", "limit_conn predictd_predict 4;"}};
    PredictdService s(o);
    ASSERT_TRUE(s.waitReady()) << s.predictdLog();

    std::string body = R"({"inputs":[{"name":"input","shape":[4],"datatype":"BYTES","data":[)";
    for (int i = 0; i < 4; ++i) {
        body += i ? ",\"" : "\"";
        body += base64(readFile(i % 2 ? flower : china));
        body += "\"";
    }
    body += "]}]}";

    std::atomic<int> ok{0};
    std::atomic<int> refused{0};
    std::atomic<int> retry_after{0};
    std::mutex mutex;
    std::vector<std::string> other;
    Prober prober(s.port());
    std::atomic<int> probes_at_first_refusal{-1};
    std::atomic<int> probes_at_last_refusal{-1};
    {
        std::vector<std::jthread> clients;
        // Each client keeps sending for 8 s (at most 150 requests), pausing 20 ms after a
        // refusal as a client honouring Retry-After would (more briefly), so the overload lasts
        // the whole phase instead of the refused clients running through their requests at once.
        const auto end = std::chrono::steady_clock::now() + seconds(8);
        for (int c = 0; c < 12; ++c) {
            clients.emplace_back([&] {
                for (int i = 0; i < 150 && std::chrono::steady_clock::now() < end; ++i) {
                    HttpResult r = s.post("/v2/models/nsfw-mobilenetv2/infer", body);
                    if (r.status == 200 &&
                        parseJson(r.body)["outputs"][0]["shape"][0].asInt() == 4) {
                        ++ok;
                    } else if (r.status == 503 && parseJson(r.body)["error"].isString()) {
                        int none = -1;
                        probes_at_first_refusal.compare_exchange_strong(none, prober.probes());
                        probes_at_last_refusal = prober.probes();
                        ++refused;
                        retry_after += r.headers["retry-after"] == "1" ? 1 : 0;
                        ::usleep(20'000);
                    } else {
                        std::lock_guard lock(mutex);
                        other.push_back(std::to_string(r.status) + " " + r.body.substr(0, 200));
                    }
                }
            });
        }
    }  // the clients are joined here
    // Probes sent between the first and the last refused prediction: while refusing.
    const int probes_during = probes_at_last_refusal.load() - probes_at_first_refusal.load();
    prober.stop();
    std::printf(
        "overload: %d answered, %d refused with 503, %zu other; %d probes (%d while "
        "refusing), %zu failed\n",
        ok.load(), refused.load(), other.size(), prober.probes(), probes_during,
        prober.failures().size());
    EXPECT_TRUE(other.empty()) << joined(other);
    EXPECT_GT(ok, 0);
    EXPECT_GT(refused, 0) << "12 clients against an admission limit of 4 must be refused";
    EXPECT_EQ(retry_after, refused);
    EXPECT_TRUE(prober.failures().empty()) << joined(prober.failures());
    EXPECT_GE(probes_at_first_refusal.load(), 0);
    EXPECT_GE(probes_during, 5) << "too few probes while predictions were being refused";
    // And the pool is whole afterwards: the same two workers, none killed or restarted.
    const Json::Value st = statusOf(s);
    EXPECT_EQ(st["total_processes"].asInt(), 2);
    EXPECT_EQ(st["restarts"]["crash"].asUInt64() + st["restarts"]["killed"].asUInt64(), 0u);
}

}  // namespace
}  // namespace predictd::testing
