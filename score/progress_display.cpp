// progress_display.cpp — counts and their text (std::format is not in GCC 12's library: text by
// snprintf).
#include "progress_display.hpp"

#include "text.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <vector>

namespace predictd::score {
namespace {

std::string fixed(double v, int decimals) {
    char buf[64];
    std::snprintf(buf, sizeof(buf), "%.*f", decimals, v);
    return buf;
}

double rateOf(std::size_t done, double elapsed_s) {
    return elapsed_s > 0 ? static_cast<double>(done) / elapsed_s : 0.0;
}

std::string etaText(std::size_t done, std::size_t total, double elapsed_s) {
    const double rate = rateOf(done, elapsed_s);
    if (done >= total) {
        return clockText(0);
    }
    if (rate <= 0) {
        return clockText(-1);
    }
    return clockText(static_cast<double>(total - done) / rate);
}

std::string percent(std::size_t done, std::size_t total) {
    return fixed(
               total == 0 ? 100.0 : 100.0 * static_cast<double>(done) / static_cast<double>(total),
               1) +
           "%";
}

}  // namespace

void ScoreTally::record(const ScoreRow& row) {
    done_.fetch_add(1, std::memory_order_relaxed);
    const std::lock_guard lock(mutex_);
    if (row.failed()) {
        errors_.fetch_add(1, std::memory_order_relaxed);
        ++error_kinds_[row.error];
    } else if (!row.top_k.empty()) {
        ++labels_[row.top_k.front().label];
    }
}

TallySnapshot ScoreTally::snapshot() const {
    TallySnapshot s;
    s.done = done();
    s.errors = errors();
    s.retries = retries_.load(std::memory_order_relaxed);
    const std::lock_guard lock(mutex_);
    s.labels = labels_;
    s.error_kinds = error_kinds_;
    return s;
}

std::string clockText(double seconds) {
    if (seconds < 0 || !std::isfinite(seconds)) {
        return "--:--";
    }
    const auto total = static_cast<long long>(std::llround(seconds));
    const long long h = total / 3600;
    const long long m = total / 60 % 60;
    const long long s = total % 60;
    char buf[48];
    if (h > 0) {
        std::snprintf(buf, sizeof(buf), "%lld:%02lld:%02lld", h, m, s);
    } else {
        std::snprintf(buf, sizeof(buf), "%lld:%02lld", m, s);
    }
    return buf;
}

std::string progressBar(std::size_t done, std::size_t total, double elapsed_s, std::size_t errors,
                        std::size_t width) {
    const std::string tail =
        concat("  ", std::to_string(done), "/", std::to_string(total), "  ", percent(done, total),
               "  ", fixed(rateOf(done, elapsed_s), 0), " img/s  ETA ",
               etaText(done, total, elapsed_s), "  errors ", std::to_string(errors));
    const std::size_t bar =
        width > tail.size() + 12 ? std::min<std::size_t>(width - tail.size() - 2, 40) : 10;
    const std::size_t filled =
        total == 0 ? bar : std::min(bar, bar * done / std::max<std::size_t>(total, 1));
    std::string out = "[";
    out.append(filled, '#');
    out.append(bar - filled, '.');
    out += ']';
    out += tail;
    if (out.size() > width && width > 0) {
        out.resize(width);
    }
    return out;
}

std::string progressLine(std::size_t done, std::size_t total, double elapsed_s,
                         std::size_t errors) {
    return concat("predictd-score: ", std::to_string(done), "/", std::to_string(total), " (",
                  percent(done, total), ") ", fixed(rateOf(done, elapsed_s), 0), " img/s ETA ",
                  etaText(done, total, elapsed_s), " errors ", std::to_string(errors));
}

std::string summaryText(const TallySnapshot& tally, std::size_t total, std::size_t skipped,
                        double elapsed_s) {
    std::string out =
        concat("predictd-score: ", std::to_string(tally.done), " of ", std::to_string(total),
               " images in ", fixed(elapsed_s, 1), " s (", fixed(rateOf(tally.done, elapsed_s), 1),
               " images/s), ", std::to_string(tally.done - tally.errors), " scored, ",
               std::to_string(tally.errors), " errors");
    if (skipped > 0) {
        out += concat(", ", std::to_string(skipped), " already in the output");
    }
    if (tally.retries > 0) {
        out += concat(", ", std::to_string(tally.retries), " requests retried");
    }
    out += '\n';
    if (!tally.labels.empty()) {
        std::vector<std::pair<std::string, std::size_t>> labels(tally.labels.begin(),
                                                                tally.labels.end());
        std::stable_sort(labels.begin(), labels.end(),
                         [](const auto& a, const auto& b) { return a.second > b.second; });
        out += "  labels:";
        for (const auto& [label, n] : labels) {
            out +=
                concat(" ", label.empty() ? std::string("(none)") : label, "=", std::to_string(n));
        }
        out += '\n';
    }
    if (!tally.error_kinds.empty()) {
        out += "  errors:";
        for (const auto& [kind, n] : tally.error_kinds) {
            out += concat(" ", kind, "=", std::to_string(n));
        }
        out += '\n';
    }
    return out;
}

ProgressDisplay::ProgressDisplay(std::ostream& out, ProgressMode mode, std::size_t total,
                                 std::chrono::milliseconds line_interval, std::size_t width)
    : out_(out),
      mode_(mode),
      total_(total),
      interval_(mode == ProgressMode::kBar ? std::chrono::milliseconds(200) : line_interval),
      width_(width),
      start_(std::chrono::steady_clock::now()),
      last_(start_) {}

void ProgressDisplay::tick(const ScoreTally& tally) {
    const auto now = std::chrono::steady_clock::now();
    if (mode_ == ProgressMode::kNone || now - last_ < interval_) {
        return;
    }
    last_ = now;
    draw(tally);
}

void ProgressDisplay::finish(const ScoreTally& tally) {
    if (mode_ == ProgressMode::kNone) {
        return;
    }
    draw(tally);
    if (mode_ == ProgressMode::kBar) {
        out_ << '\n';
    }
    out_.flush();
}

void ProgressDisplay::draw(const ScoreTally& tally) {
    const double elapsed =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
    if (mode_ == ProgressMode::kBar) {
        // Erase to the end of the line (ANSI EL) so a shorter line leaves nothing behind.
        out_ << '\r' << progressBar(tally.done(), total_, elapsed, tally.errors(), width_)
             << "\x1b[K";
    } else {
        out_ << progressLine(tally.done(), total_, elapsed, tally.errors()) << '\n';
    }
    out_.flush();
}

}  // namespace predictd::score
