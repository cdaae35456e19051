// retry_policy.cpp — answer classes, back-off and Retry-After (HTTP-dates through Poco).
#include "retry_policy.hpp"

#include <Poco/DateTimeFormat.h>
#include <Poco/DateTimeParser.h>
#include <Poco/Exception.h>

#include <algorithm>
#include <charconv>

namespace predictd::score {

Outcome classify(int status) {
    if (status >= 200 && status < 300) {
        return Outcome::kSuccess;
    }
    if (status == 0 || status == 502 || status == 503 || status == 504 || status == 429) {
        return Outcome::kRetry;
    }
    if (status == 404 || status == 401 || status == 403) {
        return Outcome::kFatal;
    }
    return Outcome::kImageFault;
}

std::optional<std::chrono::milliseconds> parseRetryAfter(
    const std::string& value, std::chrono::system_clock::time_point now) {
    const auto first = value.find_first_not_of(" \t");
    if (first == std::string::npos) {
        return std::nullopt;
    }
    const auto last = value.find_last_not_of(" \t");
    const std::string text = value.substr(first, last - first + 1);
    long long seconds = 0;
    const auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), seconds);
    if (ec == std::errc() && ptr == text.data() + text.size()) {
        if (seconds < 0) {
            return std::nullopt;
        }
        return std::chrono::milliseconds(std::min<long long>(seconds, 86'400) * 1000);
    }
    // Poco's parser is lenient (any text "parses"): an HTTP-date also ends in GMT (RFC 9110
    // §5.6.7: IMF-fixdate, the format senders use) and names a year after 1970.
    if (text.size() < 20 || text.compare(text.size() - 3, 3, "GMT") != 0) {
        return std::nullopt;
    }
    try {
        int tzd = 0;
        Poco::DateTime when =
            Poco::DateTimeParser::parse(Poco::DateTimeFormat::HTTP_FORMAT, text, tzd);
        when.makeUTC(tzd);
        if (when.year() < 1970) {
            return std::nullopt;
        }
        const auto at = std::chrono::system_clock::time_point(
            std::chrono::microseconds(when.timestamp().epochMicroseconds()));
        const auto delay = std::chrono::duration_cast<std::chrono::milliseconds>(at - now);
        return std::max(delay, std::chrono::milliseconds(0));
    } catch (const Poco::Exception&) {
        return std::nullopt;
    }
}

std::chrono::milliseconds RetryPolicy::backoff(
    int attempt, double unit, std::optional<std::chrono::milliseconds> retry_after) const {
    long long wait = base.count();
    for (int i = 1; i < attempt && wait < cap.count(); ++i) {
        wait *= 2;
    }
    wait = std::min<long long>(wait, cap.count());
    unit = std::clamp(unit, 0.0, 1.0);
    const long long half = wait / 2;
    const auto jittered =
        std::chrono::milliseconds(half + static_cast<long long>(unit * static_cast<double>(half)));
    if (retry_after) {
        return std::max(jittered, std::min(*retry_after, retry_after_cap));
    }
    return jittered;
}

}  // namespace predictd::score
