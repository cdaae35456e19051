// dynamic_batcher.cpp — leader/follower dynamic batching (see dynamic_batcher.hpp).
#include "models/dynamic_batcher.hpp"

namespace predictd {

DynamicBatcher::DynamicBatcher(Predictor& model, BatchingOptions options, ServiceMetrics* metrics,
                               ModelSeries* series)
    : model_(model), options_(options), metrics_(metrics), series_(series) {}

void DynamicBatcher::requestStarted() {
    std::lock_guard<std::mutex> lock(mu_);
    ++in_flight_;
}

void DynamicBatcher::requestFinished() {
    std::lock_guard<std::mutex> lock(mu_);
    if (in_flight_ > 0) {
        --in_flight_;
    }
    cv_.notify_all();  // a waiting leader may stop expecting this one
}

Result<std::vector<Prediction>> DynamicBatcher::predict(const std::vector<cv::Mat>& digits) {
    Job job;
    job.digits = &digits;
    std::unique_lock<std::mutex> lock(mu_);
    queue_.push_back(&job);
    ++queued_or_running_;
    while (!job.done) {
        if (!leading_) {
            lead(lock);
        } else {
            cv_.wait(lock);
        }
    }
    --queued_or_running_;
    return std::move(job.result);
}

// Called with the lock held; returns with it held.
void DynamicBatcher::lead(std::unique_lock<std::mutex>& lock) {
    leading_ = true;
    // Wait for company only if other accepted requests have not reached predict() yet.
    if (options_.max_queue_delay.count() > 0) {
        const auto deadline = std::chrono::steady_clock::now() + options_.max_queue_delay;
        auto queuedImages = [this] {
            std::size_t n = 0;
            for (const Job* j : queue_) {
                n += j->digits->size();
            }
            return n;
        };
        while (in_flight_ > queued_or_running_ && queuedImages() < options_.max_batch_size &&
               cv_.wait_until(lock, deadline) != std::cv_status::timeout) {
        }
    }
    // Take jobs in order up to max_batch_size images (a single larger job runs alone).
    std::vector<Job*> taken;
    std::size_t images = 0;
    while (!queue_.empty()) {
        Job* j = queue_.front();
        if (!taken.empty() && images + j->digits->size() > options_.max_batch_size) {
            break;
        }
        taken.push_back(j);
        images += j->digits->size();
        queue_.pop_front();
    }
    lock.unlock();

    batch_.clear();
    for (const Job* j : taken) {
        batch_.insert(batch_.end(), j->digits->begin(), j->digits->end());  // headers only
    }
    const auto t0 = std::chrono::steady_clock::now();
    Result<std::vector<Prediction>> out = model_.predict(batch_);
    const auto micros =
        std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::steady_clock::now() - t0)
            .count();
    if (metrics_ != nullptr && out) {
        metrics_->recordInference(images, static_cast<std::uint64_t>(micros));
    }
    if (series_ != nullptr) {
        series_->record(images, static_cast<std::uint64_t>(micros), out.ok());
    }
    std::size_t offset = 0;
    for (Job* j : taken) {
        if (!out) {
            j->result = out.error();
        } else {
            const auto& all = out.value();
            const auto first = all.begin() + static_cast<std::ptrdiff_t>(offset);
            j->result = std::vector<Prediction>(
                first, first + static_cast<std::ptrdiff_t>(j->digits->size()));
        }
        offset += j->digits->size();
    }

    lock.lock();
    for (Job* j : taken) {
        j->done = true;
    }
    leading_ = false;
    cv_.notify_all();
}

}  // namespace predictd
