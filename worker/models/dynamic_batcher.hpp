// dynamic_batcher.hpp — merges concurrent predict() calls of one worker into shared forward
// passes (TF Serving's / Triton's dynamic batching, inside a prefork worker).
//
// Leader/follower, no extra thread: a caller that finds nobody running the model becomes the
// leader, takes everything queued (up to max_batch_size images), runs ONE forward pass, hands
// each caller its slice and wakes them; the others wait. A lone request therefore runs at once
// on its own thread. The leader waits up to max_queue_delay_us for more only when the worker
// has other requests accepted but not yet queued (they are still being parsed/decoded).
// Also records every forward pass (images, time) in the pool-wide metrics and in its model
// version's series.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <deque>
#include <mutex>

#include "models/predictor.hpp"
#include "ops/service_metrics.hpp"

namespace predictd {

struct BatchingOptions {
    std::size_t max_batch_size = 64;               // images per forward pass at most
    std::chrono::microseconds max_queue_delay{0};  // longest a leader waits for company
};

class DynamicBatcher final : public Predictor {
  public:
    // `series`: this model version's own counters (may be null: counted only pool-wide).
    DynamicBatcher(Predictor& model, BatchingOptions options, ServiceMetrics* metrics,
                   ModelSeries* series = nullptr);

    // Thread-safe; blocks until this call's predictions are ready.
    Result<std::vector<Prediction>> predict(const std::vector<cv::Mat>& digits) override;

    // A request was accepted and will reach predict() soon / is done (called by the acceptor
    // threads); lets a leader tell "more is coming" from "nothing else to wait for".
    void requestStarted();
    void requestFinished();

  private:
    struct Job {
        const std::vector<cv::Mat>* digits = nullptr;
        Result<std::vector<Prediction>> result{std::vector<Prediction>{}};
        bool done = false;
    };

    void lead(std::unique_lock<std::mutex>& lock);

    Predictor& model_;
    BatchingOptions options_;
    ServiceMetrics* metrics_;
    ModelSeries* series_;

    std::mutex mu_;
    std::condition_variable cv_;
    std::deque<Job*> queue_;
    bool leading_ = false;
    std::size_t in_flight_ = 0;          // accepted requests not yet answered
    std::size_t queued_or_running_ = 0;  // of those, how many reached predict()

    std::vector<cv::Mat> batch_;  // reused across passes
};

}  // namespace predictd
