// test_digit_pages.cpp — digits as people write them: the 1 000 held-out digits drawn ~60 px tall,
// dark on a white 240×240 page at a random place, plain and "photographed" (grey paper, uneven
// light, noise, JPEG), through the digit recipe and the MNIST model (ONNX Runtime), with accuracy
// floors. Deterministic (fixed seed); figures recorded as test properties and printed.
#include <gtest/gtest.h>

#include <opencv2/core.hpp>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include <cmath>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <iterator>
#include <random>
#include <string>
#include <vector>

#include "models/image_model.hpp"
#include "models/postprocess.hpp"
#include "models/preprocess.hpp"

namespace predictd {
namespace {

const std::string kSourceDir = PREDICTD_SOURCE_DIR;
constexpr int kPage = 240;
constexpr int kTile = 84;  // the 28×28 digit box at 3×: its ~20 px of ink become ~60 px
// Floors: measured figures (README, Models) minus a margin for the JPEG codec and float
// differences between machines.
constexpr double kOffCentreFloor = 0.975;     // measured 0.989
constexpr double kTightCropFloor = 0.975;     // measured 0.989
constexpr double kPhotographedFloor = 0.965;  // measured 0.989

struct Digit {
    int label;
    cv::Mat pixels;  // 28×28 8-bit, light on dark (MNIST)
};

std::vector<Digit> heldOut() {
    std::ifstream in(kSourceDir + "/tests/data/heldout-1000.bin", std::ios::binary);
    const std::string data((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    std::vector<Digit> out;
    for (std::size_t off = 0; off + 785 <= data.size(); off += 785) {
        cv::Mat m(28, 28, CV_8UC1);
        std::memcpy(m.data, data.data() + off + 1, 784);
        out.push_back({static_cast<unsigned char>(data[off]), m});
    }
    return out;
}

// Dark ink on a white page at a random place.
cv::Mat page(const Digit& d, std::mt19937& rng) {
    cv::Mat tile;
    cv::resize(d.pixels, tile, cv::Size(kTile, kTile), 0, 0, cv::INTER_LINEAR);
    cv::Mat p(kPage, kPage, CV_8UC1, cv::Scalar(255));
    std::uniform_int_distribution<int> at(0, kPage - kTile);
    const cv::Rect where(at(rng), at(rng), kTile, kTile);
    cv::Mat ink = 255 - tile;
    cv::Mat region = p(where);
    cv::min(region, ink, region);
    return p;
}

// The same page as a phone would photograph it: grey paper, light falling off across the page,
// sensor noise, JPEG.
cv::Mat photographed(const cv::Mat& clean, std::mt19937& rng) {
    std::uniform_real_distribution<double> paper(0.62, 0.85);
    std::uniform_real_distribution<double> angle(0, 2 * CV_PI);
    const double level = paper(rng);
    const double a = angle(rng);
    cv::Mat f;
    clean.convertTo(f, CV_32F, level / 255.0);
    for (int y = 0; y < f.rows; ++y) {
        for (int x = 0; x < f.cols; ++x) {
            const double t = ((x - kPage / 2.0) * std::cos(a) + (y - kPage / 2.0) * std::sin(a)) /
                             kPage;  // −0.7 … 0.7
            f.at<float>(y, x) *= static_cast<float>(1.0 + 0.35 * t);
        }
    }
    cv::Mat noise(f.size(), CV_32F);
    cv::randn(noise, 0.0, 0.03);
    f += noise;
    cv::Mat eight;
    f.convertTo(eight, CV_8U, 255.0);
    std::vector<uchar> jpeg;
    cv::imencode(".jpg", eight, jpeg, {cv::IMWRITE_JPEG_QUALITY, 75});
    return cv::imdecode(jpeg, cv::IMREAD_UNCHANGED);
}

double accuracy(ImageModel& model, const std::vector<Digit>& digits,
                const std::vector<cv::Mat>& images) {
    int right = 0;
    for (std::size_t i = 0; i < images.size(); ++i) {
        auto input = preprocessImage(images[i], model.spec());
        EXPECT_TRUE(input.ok());
        auto out = model.predict({input.value()});
        EXPECT_TRUE(out.ok());
        right += postprocess(out.value()[0], model.spec().output).value().label == digits[i].label;
    }
    return static_cast<double>(right) / static_cast<double>(images.size());
}

class DigitPages : public ::testing::Test {
  protected:
    void SetUp() override {
        auto loaded =
            ImageModel::load(kSourceDir + "/model/mnist/1/model.onnx", digitModelSpec("mnist"));
        ASSERT_TRUE(loaded.ok()) << loaded.error().message;
        model_ = std::move(loaded).value();
        digits_ = heldOut();
        ASSERT_EQ(digits_.size(), 1000u);
    }
    std::unique_ptr<ImageModel> model_;
    std::vector<Digit> digits_;
};

TEST_F(DigitPages, OffCentreSmallDigitsOnAWhitePage) {
    std::mt19937 rng(20261202);
    cv::setRNGSeed(20261202);
    std::vector<cv::Mat> pages;
    for (const Digit& d : digits_) {
        pages.push_back(page(d, rng));
    }
    const double acc = accuracy(*model_, digits_, pages);
    std::printf("off-centre pages: %.1f %% right\n", 100 * acc);
    RecordProperty("off_centre_accuracy", std::to_string(acc));
    EXPECT_GE(acc, kOffCentreFloor);
}

TEST_F(DigitPages, PhotographedPages) {
    std::mt19937 rng(20261203);
    cv::setRNGSeed(20261203);
    std::vector<cv::Mat> photos;
    for (const Digit& d : digits_) {
        photos.push_back(photographed(page(d, rng), rng));
    }
    const double acc = accuracy(*model_, digits_, photos);
    std::printf("photographed pages: %.1f %% right\n", 100 * acc);
    RecordProperty("photographed_accuracy", std::to_string(acc));
    EXPECT_GE(acc, kPhotographedFloor);
}

// A digit cropped tightly and scaled up (a user's crop, not a page): light on dark and dark on
// light, 112×112. The recipe must not lose thick strokes to its background estimate.
TEST_F(DigitPages, TightCropsScaledUp) {
    std::vector<cv::Mat> light;
    std::vector<cv::Mat> dark;
    for (const Digit& d : digits_) {
        cv::Mat big;
        cv::resize(d.pixels, big, cv::Size(112, 112), 0, 0, cv::INTER_LINEAR);
        light.push_back(big);
        dark.push_back(255 - big);
    }
    const double a = accuracy(*model_, digits_, light);
    const double b = accuracy(*model_, digits_, dark);
    std::printf("tight crops ×4: %.1f %% (light on dark), %.1f %% (dark on light)\n", 100 * a,
                100 * b);
    RecordProperty("tight_crop_accuracy", std::to_string(std::min(a, b)));
    EXPECT_GE(std::min(a, b), kTightCropFloor);
}

}  // namespace
}  // namespace predictd
