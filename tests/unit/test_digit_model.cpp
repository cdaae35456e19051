// Unit tests for digit_model: loading errors, the labelled sample digits, batch == one-by-one,
// and the held-out accuracy floor.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <fstream>
#include <iterator>
#include <optional>
#include <string>
#include <vector>

#include <opencv2/core.hpp>
#include <opencv2/imgcodecs.hpp>

#include "models/digit_model.hpp"
#include "models/preprocess.hpp"

namespace predictd {
namespace {

const std::string kSourceDir = PREDICTD_SOURCE_DIR;
const std::string kModelPath = kSourceDir + "/model/mnist-cnn.onnx";

// model/README.md states the default model's held-out accuracy; the test allows a small
// margin below it (see tests/data/README.md). Any loss beyond that is ours.
constexpr double kHeldOutAccuracyFloor = 0.95;

class DigitModelTest : public ::testing::Test {
  protected:
    static void SetUpTestSuite() {
        auto loaded = DigitModel::load(kModelPath);
        ASSERT_TRUE(loaded.ok()) << loaded.error().message;
        model_.emplace(std::move(loaded).value());
    }
    static void TearDownTestSuite() { model_.reset(); }

    static DigitModel& model() { return *model_; }

    static cv::Mat sampleDigit(int label) {
        const std::string path =
            kSourceDir + "/tests/data/samples/digit-" + std::to_string(label) + ".png";
        const cv::Mat image = cv::imread(path, cv::IMREAD_UNCHANGED);
        EXPECT_FALSE(image.empty()) << path;
        auto digit = preprocessDigit(image);
        EXPECT_TRUE(digit.ok());
        return digit.ok() ? digit.value() : cv::Mat();
    }

