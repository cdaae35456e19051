// main.cpp — predictd-score: scores a directory (or list) of images with a predictd server and
// writes one row per image; rerun the same command to resume. Wires the parts together and owns
// the process: signals (the first Ctrl-C / SIGTERM stops cleanly, a second exits at once; both
// leave an output a rerun resumes from), the messages on stderr and the exit status:
//   0 every input has a row without error   1 some rows are errors
//   2 usage or fatal error                  3 interrupted   4 the servers stayed unavailable
#include <signal.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <chrono>
#include <csignal>
#include <iostream>
#include <optional>
#include <string>
#include <vector>

#include "input_listing.hpp"
#include "output_writer.hpp"
#include "progress_display.hpp"
#include "resume_journal.hpp"
#include "score_options.hpp"
#include "scorer.hpp"

namespace {

using namespace predictd::score;

constexpr int kExitOk = 0;
constexpr int kExitErrorRows = 1;
constexpr int kExitFatal = 2;
constexpr int kExitInterrupted = 3;
constexpr int kExitUnavailable = 4;

volatile std::sig_atomic_t g_signal = 0;

void onSignal(int sig) {
    if (g_signal != 0) {
        ::_exit(kExitInterrupted);  // a second Ctrl-C: at once (the output stays resumable)
    }
    g_signal = sig;
}

void installSignals() {
    struct sigaction sa {};
    sa.sa_handler = onSignal;
    sigemptyset(&sa.sa_mask);
    ::sigaction(SIGINT, &sa, nullptr);
    ::sigaction(SIGTERM, &sa, nullptr);
    ::signal(SIGPIPE, SIG_IGN);
}

std::size_t terminalWidth() {
    winsize ws{};
    if (::ioctl(STDERR_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 20) {
        return ws.ws_col;
    }
    return 80;
}

int fatal(const std::string& message) {
    std::cerr << "predictd-score: " << message << '\n';
    return kExitFatal;
}

// Every interrupted run ends with this: before scoring began nothing is half done, and later the
// journal holds each answer already written, so the same command resumes either way.
int interrupted() {
    std::cerr << "predictd-score: interrupted; run the same command again to resume\n";
    std::cerr.flush();
    return kExitInterrupted;
}

int run(const ScoreOptions& o) {
    installSignals();  // first: a Ctrl-C at any moment ends with status 3, never a signal death
    ScorerConfig config;
    config.interrupt = &g_signal;
    for (const std::string& u : o.urls) {
        std::string error;
        auto url = parseBaseUrl(u, error);
        if (!url) {
            return fatal(error);
        }
        config.urls.push_back(std::move(*url));
    }
    config.model = o.model;
    config.version = o.version;
    config.top_k = o.top_k;
    config.protocol = o.protocol;
    config.concurrency = o.concurrency;
    config.batch.images = o.batch;
    config.batch.bytes = o.max_request_bytes;
    config.batch.file_bytes = o.max_file_bytes;
    config.batch.queued_batches = static_cast<std::size_t>(o.concurrency) * 2;
    config.retry.max_attempts = o.retries + 1;
    config.timeout = o.timeout;

    const InputListing listing = listInputs(o.inputs, std::cin);
    if (!listing.errors.empty()) {
        for (const std::string& e : listing.errors) {
            std::cerr << "predictd-score: " << e << '\n';
        }
        return fatal("cannot list the inputs; nothing scored");
    }
    if (g_signal != 0) {
        return interrupted();
    }

    std::string error;
    const JournalState journal = readJournal(o.output, o.format, error);
    if (!error.empty()) {
        return fatal(error);
    }
    if (journal.torn_bytes > 0) {
        std::cerr << "predictd-score: " << o.output << ": cut a torn last line ("
                  << journal.torn_bytes << " bytes) left by an interrupted run\n";
    }
    std::vector<std::string> todo;
    std::size_t skipped = 0;
    std::size_t earlier_errors = 0;
    for (const std::string& path : listing.files) {
        if (journal.done.count(path) != 0) {
            ++skipped;
            earlier_errors += journal.failed.count(path);
        } else {
            todo.push_back(path);
        }
    }

    std::optional<OutputWriter> writer;
    try {
        writer.emplace(o.output, o.format, o.format == OutputFormat::kCsv ? csvHeader() : "");
    } catch (const std::exception& e) {
        return fatal(e.what());
    }
    ScoreTally tally;
    Scorer scorer(config, *writer, tally);
    std::cerr << "predictd-score: " << listing.files.size() << " inputs, " << skipped
              << " already in " << o.output << ", " << todo.size() << " to score\n";
    if (!todo.empty()) {
        const std::string refused = scorer.negotiate();
        if (g_signal != 0) {
            return interrupted();
        }
        if (!refused.empty()) {
            std::cerr << "predictd-score: " << refused << '\n';
            return scorer.end() == RunEnd::kUnavailable ? kExitUnavailable : kExitFatal;
        }
        std::cerr << "predictd-score: model " << o.model << " through " << scorer.protocolName()
                  << ", batch " << o.batch << ", concurrency " << o.concurrency << '\n';
    }

    ProgressMode mode = ProgressMode::kLines;
    if (o.progress == "none") {
        mode = ProgressMode::kNone;
    } else if (o.progress == "bar" || (o.progress == "auto" && ::isatty(STDERR_FILENO) == 1)) {
        mode = ProgressMode::kBar;
    }
    const auto started = std::chrono::steady_clock::now();
    ProgressDisplay progress(std::cerr, mode, todo.size(), o.progress_interval, terminalWidth());
    scorer.start(std::move(todo));
    bool signalled = false;
    for (bool done = false; !done;) {
        done = scorer.waitFor(std::chrono::milliseconds(100));
        progress.tick(tally);
        writer->flushIfDue();
        // Checked even when the slots are done: the signal itself makes them give up early.
        if (g_signal != 0) {
            signalled = true;
            scorer.stop();
            break;
        }
    }
    const auto summary = [&] {
        writer->close();
        progress.finish(tally);
        const double elapsed =
            std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
        std::cerr << summaryText(tally.snapshot(), listing.files.size() - skipped, skipped,
                                 elapsed);
        if (earlier_errors > 0) {
            std::cerr << "  " << earlier_errors << " error rows from earlier runs\n";
        }
    };
    if (signalled && !scorer.waitFor(std::chrono::seconds(5))) {
        summary();
        ::_exit(interrupted());  // requests still in flight: their images are scored next run
    }
    scorer.join();
    summary();
    const std::string write_error = writer->error();
    if (!write_error.empty()) {
        return fatal(write_error);
    }
    switch (scorer.end()) {
        case RunEnd::kInterrupted:
            return interrupted();
        case RunEnd::kUnavailable:
            std::cerr << "predictd-score: " << scorer.endMessage()
                      << "; run the same command again to resume\n";
            return kExitUnavailable;
        case RunEnd::kFatal:
            return fatal(scorer.endMessage());
        case RunEnd::kComplete:
            break;
    }
    if (o.sorted) {
        writer.reset();
        const std::string sort_error = sortOutput(o.output, o.format);
        if (!sort_error.empty()) {
            return fatal(sort_error);
        }
    }
    return tally.errors() > 0 || earlier_errors > 0 ? kExitErrorRows : kExitOk;
}

}  // namespace

int main(int argc, char** argv) {
    try {
        const std::vector<std::string> args(argv + 1, argv + argc);
        const ParsedOptions parsed = parseScoreOptions(args);
        if (!parsed.options) {
            std::cerr << "predictd-score: " << parsed.error << " (see --help)\n";
            return kExitFatal;
        }
        if (parsed.options->help) {
            std::cout << scoreUsage();
            return kExitOk;
        }
        return run(*parsed.options);
    } catch (const std::exception& e) {
        return fatal(e.what());
    }
}
