// resume_journal.hpp — what an earlier run of the same command already wrote, so a rerun after
// Ctrl-C, SIGKILL or a crash scores only what is missing: no image lost, none twice.
//
// Owns reading an existing output file (JSON Lines or CSV), repairing a torn last line (a
// partial row, cut by a kill in the middle of a write: truncated away, its image is scored
// again), the set of paths that already have a row, and the final `--sorted` rewrite. The
// output file is the journal: there is no second file to keep in step with it.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <unordered_set>
#include <vector>

#include "output_writer.hpp"

namespace predictd::score {

struct OutputRecord {
    std::string path;
    bool failed = false;  // an error row
};

// Splits `text` into records: lines for JSON Lines, RFC 4180 records for CSV (a quoted field
// may hold a newline). A last record without its '\n' is not returned; `complete_bytes` gets
// the length of the whole records (where a torn tail starts).
std::vector<std::string_view> splitRecords(std::string_view text, OutputFormat format,
                                           std::size_t* complete_bytes);

// A CSV record's fields (quotes removed, doubled quotes undone).
std::vector<std::string> parseCsvRecord(std::string_view record);

// One record's path and whether it is an error row; false if it is not a row (the CSV header,
// an unreadable line).
bool readRecord(std::string_view record, OutputFormat format, OutputRecord& out);

struct JournalState {
    std::unordered_set<std::string> done;    // paths with a row
    std::unordered_set<std::string> failed;  // paths whose row is an error
    std::size_t rows = 0;
    std::size_t unreadable = 0;  // records that are not rows (ignored)
    std::size_t torn_bytes = 0;  // cut off the end
    bool exists = false;         // the file existed and was not empty
};

// Reads `path` (a missing file is an empty journal) and truncates a torn last line away.
// Errors (cannot read, cannot truncate, the file holds the other format): `error` set.
JournalState readJournal(const std::string& path, OutputFormat format, std::string& error);

// Rewrites `path` with its rows sorted by path (the CSV header first), through a temporary
// file renamed over it (a kill leaves either the old or the new file). Returns "" or an error.
std::string sortOutput(const std::string& path, OutputFormat format);

}  // namespace predictd::score
