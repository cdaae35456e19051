// test_dynamic_batcher.cpp — concurrent predict() calls merged into shared forward passes give
// the same answers as one call each, and are really merged.
#include <gtest/gtest.h>

#include <algorithm>

#include <opencv2/imgcodecs.hpp>

#include <atomic>
#include <barrier>
#include <fstream>
#include <sstream>
#include <thread>

#include "models/dynamic_batcher.hpp"
#include "models/image_model.hpp"
#include "models/preprocess.hpp"
#include "ops/service_metrics.hpp"

namespace predictd {
namespace {

int argmax(const Prediction& p) {
    const auto& v = p.outputs.at(0).values;
    return static_cast<int>(std::max_element(v.begin(), v.end()) - v.begin());
}

std::vector<cv::Mat> heldOutDigits(std::size_t n) {
    std::ifstream in(std::string(PREDICTD_SOURCE_DIR) + "/tests/data/heldout-1000.bin",
                     std::ios::binary);
    std::stringstream ss;
    ss << in.rdbuf();
    const std::string data = ss.str();
    std::vector<cv::Mat> out;
    for (std::size_t i = 0; i < n && (i + 1) * 785 <= data.size(); ++i) {
        cv::Mat img(28, 28, CV_8UC1, const_cast<char*>(data.data() + i * 785 + 1));
        out.push_back(preprocessDigit(img).value());
    }
    return out;
}

class DynamicBatcherTest : public ::testing::Test {
  protected:
    void SetUp() override {
        auto loaded =
            ImageModel::load(std::string(PREDICTD_SOURCE_DIR) + "/model/mnist/1/model.onnx",
                             digitModelSpec("mnist"));
        ASSERT_TRUE(loaded.ok()) << loaded.error().message;
        model_ = std::move(loaded).value();
        digits_ = heldOutDigits(200);
        for (const cv::Mat& d : digits_) {
            auto one = model_->predict({d});
            ASSERT_TRUE(one.ok());
            alone_.push_back(one.value()[0]);
        }
    }
    std::unique_ptr<ImageModel> model_;
    std::vector<cv::Mat> digits_;
    std::vector<Prediction> alone_;
};

TEST_F(DynamicBatcherTest, LoneCallsGiveExactlyTheModelsAnswers) {
    ServiceMetrics metrics;
    DynamicBatcher batcher(*model_, {64, std::chrono::microseconds(0)}, &metrics);
    for (std::size_t i = 0; i < 20; ++i) {
        auto r = batcher.predict({digits_[i]});
        ASSERT_TRUE(r.ok());
        EXPECT_EQ(argmax(r.value()[0]), argmax(alone_[i]));
        EXPECT_EQ(r.value()[0].outputs.at(0).values,
                  alone_[i].outputs.at(0).values);  // bit for bit
    }
    EXPECT_EQ(metrics.inference_seconds.count.load(), 20u);
    EXPECT_EQ(metrics.batch_size.sum_micros.load(), 20u);  // sum of images, one per pass
}

TEST_F(DynamicBatcherTest, ConcurrentCallsAreMergedAndAnswersMatch) {
    ServiceMetrics metrics;
    DynamicBatcher batcher(*model_, {16, std::chrono::microseconds(200'000)}, &metrics);
    constexpr int kThreads = 8;
    constexpr std::size_t kRounds = 25;  // 8 × 25 = the 200 digits
    std::atomic<int> mismatches{0};
    std::atomic<int> label_mismatches{0};
    // Each round, all eight announce their request before any of them calls predict(): the
    // first leader then knows seven more are coming and waits (up to 200 ms) to take them along.
    std::barrier announced(kThreads);
    std::barrier round_done(kThreads);
    std::vector<std::thread> threads;
    for (int t = 0; t < kThreads; ++t) {
        threads.emplace_back([&, t] {
            for (std::size_t round = 0; round < kRounds; ++round) {
                const std::size_t i = round * kThreads + static_cast<std::size_t>(t);
                batcher.requestStarted();
                announced.arrive_and_wait();
                auto r = batcher.predict({digits_[i]});
                batcher.requestFinished();
                round_done.arrive_and_wait();
                if (!r.ok() || r.value().size() != 1) {
                    ++mismatches;
                    continue;
                }
                const Prediction& p = r.value()[0];
                label_mismatches += argmax(p) != argmax(alone_[i]) ? 1 : 0;
                for (std::size_t k = 0; k < 10; ++k) {
                    if (std::abs(p.outputs.at(0).values[k] - alone_[i].outputs.at(0).values[k]) >
                        1e-6f) {
                        ++mismatches;
                        break;
                    }
                }
            }
        });
    }
    for (auto& t : threads) {
        t.join();
    }
    EXPECT_EQ(label_mismatches, 0);
    EXPECT_EQ(mismatches, 0);
    const auto passes = metrics.inference_seconds.count.load();
    const auto images = metrics.batch_size.sum_micros.load();
    EXPECT_EQ(images, digits_.size());
    // Every round's eight requests fit in one pass of 16; allow stragglers on a busy machine.
    EXPECT_LE(passes, kRounds * 3) << "announced concurrent requests were not merged";
    std::printf("%zu images in %llu forward passes\n", digits_.size(),
                static_cast<unsigned long long>(passes));
}

TEST_F(DynamicBatcherTest, NeverExceedsMaxBatchSizeExceptForOneLargeRequest) {
    ServiceMetrics metrics;
    DynamicBatcher batcher(*model_, {4, std::chrono::microseconds(20'000)}, &metrics);
    std::vector<std::thread> threads;
    for (int t = 0; t < 6; ++t) {
        threads.emplace_back([&] {
            batcher.requestStarted();
            auto r = batcher.predict({digits_[0], digits_[1]});
            batcher.requestFinished();
            EXPECT_TRUE(r.ok());
            EXPECT_EQ(r.value().size(), 2u);
        });
    }
    for (auto& t : threads) {
        t.join();
    }
    // Buckets hold passes by size: (0,1], (1,2], (2,4], (4,8], …; nothing may be above 4.
    std::uint64_t above_four = 0;
    for (std::size_t b = 3; b < metrics.batch_size.buckets.size(); ++b) {
        above_four += metrics.batch_size.buckets[b].load();
    }
    EXPECT_EQ(above_four, 0u);
    EXPECT_EQ(metrics.batch_size.sum_micros.load(), 12u);              // 6 requests × 2 images
    auto big = batcher.predict(std::vector<cv::Mat>(10, digits_[2]));  // alone, larger than 4
    ASSERT_TRUE(big.ok());
    EXPECT_EQ(big.value().size(), 10u);
}

}  // namespace
}  // namespace predictd
