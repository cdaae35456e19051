// retry_policy.hpp — when predictd-score sends a request again, and after how long.
//
// Owns the classification of an answer (success, retry later, the images' own fault, fatal),
// exponential back-off with jitter, and Retry-After (RFC 9110 §10.2.3: delay-seconds or an
// HTTP-date). Sending is http_transport's job; what a retry is for is the scorer's.
#pragma once

#include <chrono>
#include <optional>
#include <string>

namespace predictd::score {

enum class Outcome {
    kSuccess,     // 2xx
    kRetry,       // 502, 503, 504, 429, or no answer at all (connection refused, reset, timeout)
    kImageFault,  // another 4xx, or 500: the images are at fault (split the batch, error rows)
    kFatal,       // 404 (no such model or route), 401 / 403: no image can succeed
};

// `status` 0 means no HTTP answer.
Outcome classify(int status);

// Retry-After's delay, from `now` for an HTTP-date; nullopt when absent or unreadable.
std::optional<std::chrono::milliseconds> parseRetryAfter(
    const std::string& value,
    std::chrono::system_clock::time_point now = std::chrono::system_clock::now());

struct RetryPolicy {
    int max_attempts = 12;                              // tries per request, the first included
    std::chrono::milliseconds base{100};                // the first back-off
    std::chrono::milliseconds cap{10'000};              // the longest back-off
    std::chrono::milliseconds retry_after_cap{60'000};  // the longest Retry-After honoured

    // The wait before attempt `attempt` + 1 (attempt ≥ 1 is the number already made):
    // base·2^(attempt−1) capped, "equal jitter" (half fixed, half random, from `unit` in
    // [0, 1)); a server's Retry-After, when longer, wins (capped at retry_after_cap).
    [[nodiscard]] std::chrono::milliseconds backoff(
        int attempt, double unit, std::optional<std::chrono::milliseconds> retry_after) const;
};

}  // namespace predictd::score
