// progress_display.hpp — what predictd-score tells a person while and after it runs (on
// stderr): a progress bar redrawn with '\r' on a terminal (done / total, images/s, ETA,
// errors), a plain line every few seconds otherwise (a log, a pipe), and a summary at the end
// (counts per label, errors per kind, time, images/s).
//
// Owns the counts shown (ScoreTally, fed with every row written) and their text. The text
// builders are pure functions of the counts, for the tests.
#pragma once

#include <atomic>
#include <chrono>
#include <cstddef>
#include <map>
#include <mutex>
#include <ostream>
#include <string>

#include "score_row.hpp"

namespace predictd::score {

struct TallySnapshot {
    std::size_t done = 0;                            // rows written by this run
    std::size_t errors = 0;                          // of which error rows
    std::size_t retries = 0;                         // requests sent again
    std::map<std::string, std::size_t> labels;       // top-1 label → rows
    std::map<std::string, std::size_t> error_kinds;  // error kind → rows
};

class ScoreTally {
  public:
    void record(const ScoreRow& row);
    void retried() { retries_.fetch_add(1, std::memory_order_relaxed); }
    [[nodiscard]] std::size_t done() const { return done_.load(std::memory_order_relaxed); }
    [[nodiscard]] std::size_t errors() const { return errors_.load(std::memory_order_relaxed); }
    [[nodiscard]] TallySnapshot snapshot() const;

  private:
    std::atomic<std::size_t> done_{0};
    std::atomic<std::size_t> errors_{0};
    std::atomic<std::size_t> retries_{0};
    mutable std::mutex mutex_;
    std::map<std::string, std::size_t> labels_;
    std::map<std::string, std::size_t> error_kinds_;
};

// "1:02:03" / "2:03" / "--:--" (unknown).
std::string clockText(double seconds);

// The bar's line, `width` columns at most:
// "[#######.........]  1234/5000  24.7%  812 img/s  ETA 0:04  errors 3".
std::string progressBar(std::size_t done, std::size_t total, double elapsed_s, std::size_t errors,
                        std::size_t width);
// A plain progress line: "predictd-score: 1234/5000 (24.7%) 812 img/s ETA 0:04 errors 3".
std::string progressLine(std::size_t done, std::size_t total, double elapsed_s, std::size_t errors);
// The end-of-run summary (several lines, each ending in '\n'). `skipped`: inputs an earlier run
// had already written.
std::string summaryText(const TallySnapshot& tally, std::size_t total, std::size_t skipped,
                        double elapsed_s);

enum class ProgressMode { kBar, kLines, kNone };

class ProgressDisplay {
  public:
    ProgressDisplay(std::ostream& out, ProgressMode mode, std::size_t total,
                    std::chrono::milliseconds line_interval, std::size_t width);
    void tick(const ScoreTally& tally);    // redraws when due
    void finish(const ScoreTally& tally);  // the last bar (and its newline) or line

  private:
    void draw(const ScoreTally& tally);
    std::ostream& out_;
    ProgressMode mode_;
    std::size_t total_;
    std::chrono::milliseconds interval_;
    std::size_t width_;
    std::chrono::steady_clock::time_point start_;
    std::chrono::steady_clock::time_point last_{};
};

}  // namespace predictd::score
