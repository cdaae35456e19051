// score_options.cpp — the option table (Poco OptionSet / OptionProcessor / HelpFormatter) and
// the checks of each value.
#include "score_options.hpp"

#include <Poco/Exception.h>
#include <Poco/NumberParser.h>
#include <Poco/Util/HelpFormatter.h>
#include <Poco/Util/OptionException.h>
#include <Poco/Util/OptionProcessor.h>
#include <Poco/Util/OptionSet.h>

#include <sstream>

namespace predictd::score {
namespace {

using Poco::Util::Option;

Poco::Util::OptionSet optionTable() {
    Poco::Util::OptionSet set;
    const auto add = [&set](const char* name, const char* shortName, const char* help,
                            const char* arg = nullptr, bool repeatable = false) {
        Option o(name, shortName, help, false);
        if (arg != nullptr) {
            o.argument(arg, true);
        }
        o.repeatable(repeatable);
        set.addOption(o);
    };
    add("model", "m", "model name (required)", "NAME");
    add("version", "", "model version (default: the latest)", "V");
    add("url", "u",
        "base URL of a server, repeatable: requests go round-robin, a failing host "
        "is skipped for a while (default http://127.0.0.1:8080)",
        "URL", true);
    add("output", "o",
        "output file (required): appended to; a rerun scores only the inputs "
        "without a row",
        "FILE");
    add("format", "f", "jsonl (default) or csv", "FORMAT");
    add("sorted", "", "sort the output by path at the end of a complete run");
    add("files-from", "", "read paths to score from FILE, one a line ('-': standard input)", "FILE",
        true);
    add("include", "i",
        "score only files matching this glob (repeatable; a pattern without '/' "
        "matches the file name)",
        "GLOB", true);
    add("exclude", "x", "skip files matching this glob (repeatable)", "GLOB", true);
    add("top-k", "k", "classes per row (default 3)", "K");
    add("batch", "b", "images per request (default 32)", "N");
    add("max-request-bytes", "", "image bytes per request at most (default 4194304)", "N");
    add("max-file-bytes", "", "a larger file is an error row, never sent (default 67108864)", "N");
    add("concurrency", "c", "requests in flight (default 8)", "N");
    add("protocol", "", "auto (default: v2 binary when offered, else JSON), v2 or json", "PROTO");
    add("retries", "", "times a request is sent again on 502/503/504 or no answer (default 11)",
        "N");
    add("timeout", "", "seconds to wait for an answer (default 60)", "S");
    add("progress", "", "auto (bar on a terminal, else lines), bar, lines or none", "MODE");
    add("progress-interval", "", "seconds between progress lines (default 10)", "S");
    add("help", "h", "this help");
    return set;
}

bool number(const std::string& text, long long min, long long max, long long& out) {
    Poco::Int64 v = 0;
    if (!Poco::NumberParser::tryParse64(text, v) || v < min || v > max) {
        return false;
    }
    out = v;
    return true;
}

}  // namespace

std::string scoreUsage() {
    const Poco::Util::OptionSet set = optionTable();
    Poco::Util::HelpFormatter help(set);
    help.setUnixStyle(true);
    help.setCommand("predictd-score");
    help.setUsage("--model NAME --output FILE [OPTIONS] [DIR|FILE]...");
    help.setHeader(
        "Scores every image under the directories and files given (and --files-from lists) "
        "with a predictd server, one row per image.");
    help.setFooter(
        "Exit status: 0 every input has a row without error; 1 some rows are errors; 2 usage "
        "or fatal error; 3 interrupted (run again to resume); 4 the servers stayed unavailable "
        "(run again to resume).");
    std::ostringstream out;
    help.format(out);
    return out.str();
}

ParsedOptions parseScoreOptions(const std::vector<std::string>& args) {
    ParsedOptions parsed;
    ScoreOptions o;
    const Poco::Util::OptionSet set = optionTable();
    Poco::Util::OptionProcessor processor(set);
    processor.setUnixStyle(true);
    const auto fail = [&parsed](std::string message) {
        parsed.error = std::move(message);
        return parsed;
    };
    try {
        std::vector<std::pair<std::string, std::string>> given;
        for (const std::string& arg : args) {
            std::string name;
            std::string value;
            if (processor.process(arg, name, value)) {
                if (!name.empty()) {
                    given.emplace_back(name, value);
                }
            } else {
                o.inputs.paths.push_back(arg);
            }
        }
        processor.checkRequired();
        for (const auto& [name, value] : given) {
            long long n = 0;
            if (name == "model") {
                o.model = value;
            } else if (name == "version") {
                o.version = value;
            } else if (name == "url") {
                o.urls.push_back(value);
            } else if (name == "output") {
                o.output = value;
            } else if (name == "format") {
                if (value != "jsonl" && value != "csv") {
                    return fail("--format: jsonl or csv, not '" + value + "'");
                }
                o.format = value == "csv" ? OutputFormat::kCsv : OutputFormat::kJsonLines;
            } else if (name == "sorted") {
                o.sorted = true;
            } else if (name == "files-from") {
                o.inputs.files_from.push_back(value);
            } else if (name == "include") {
                o.inputs.include.push_back(value);
            } else if (name == "exclude") {
                o.inputs.exclude.push_back(value);
            } else if (name == "top-k") {
                if (!number(value, 1, 1000, n)) {
                    return fail("--top-k: a number from 1 to 1000");
                }
                o.top_k = static_cast<int>(n);
            } else if (name == "batch") {
                if (!number(value, 1, 4096, n)) {
                    return fail("--batch: a number from 1 to 4096");
                }
                o.batch = static_cast<std::size_t>(n);
            } else if (name == "max-request-bytes" || name == "max-file-bytes") {
                if (!number(value, 1, 1LL << 40, n)) {
                    return fail("--" + name + ": a positive number of bytes");
                }
                (name == "max-file-bytes" ? o.max_file_bytes : o.max_request_bytes) =
                    static_cast<std::size_t>(n);
            } else if (name == "concurrency") {
                if (!number(value, 1, 1024, n)) {
                    return fail("--concurrency: a number from 1 to 1024");
                }
                o.concurrency = static_cast<int>(n);
            } else if (name == "protocol") {
                if (value != "auto" && value != "v2" && value != "json") {
                    return fail("--protocol: auto, v2 or json, not '" + value + "'");
                }
                o.protocol = value == "v2"     ? Protocol::kV2Binary
                             : value == "json" ? Protocol::kJson
                                               : Protocol::kAuto;
            } else if (name == "retries") {
                if (!number(value, 0, 1000, n)) {
                    return fail("--retries: a number from 0 to 1000");
                }
                o.retries = static_cast<int>(n);
            } else if (name == "timeout") {
                if (!number(value, 1, 86400, n)) {
                    return fail("--timeout: seconds, 1 to 86400");
                }
                o.timeout = std::chrono::seconds(n);
            } else if (name == "progress") {
                if (value != "auto" && value != "bar" && value != "lines" && value != "none") {
                    return fail("--progress: auto, bar, lines or none, not '" + value + "'");
                }
                o.progress = value;
            } else if (name == "progress-interval") {
                if (!number(value, 1, 86400, n)) {
                    return fail("--progress-interval: seconds, 1 to 86400");
                }
                o.progress_interval = std::chrono::seconds(n);
            } else if (name == "help") {
                o.help = true;
            }
        }
    } catch (const Poco::Util::OptionException& e) {
        return fail(e.displayText());
    }
    if (o.help) {
        parsed.options = std::move(o);
        return parsed;
    }
    if (o.model.empty()) {
        return fail("--model NAME is required");
    }
    if (o.output.empty()) {
        return fail("--output FILE is required (the output is also what a rerun resumes from)");
    }
    if (o.inputs.paths.empty() && o.inputs.files_from.empty()) {
        return fail("nothing to score: give directories, files or --files-from");
    }
    if (o.urls.empty()) {
        o.urls.push_back("http://127.0.0.1:8080");
    }
    parsed.options = std::move(o);
    return parsed;
}

}  // namespace predictd::score
