// input_listing.hpp — what predictd-score is to score: the files under directories (recursive),
// files named on the command line, and lists of paths (a file, or standard input), filtered by
// include / exclude glob patterns.
//
// Owns walking, reading path lists and pattern matching. Reading the files' bytes is
// batch_reader's job; skipping what an earlier run already scored is resume_journal's.
#pragma once

#include <istream>
#include <string>
#include <vector>

namespace predictd::score {

struct InputSpec {
    std::vector<std::string> paths;       // directories (walked recursively) and files
    std::vector<std::string> files_from;  // files listing one path a line; "-" = standard input
    std::vector<std::string> include;     // glob patterns; none = every file
    std::vector<std::string> exclude;     // glob patterns
};

// Patterns are fnmatch(3) globs (*, ?, [...]). A pattern without '/' is matched against the
// file's name, one with '/' against its whole path (where '*' also crosses '/').
bool matchesPattern(const std::string& pattern, const std::string& path);

// Whether `path` passes: some include matches (or there is none) and no exclude matches.
bool selected(const InputSpec& spec, const std::string& path);

// Paths from a list: one a line, blank lines and a trailing '\r' dropped.
std::vector<std::string> readPathList(std::istream& in);

struct InputListing {
    std::vector<std::string> files;   // selected, sorted, each once
    std::vector<std::string> errors;  // a path that does not exist, a list that cannot be read
};

// Every selected file. Directories are walked recursively (symbolic links to files followed,
// to directories not); listed paths are taken as given (they may name missing files: those
// become error rows when read). `stdin_list` is read for a files_from of "-".
InputListing listInputs(const InputSpec& spec, std::istream& stdin_list);

}  // namespace predictd::score
