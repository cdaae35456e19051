// Unit tests for image_model with the MNIST digit model, on both engines (ONNX Runtime, the
// default, and OpenCV DNN): loading errors, the labelled sample digits, batch == one-by-one, the
// held-out accuracy floor, and the two engines agreeing.
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

#include "models/image_model.hpp"
#include "models/postprocess.hpp"
#include "models/preprocess.hpp"

namespace predictd {
namespace {

const std::string kSourceDir = PREDICTD_SOURCE_DIR;
const std::string kModelPath = kSourceDir + "/model/mnist/1/model.onnx";

// model/README.md states the default model's held-out accuracy; the test allows a small
// margin below it (see tests/data/README.md). Any loss beyond that is ours.
constexpr double kHeldOutAccuracyFloor = 0.95;

ModelSpec specFor(Backend backend) {
    ModelSpec spec = digitModelSpec("mnist");
    spec.backend = backend;
    return spec;
}

// A digit's classification, as the request path computes it.
Answer digitOf(const Prediction& p) {
    auto a = postprocess(p, digitModelSpec("mnist").output, 0);
    EXPECT_TRUE(a.ok());
    return a.ok() ? a.value() : Answer{};
}

class DigitModelTest : public ::testing::TestWithParam<Backend> {
  protected:
    void SetUp() override {
        auto loaded = ImageModel::load(kModelPath, specFor(GetParam()));
        ASSERT_TRUE(loaded.ok()) << loaded.error().message;
        model_ = std::move(loaded).value();
    }

    ImageModel& model() { return *model_; }

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
    std::unique_ptr<ImageModel> model_;
};

INSTANTIATE_TEST_SUITE_P(Engines, DigitModelTest,
                         ::testing::Values(Backend::kOnnxRuntime, Backend::kOpenCvDnn),
                         [](const auto& info) { return std::string(backendName(info.param)); });

void expectLoadFailure(const std::string& path, const std::string& reasonPart) {
    for (Backend backend : {Backend::kOnnxRuntime, Backend::kOpenCvDnn}) {
        const auto r = ImageModel::load(path, specFor(backend));
        ASSERT_FALSE(r.ok());
        EXPECT_EQ(r.error().status, 500);
        EXPECT_EQ(r.error().code, "model_load_failed");
        EXPECT_NE(r.error().message.find("'" + path + "'"), std::string::npos) << r.error().message;
        EXPECT_NE(r.error().message.find(reasonPart), std::string::npos) << r.error().message;
    }
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

TEST_P(DigitModelTest, PathIsKept) {
    EXPECT_EQ(model().path(), kModelPath);
}

TEST_P(DigitModelTest, EachSampleDigitPredictsItsLabel) {
    for (int label = 0; label < 10; ++label) {
        const auto r = model().predict({sampleDigit(label)});
        ASSERT_TRUE(r.ok()) << r.error().message;
        ASSERT_EQ(r.value().size(), 1u);
        const Answer p = digitOf(r.value()[0]);
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

TEST_P(DigitModelTest, BatchEqualsOneByOne) {
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
        const Answer a = digitOf(batch.value()[i]);
        const Answer b = digitOf(single.value()[0]);
        EXPECT_EQ(a.label, b.label) << i;
        for (std::size_t k = 0; k < 10; ++k) {
            EXPECT_NEAR(a.probabilities[k], b.probabilities[k], 1e-6) << i << "/" << k;
        }
    }
}

TEST_P(DigitModelTest, NonContiguousDigitIsAccepted) {
    const cv::Mat digit = sampleDigit(4);
    cv::Mat wide(28, 40, CV_32FC1, cv::Scalar(0));
    digit.copyTo(wide(cv::Rect(5, 0, 28, 28)));
    const cv::Mat view = wide(cv::Rect(5, 0, 28, 28));
    ASSERT_FALSE(view.isContinuous());
    const auto a = model().predict({view});
    const auto b = model().predict({digit});
    ASSERT_TRUE(a.ok() && b.ok());
    EXPECT_EQ(digitOf(a.value()[0]).probabilities, digitOf(b.value()[0]).probabilities);
}

TEST_P(DigitModelTest, EmptyBatchGivesNoPredictions) {
    const auto r = model().predict({});
    ASSERT_TRUE(r.ok());
    EXPECT_TRUE(r.value().empty());
}

TEST_P(DigitModelTest, WrongDigitShapeIsInferenceFailed) {
    for (const cv::Mat& bad : {cv::Mat(28, 28, CV_8UC1, cv::Scalar(0)),
                               cv::Mat(27, 28, CV_32FC1, cv::Scalar(0)), cv::Mat()}) {
        const auto r = model().predict({sampleDigit(1), bad});
        ASSERT_FALSE(r.ok());
        EXPECT_EQ(r.error().status, 500);
        EXPECT_EQ(r.error().code, "inference_failed");
        EXPECT_EQ(r.error().message, "inference failed: image 1 is not 28x28x1 float");
    }
    EXPECT_TRUE(model().predict({sampleDigit(1)}).ok());  // still usable afterwards
}

TEST_P(DigitModelTest, HeldOutAccuracyThroughPreprocessing) {
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
            correct += digitOf(r.value()[i]).label == labels[start + i] ? 1 : 0;
        }
    }
    const double accuracy = correct / 1000.0;
    RecordProperty("heldout_accuracy", std::to_string(accuracy));
    EXPECT_GE(accuracy, kHeldOutAccuracyFloor);
}

// The two engines compute the same function: every held-out-style sample agrees to 1e-5.
TEST(DigitModelEngines, OnnxRuntimeAndOpenCvAgree) {
    auto ort = ImageModel::load(kModelPath, specFor(Backend::kOnnxRuntime));
    auto ocv = ImageModel::load(kModelPath, specFor(Backend::kOpenCvDnn));
    ASSERT_TRUE(ort.ok() && ocv.ok());
    std::vector<cv::Mat> digits;
    for (int label = 0; label < 10; ++label) {
        const cv::Mat image =
            cv::imread(kSourceDir + "/tests/data/samples/digit-" + std::to_string(label) + ".png",
                       cv::IMREAD_UNCHANGED);
        digits.push_back(preprocessDigit(image).value());
    }
    const auto a = ort.value()->predict(digits);
    const auto b = ocv.value()->predict(digits);
    ASSERT_TRUE(a.ok() && b.ok());
    for (std::size_t i = 0; i < digits.size(); ++i) {
        const auto& pa = a.value()[i].outputs.at(0).values;
        const auto& pb = b.value()[i].outputs.at(0).values;
        ASSERT_EQ(pa.size(), 10u);
        ASSERT_EQ(pb.size(), 10u);
        for (std::size_t k = 0; k < 10; ++k) {
            EXPECT_NEAR(pa[k], pb[k], 1e-5) << i << "/" << k;
        }
    }
}

}  // namespace
}  // namespace predictd