  private:
    static inline std::optional<DigitModel> model_;
};

void expectLoadFailure(const std::string& path, const std::string& reasonPart) {
    const auto r = DigitModel::load(path);
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error().status, 500);
    EXPECT_EQ(r.error().code, "model_load_failed");
    EXPECT_NE(r.error().message.find("'" + path + "'"), std::string::npos) << r.error().message;
    EXPECT_NE(r.error().message.find(reasonPart), std::string::npos) << r.error().message;
}

TEST(DigitModelLoad, MissingFile) {
    expectLoadFailure("/nonexistent/model.onnx", "no such file");
}

TEST(DigitModelLoad, DirectoryIsNotAModel) {
    expectLoadFailure("/tmp", "not a regular file");
}

TEST(DigitModelLoad, GarbageFile) {
    const std::string path = ::testing::TempDir() + "predictd-garbage.onnx";
    {
        std::ofstream out(path, std::ios::binary);
        out << "this is not a protobuf at all \x01\x02\x03";
    }
    expectLoadFailure(path, "");
    std::remove(path.c_str());
}

TEST_F(DigitModelTest, PathIsKept) {
    EXPECT_EQ(model().path(), kModelPath);
}

TEST_F(DigitModelTest, EachSampleDigitPredictsItsLabel) {
    for (int label = 0; label < 10; ++label) {
        const auto r = model().predict({sampleDigit(label)});
        ASSERT_TRUE(r.ok()) << r.error().message;
        ASSERT_EQ(r.value().size(), 1u);
        const Prediction& p = r.value()[0];
        EXPECT_EQ(p.label, label);
        EXPECT_EQ(p.confidence, p.probabilities[static_cast<std::size_t>(label)]);
        EXPECT_GE(p.confidence, 0.99f) << "digit " << label;  // how the samples were chosen
        float sum = 0;
        for (const float q : p.probabilities) {
            EXPECT_GE(q, 0.0f);
            sum += q;
        }
        EXPECT_NEAR(sum, 1.0f, 1e-4);
    }
}

TEST_F(DigitModelTest, BatchEqualsOneByOne) {
    std::vector<cv::Mat> digits;
    for (int label = 0; label < 10; ++label) {
        digits.push_back(sampleDigit(label));
    }
    digits.push_back(digits[3]);  // repeats are fine
    const auto batch = model().predict(digits);
    ASSERT_TRUE(batch.ok()) << batch.error().message;
    ASSERT_EQ(batch.value().size(), digits.size());
    for (std::size_t i = 0; i < digits.size(); ++i) {
        const auto single = model().predict({digits[i]});
        ASSERT_TRUE(single.ok());
        const Prediction& a = batch.value()[i];
        const Prediction& b = single.value()[0];
        EXPECT_EQ(a.label, b.label) << i;
        for (std::size_t k = 0; k < 10; ++k) {
            EXPECT_NEAR(a.probabilities[k], b.probabilities[k], 1e-6) << i << "/" << k;
        }
    }
}

TEST_F(DigitModelTest, NonContiguousDigitIsAccepted) {
    const cv::Mat digit = sampleDigit(4);
    cv::Mat wide(28, 40, CV_32FC1, cv::Scalar(0));
    digit.copyTo(wide(cv::Rect(5, 0, 28, 28)));
    const cv::Mat view = wide(cv::Rect(5, 0, 28, 28));
    ASSERT_FALSE(view.isContinuous());
    const auto a = model().predict({view});
    const auto b = model().predict({digit});
    ASSERT_TRUE(a.ok() && b.ok());
    EXPECT_EQ(a.value()[0].probabilities, b.value()[0].probabilities);
}

TEST_F(DigitModelTest, EmptyBatchGivesNoPredictions) {
    const auto r = model().predict({});
    ASSERT_TRUE(r.ok());
    EXPECT_TRUE(r.value().empty());
}

TEST_F(DigitModelTest, WrongDigitShapeIsInferenceFailed) {
    for (const cv::Mat& bad : {cv::Mat(28, 28, CV_8UC1, cv::Scalar(0)),
                               cv::Mat(27, 28, CV_32FC1, cv::Scalar(0)), cv::Mat()}) {
        const auto r = model().predict({sampleDigit(1), bad});
        ASSERT_FALSE(r.ok());
        EXPECT_EQ(r.error().status, 500);
        EXPECT_EQ(r.error().code, "inference_failed");
        EXPECT_EQ(r.error().message,
                  "inference failed: digit 1 is not a 28x28 single-channel float image");
    }
    EXPECT_TRUE(model().predict({sampleDigit(1)}).ok());  // still usable afterwards
}

TEST_F(DigitModelTest, HeldOutAccuracyThroughPreprocessing) {
    std::ifstream in(kSourceDir + "/tests/data/heldout-1000.bin", std::ios::binary);
    ASSERT_TRUE(in.good());
    const std::string data((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    constexpr std::size_t kRecord = 1 + 28 * 28;
    ASSERT_EQ(data.size(), 1000 * kRecord);
    std::vector<cv::Mat> digits;
    std::vector<int> labels;
    for (std::size_t off = 0; off < data.size(); off += kRecord) {
        labels.push_back(static_cast<unsigned char>(data[off]));
        const cv::Mat raw(28, 28, CV_8UC1,
                          const_cast<char*>(data.data() + off + 1));  // NOLINT(*-const-cast)
        auto digit = preprocessDigit(raw);
        ASSERT_TRUE(digit.ok());
        digits.push_back(digit.value());
    }
    int correct = 0;
    for (std::size_t start = 0; start < digits.size(); start += 100) {
        const std::vector<cv::Mat> chunk(digits.begin() + static_cast<long>(start),
                                         digits.begin() + static_cast<long>(start + 100));
        const auto r = model().predict(chunk);
        ASSERT_TRUE(r.ok()) << r.error().message;
        for (std::size_t i = 0; i < chunk.size(); ++i) {
            correct += r.value()[i].label == labels[start + i] ? 1 : 0;
        }
    }
    const double accuracy = correct / 1000.0;
    RecordProperty("heldout_accuracy", std::to_string(accuracy));
    EXPECT_GE(accuracy, kHeldOutAccuracyFloor);
}

}  // namespace
}  // namespace predictd
