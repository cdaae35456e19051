// unit_retry_policy.cpp — answer classes, Retry-After (seconds and HTTP-date) and back-off.
#include <gtest/gtest.h>

#include "retry_policy.hpp"

namespace predictd::score {
namespace {

using std::chrono::milliseconds;

TEST(ScoreRetryPolicy, ClassifiesAnswers) {
    EXPECT_EQ(classify(200), Outcome::kSuccess);
    for (const int s : {0, 429, 502, 503, 504}) {
        EXPECT_EQ(classify(s), Outcome::kRetry) << s;
    }
    for (const int s : {400, 413, 415, 500}) {
        EXPECT_EQ(classify(s), Outcome::kImageFault) << s;
    }
    for (const int s : {401, 403, 404}) {
        EXPECT_EQ(classify(s), Outcome::kFatal) << s;
    }
}

TEST(ScoreRetryPolicy, RetryAfterSeconds) {
    EXPECT_EQ(parseRetryAfter("1"), milliseconds(1000));
    EXPECT_EQ(parseRetryAfter(" 120 "), milliseconds(120'000));
    EXPECT_EQ(parseRetryAfter("0"), milliseconds(0));
    EXPECT_FALSE(parseRetryAfter(""));
    EXPECT_FALSE(parseRetryAfter("-3"));
    EXPECT_FALSE(parseRetryAfter("soon"));
    EXPECT_FALSE(parseRetryAfter("1.5"));
}

TEST(ScoreRetryPolicy, RetryAfterHttpDate) {
    // Sun, 06 Nov 1994 08:49:37 GMT is 784111777 s after the epoch (RFC 9110's example date).
    const auto epoch = std::chrono::system_clock::time_point(std::chrono::seconds(784111777));
    EXPECT_EQ(parseRetryAfter("Sun, 06 Nov 1994 08:49:47 GMT", epoch), milliseconds(10'000));
    EXPECT_EQ(parseRetryAfter("Sun, 06 Nov 1994 08:49:30 GMT", epoch), milliseconds(0));
    EXPECT_FALSE(parseRetryAfter("soon, at some point, GMT", epoch));
}

TEST(ScoreRetryPolicy, BackoffGrowsWithinBoundsAndHonoursRetryAfter) {
    const RetryPolicy p;  // base 100 ms, cap 10 s
    EXPECT_EQ(p.backoff(1, 0.0, std::nullopt), milliseconds(50));
    EXPECT_EQ(p.backoff(1, 1.0, std::nullopt), milliseconds(100));
    EXPECT_EQ(p.backoff(3, 1.0, std::nullopt), milliseconds(400));
    EXPECT_EQ(p.backoff(30, 1.0, std::nullopt), milliseconds(10'000));
    EXPECT_EQ(p.backoff(30, 0.0, std::nullopt), milliseconds(5'000));
    EXPECT_EQ(p.backoff(1, 0.5, milliseconds(1000)), milliseconds(1000));
    EXPECT_EQ(p.backoff(30, 1.0, milliseconds(1000)), milliseconds(10'000));
    EXPECT_EQ(p.backoff(1, 0.0, milliseconds(3'600'000)), milliseconds(60'000));
}

}  // namespace
}  // namespace predictd::score
