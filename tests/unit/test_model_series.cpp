// test_model_series.cpp — the per-model counters in shared memory (ServiceMetrics::model_series)
// and their /metrics lines: one series per model and version, claimed once; a full table or an
// over-long name is counted pool-wide only; two entries claimed for the same model and version
// (two workers loading it at once) are rendered as one sum.
#include <gtest/gtest.h>

#include <string>

#include "ops/service_metrics.hpp"
#include "ops/status_report.hpp"
#include "process/scoreboard.hpp"

namespace predictd {
namespace {

// The value of the /metrics line that starts with `series` (the name and its labels), or "".
std::string valueOf(const std::string& text, const std::string& series) {
    const auto at = text.find("\n" + series + " ");
    if (at == std::string::npos) {
        return "";
    }
    const auto start = at + 1 + series.size() + 1;
    return text.substr(start, text.find('\n', start) - start);
}

TEST(ModelSeries, OneSeriesPerModelAndVersion) {
    Scoreboard board;
    ServiceMetrics& m = board.metrics();
    ModelSeries* mnist1 = m.modelSeries("mnist", 1);
    ASSERT_NE(mnist1, nullptr);
    EXPECT_EQ(m.modelSeries("mnist", 1), mnist1);
    ModelSeries* mnist2 = m.modelSeries("mnist", 2);
    ModelSeries* photo1 = m.modelSeries("nsfw-mobilenetv2", 1);
    ASSERT_NE(mnist2, nullptr);
    ASSERT_NE(photo1, nullptr);
    EXPECT_NE(mnist2, mnist1);
    EXPECT_NE(photo1, mnist1);
    EXPECT_EQ(std::string(photo1->name), "nsfw-mobilenetv2");
    EXPECT_EQ(photo1->version, 1);
    EXPECT_EQ(m.modelSeries(std::string(kModelNameBytes, 'x'), 1), nullptr);
    EXPECT_EQ(m.modelSeries("", 1), nullptr);
}

TEST(ModelSeries, AFullTableCountsNoMoreModels) {
    Scoreboard board;
    ServiceMetrics& m = board.metrics();
    for (std::size_t i = 0; i < kMaxModelSeries; ++i) {
        ASSERT_NE(m.modelSeries("model-" + std::to_string(i), 1), nullptr) << i;
    }
    EXPECT_EQ(m.modelSeries("one-too-many", 1), nullptr);
    EXPECT_NE(m.modelSeries("model-7", 1), nullptr) << "an existing series is still found";
}

TEST(ModelSeries, RenderedPerModelWithRacingClaimsAddedTogether) {
    Scoreboard board;
    ServiceMetrics& m = board.metrics();
    ModelSeries* a = m.modelSeries("mnist", 1);
    ModelSeries* b = m.claimModelSeries("mnist", 1);  // a second worker's claim for the same
    ModelSeries* photo = m.modelSeries("photo \"quoted\"", 3);
    ASSERT_NE(a, nullptr);
    ASSERT_NE(b, nullptr);
    ASSERT_NE(a, b);
    a->record(16, 2'000, true);
    a->record(16, 1'000, false);
    b->record(4, 500'000, true);
    photo->record(1, 7, true);

    // Built by appending: GCC 12's -Wrestrict misfires on "literal" + std::string&& (Release).
    std::string text = "\n";
    text += renderPrometheus(board, std::nullopt);
    EXPECT_EQ(valueOf(text, R"(predictd_model_images_total{model="mnist",version="1"})"), "20");
    EXPECT_EQ(valueOf(text, R"(predictd_model_forward_passes_total{model="mnist",version="1"})"),
              "3");
    EXPECT_EQ(valueOf(text, R"(predictd_model_inference_seconds_total{model="mnist",version="1"})"),
              "0.502000");
    EXPECT_EQ(
        valueOf(text, R"(predictd_model_inference_failures_total{model="mnist",version="1"})"),
        "1");
    EXPECT_EQ(valueOf(text, R"(predictd_model_images_total{model="photo \"quoted\"",version="3"})"),
              "1");
    // One line per model and version, not per entry.
    std::size_t lines = 0;
    for (auto at = text.find("\npredictd_model_images_total{"); at != std::string::npos;
         at = text.find("\npredictd_model_images_total{", at + 1)) {
        ++lines;
    }
    EXPECT_EQ(lines, 2u);
    EXPECT_NE(text.find("# TYPE predictd_model_images_total counter"), std::string::npos);
}

}  // namespace
}  // namespace predictd
