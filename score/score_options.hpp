// score_options.hpp — predictd-score's command line: one table of options (Poco::Util::OptionSet,
// which also prints --help), parsed into a ScoreOptions value.
//
// Owns the flags, their defaults and their checks. What they do is the other files' business.
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include "input_listing.hpp"
#include "output_writer.hpp"
#include "progress_display.hpp"
#include "scorer.hpp"

namespace predictd::score {

struct ScoreOptions {
    InputSpec inputs{};
    std::vector<std::string> urls;  // default: http://127.0.0.1:8080
    std::string model;
    std::string version;
    std::string output;
    OutputFormat format = OutputFormat::kJsonLines;
    bool sorted = false;
    int top_k = 3;
    std::size_t batch = 32;  // measured: see README, "Score a directory of images"
    std::size_t max_request_bytes = 4 * 1024 * 1024;
    std::size_t max_file_bytes = 64 * 1024 * 1024;
    int concurrency = 8;
    Protocol protocol = Protocol::kAuto;
    int retries = 11;  // sends after the first
    std::chrono::seconds timeout{60};
    std::string progress = "auto";  // auto, bar, lines, none
    std::chrono::milliseconds progress_interval{10'000};
    bool help = false;
};

struct ParsedOptions {
    std::optional<ScoreOptions> options;
    std::string error;  // a usage error (options empty)
};

ParsedOptions parseScoreOptions(const std::vector<std::string>& args);
std::string scoreUsage();

}  // namespace predictd::score
