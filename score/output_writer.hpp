// output_writer.hpp — predictd-score's output: one row per input, JSON Lines (the default) or
// CSV (RFC 4180), appended to the output file and made durable in chunks.
//
// Owns the rows' text and the appending. The file is only ever appended to with whole rows
// (one write(2) per chunk, then fdatasync), so a kill at any moment leaves complete rows and at
// most one torn last line, which resume_journal repairs on the next start. Rows arrive from
// several threads; the writer serialises them.
#pragma once

#include <chrono>
#include <cstddef>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "score_row.hpp"

namespace predictd::score {

enum class OutputFormat { kJsonLines, kCsv };

// The CSV header line (with its '\n'): path,model,version,label,score,top_k,error,message.
std::string csvHeader();
// One row's text with its '\n'. JSON Lines: {"path","model","version","label","score","top_k":
// [{"label","score"}]} or, for an error, {"path","model","version","error","message"}.
// CSV: top_k as "label:score;label:score"; label/score/top_k empty on an error row.
std::string formatRow(const ScoreRow& row, OutputFormat format);
// A CSV field, quoted when it holds ',', '"', '\r' or '\n' (quotes doubled).
std::string csvField(std::string_view text);
// A score as the shortest text that reads back to the same double.
std::string scoreText(double score);

class OutputWriter {
  public:
    struct Options {
        std::size_t chunk_bytes = 64 * 1024;      // flush when this much is held
        std::chrono::milliseconds max_age{1000};  // or when the oldest row is this old
        bool sync = true;                         // fdatasync after each flush
    };
    // Opens `path` for appending (created 0644 when missing); `header` is written first when
    // the file is empty. Throws std::runtime_error when it cannot.
    OutputWriter(const std::string& path, OutputFormat format, const std::string& header,
                 Options options);
    OutputWriter(const std::string& path, OutputFormat format, const std::string& header)
        : OutputWriter(path, format, header, Options{}) {}
    ~OutputWriter();  // flushes
    OutputWriter(const OutputWriter&) = delete;
    OutputWriter& operator=(const OutputWriter&) = delete;

    // false when the writer is closed (the row is dropped).
    bool add(const ScoreRow& row);
    void flushIfDue();
    void flush();
    // Flushes and drops every later row (an interrupted run: nothing more may be written).
    void close();
    // The first write or sync error, if any ("" when none): the run must stop.
    [[nodiscard]] std::string error() const;

  private:
    void flushLocked();
    OutputFormat format_;
    Options options_;
    mutable std::mutex mutex_;
    int fd_ = -1;
    std::string pending_;
    std::chrono::steady_clock::time_point oldest_{};
    bool closed_ = false;
    std::string error_;
};

}  // namespace predictd::score
