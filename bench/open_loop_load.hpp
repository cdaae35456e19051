// open_loop_load.hpp — an open-loop HTTP/1.1 load generator for overload measurements.
//
// wrk and Locust are closed loops: a client waits for its answer before sending the next
// request, so an overloaded server slows the load down and hides its own queueing. Here requests
// leave on a fixed schedule (rate R: request i at start + i/R) whatever the server does, and each
// latency is measured from the request's scheduled start, not from when a connection became free
// (no "coordinated omission"). With rate 0 it runs closed-loop instead (each of `connections`
// connections sends again as soon as it is answered), which is how a saturation rate is found.
//
// Owns: the schedule, a pool of kept-alive loopback connections, HTTP response framing
// (Content-Length only: NGINX answers predictd's and its own responses that way), per-request
// samples and their summary. Not: which requests to send (the caller builds them) or what the
// figures must be (the tests and bench/open_loop.cpp decide). One thread, epoll, bounded in
// requests, connections and time.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace predictd::load {

// One request to send: the complete HTTP/1.1 request bytes, and the digit a 200 answer must
// predict ("prediction":N in the body; -1: do not check).
struct LoadRequest {
    std::string bytes;
    int expected_label = -1;
};

// A POST /predict request for `host` carrying `json_body`.
LoadRequest predictRequest(const std::string& host, const std::string& json_body,
                           int expected_label);

struct LoadOptions {
    int port = 0;          // 127.0.0.1:port
    double rate = 0;       // requests per second; 0 = closed loop
    int connections = 64;  // closed loop: the concurrency; open loop: at most this many
                           // requests in flight (a request finding none free is "dropped")
    std::chrono::milliseconds duration{10'000};
    std::chrono::milliseconds request_timeout{30'000};  // then it counts as a timeout
    std::vector<LoadRequest> requests;                  // sent round-robin
};

// What happened to one request. status: the HTTP status, or 0 = no HTTP answer (connection
// refused/reset, timeout, malformed answer).
struct LoadSample {
    std::uint32_t scheduled_us = 0;  // offset of its scheduled start from the run's start
    std::uint32_t latency_us = 0;    // scheduled start → last byte of the answer
    std::uint16_t status = 0;
    bool label_ok = true;  // a 200 whose prediction matched (or was not checked)
    bool timed_out = false;
};

struct LoadResult {
    std::vector<LoadSample> samples;  // one per request started, in completion order
    std::uint64_t dropped = 0;        // open loop: due, but every allowed connection was busy
    std::uint64_t connect_errors = 0;
    std::uint64_t retried = 0;  // a kept-alive connection closed under a request; re-sent once
    std::uint64_t closed_before_answer = 0;  // the server closed a fresh connection unanswered
    std::uint64_t closed_mid_answer = 0;     // ... or in the middle of its answer
    double elapsed_s = 0;                    // first scheduled start → last answer
    double schedule_lag_ms = 0;  // open loop: the worst delay between a due time and the send

    [[nodiscard]] std::map<int, std::uint64_t> statusCounts() const;
    [[nodiscard]] std::uint64_t count(int status) const;
    [[nodiscard]] std::uint64_t wrongLabels() const;
    [[nodiscard]] std::uint64_t timeouts() const;
    // Latency percentile (0 < p <= 100) in milliseconds over samples with `status` whose
    // scheduled start lies in [from_s, to_s) seconds; 0 when there is none.
    [[nodiscard]] double percentileMs(double p, int status, double from_s = 0,
                                      double to_s = 1e9) const;
    // Answers with `status` per second of the run.
    [[nodiscard]] double ratePerSecond(int status) const;
    // One line: counts per status, dropped, errors, p50/p99 of 200s, achieved rates.
    [[nodiscard]] std::string summary() const;
};

// Runs the load described by `options`; throws std::runtime_error on a setup failure (no
// requests, epoll failure), never on what the server answers.
LoadResult runLoad(const LoadOptions& options);

}  // namespace predictd::load
