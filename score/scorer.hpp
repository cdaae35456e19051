// scorer.hpp — predictd-score's pipeline: choose the protocol the server offers, then feed
// batches from the reader to `concurrency` slots, each sending with retries and turning answers
// into rows.
//
// Owns the protocol choice (v2 binary when GET /v2 lists binary_tensor_data and the model's
// v2 metadata answers; else the native JSON route), what each answer means for the rows (a
// batch refused for one bad image is sent again image by image, so only that image gets an
// error row), and when the run must stop (a fatal answer, servers unreachable past the retry
// budget, an output that cannot be written, an interruption). Rows go to the writer and the
// tally; nothing is printed here.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <csignal>
#include <memory>
#include <mutex>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "batch_reader.hpp"
#include "http_transport.hpp"
#include "json_protocol.hpp"
#include "output_writer.hpp"
#include "progress_display.hpp"
#include "retry_policy.hpp"
#include "v2_protocol.hpp"

namespace predictd::score {

enum class Protocol { kAuto, kV2Binary, kJson };

struct ScorerConfig {
    std::vector<BaseUrl> urls;
    std::string model;
    std::string version;  // empty: the latest
    int top_k = 3;
    Protocol protocol = Protocol::kAuto;
    int concurrency = 8;
    BatchLimits batch{};
    RetryPolicy retry{};
    std::chrono::seconds timeout{60};
    // Set by a signal handler (Ctrl-C): retries and back-off waits give up as stop() makes them,
    // also while negotiate() runs on the caller's thread. May be null.
    const volatile std::sig_atomic_t* interrupt = nullptr;
};

enum class RunEnd {
    kComplete,     // every input got a row
    kInterrupted,  // stop() was called
    kFatal,        // an answer no retry can change (no such model …) or the output failed
    kUnavailable,  // the servers stayed unreachable or overloaded past the retry budget
};

class Scorer {
  public:
    Scorer(ScorerConfig config, OutputWriter& writer, ScoreTally& tally);
    ~Scorer();  // stops and joins
    Scorer(const Scorer&) = delete;
    Scorer& operator=(const Scorer&) = delete;

    // Asks the server what it offers; "" or why scoring cannot start (then end() is kFatal or
    // kUnavailable). Call before start().
    std::string negotiate();
    [[nodiscard]] std::string protocolName() const;

    void start(std::vector<std::string> paths);
    // Waits up to `timeout` for the slots to finish; true when they have (then join() is quick).
    bool waitFor(std::chrono::milliseconds timeout);
    void stop();  // an interruption: no new request; requests in flight finish
    void join();

    [[nodiscard]] RunEnd end() const;
    [[nodiscard]] std::string endMessage() const;

  private:
    struct Exchange {
        HttpReply reply;
        Outcome outcome = Outcome::kRetry;
        bool gave_up = false;  // retries exhausted, or stopped while retrying
    };
    void slot();
    void scoreBatch(SlotTransport& transport, const Batch& batch);
    Exchange exchange(SlotTransport& transport, const HttpCall& call);
    HttpCall encode(const Batch& batch) const;
    void emit(const ScoreRow& row);
    void emitError(const ImageFile& image, std::string kind, std::string message);
    void finish(RunEnd end, std::string message);
    bool stopping() const {
        return stop_.load(std::memory_order_relaxed) ||
               (config_.interrupt != nullptr && *config_.interrupt != 0);
    }
    bool sleepUnlessStopped(std::chrono::milliseconds wait);
    double randomUnit();

    ScorerConfig config_;
    OutputWriter& writer_;
    ScoreTally& tally_;
    HostPool hosts_;
    Protocol chosen_ = Protocol::kV2Binary;
    V2Target v2_{};
    JsonTarget json_{};
    std::string version_;  // the rows' version when the answers do not say

    std::atomic<bool> stop_{false};
    mutable std::mutex mutex_;
    std::condition_variable slots_done_;
    int running_ = 0;
    RunEnd end_ = RunEnd::kComplete;
    std::string end_message_;
    std::mt19937_64 random_{std::random_device{}()};
    std::unique_ptr<BatchReader> reader_;
    std::vector<std::thread> slots_;
};

// The kind of an error row for a refused image: the server's code when it gives one, else one
// by status (400 invalid_image, 413 image_too_large, 415 unsupported_image_format, 500
// inference_failed, other: http_<status>).
std::string errorKind(int status, const std::string& code);

}  // namespace predictd::score
