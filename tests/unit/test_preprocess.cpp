// Unit tests for preprocess: each step of the recipe with exact expected pixels.
#include <gtest/gtest.h>

#include <opencv2/core.hpp>
#include <opencv2/imgproc.hpp>

#include "models/preprocess.hpp"

namespace predictd {
namespace {

// A 28x28 light-on-dark 8-bit digit: dark border, random bright-ish interior.
cv::Mat mnistLike() {
    cv::Mat m(28, 28, CV_8UC1, cv::Scalar(0));
    cv::Mat inner = m(cv::Rect(6, 4, 14, 20));
    cv::randu(inner, cv::Scalar(0), cv::Scalar(256));
    return m;
}

cv::Mat run(const cv::Mat& image) {
    const auto r = preprocessDigit(image);
    EXPECT_TRUE(r.ok()) << (r.ok() ? "" : r.error().message);
    if (!r.ok()) {
        return {};
    }
    EXPECT_EQ(r.value().type(), CV_32FC1);
    EXPECT_EQ(r.value().rows, 28);
    EXPECT_EQ(r.value().cols, 28);
    return r.value();
}

void expectUnusable(const cv::Mat& image) {
    const auto r = preprocessDigit(image);
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error().status, 400);
    EXPECT_EQ(r.error().code, "undecodable_image");
}

double maxDiff(const cv::Mat& a, const cv::Mat& b) {
    return cv::norm(a, b, cv::NORM_INF);
}

TEST(Preprocess, MnistImagePassesThroughExactly) {
    const cv::Mat src = mnistLike();
    const cv::Mat out = run(src);
    for (int r = 0; r < 28; ++r) {
        for (int c = 0; c < 28; ++c) {
            ASSERT_EQ(out.at<float>(r, c), static_cast<float>(src.at<uchar>(r, c)) / 255.0f)
                << r << "," << c;
        }
    }
    EXPECT_NE(out.data, src.data);
}

TEST(Preprocess, EightBitScale) {
    cv::Mat src(28, 28, CV_8UC1, cv::Scalar(0));
    src.at<uchar>(10, 10) = 255;
    src.at<uchar>(10, 11) = 51;
    const cv::Mat out = run(src);
    EXPECT_EQ(out.at<float>(10, 10), 1.0f);
    EXPECT_FLOAT_EQ(out.at<float>(10, 11), 0.2f);
    EXPECT_EQ(out.at<float>(0, 0), 0.0f);
}

TEST(Preprocess, DarkOnLightIsInverted) {
    const cv::Mat digit = mnistLike();
    cv::Mat paper;
    cv::subtract(cv::Scalar(255), digit, paper);  // dark digit on white paper
    const cv::Mat out = run(paper);
    const cv::Mat expected = run(digit);
    EXPECT_LE(maxDiff(out, expected), 1e-6);
    EXPECT_EQ(out.at<float>(0, 0), 0.0f);
}

TEST(Preprocess, BorderMeanExactlyHalfIsNotInverted) {
    cv::Mat src(28, 28, CV_32FC1, cv::Scalar(0.5));
    src.at<float>(14, 14) = 1.0f;
    const cv::Mat out = run(src);
    EXPECT_EQ(out.at<float>(0, 0), 0.5f);
    EXPECT_EQ(out.at<float>(14, 14), 1.0f);
}

TEST(Preprocess, BgrUsesLumaWeights) {
    cv::Mat src(28, 28, CV_8UC3, cv::Scalar(0, 0, 0));
    src.at<cv::Vec3b>(5, 5) = {255, 0, 0};   // blue
    src.at<cv::Vec3b>(5, 6) = {0, 255, 0};   // green
    src.at<cv::Vec3b>(5, 7) = {0, 0, 255};   // red
    src.at<cv::Vec3b>(5, 8) = {77, 77, 77};  // gray stays gray
    const cv::Mat out = run(src);
    EXPECT_NEAR(out.at<float>(5, 5), 0.114f, 1e-6);
    EXPECT_NEAR(out.at<float>(5, 6), 0.587f, 1e-6);
    EXPECT_NEAR(out.at<float>(5, 7), 0.299f, 1e-6);
    EXPECT_NEAR(out.at<float>(5, 8), 77.0f / 255.0f, 1e-6);
}

TEST(Preprocess, ColourDigitOnWhiteIsInverted) {
    cv::Mat src(28, 28, CV_8UC3, cv::Scalar(255, 255, 255));
    src.at<cv::Vec3b>(14, 14) = {0, 0, 0};
    const cv::Mat out = run(src);
    EXPECT_NEAR(out.at<float>(14, 14), 1.0f, 1e-6);
    EXPECT_NEAR(out.at<float>(0, 0), 0.0f, 1e-6);
}

TEST(Preprocess, BgraCompositesOverWhite) {
    // Transparent background of any colour becomes white, so the image is inverted:
    // transparent → 0, opaque black → 1, half-transparent black → alpha.
    cv::Mat src(28, 28, CV_8UC4, cv::Scalar(0, 0, 0, 0));  // transparent *black*
    src.at<cv::Vec4b>(10, 10) = {0, 0, 0, 255};
    src.at<cv::Vec4b>(10, 11) = {0, 0, 0, 128};
    src.at<cv::Vec4b>(10, 12) = {255, 255, 255, 255};  // opaque white = paper
    src.at<cv::Vec4b>(10, 13) = {0, 0, 255, 255};      // opaque red
    const cv::Mat out = run(src);
    EXPECT_NEAR(out.at<float>(0, 0), 0.0f, 1e-6);
    EXPECT_NEAR(out.at<float>(10, 10), 1.0f, 1e-6);
    EXPECT_NEAR(out.at<float>(10, 11), 128.0f / 255.0f, 1e-6);
    EXPECT_NEAR(out.at<float>(10, 12), 0.0f, 1e-6);
    EXPECT_NEAR(out.at<float>(10, 13), 1.0f - 0.299f, 1e-6);
}

TEST(Preprocess, SixteenBitDividedBy65535) {
    cv::Mat src(28, 28, CV_16UC1, cv::Scalar(0));
    src.at<std::uint16_t>(3, 4) = 65535;
    src.at<std::uint16_t>(3, 5) = 32768;
    src.at<std::uint16_t>(3, 6) = 255;  // dark in 16-bit terms, not white
    const cv::Mat out = run(src);
    EXPECT_EQ(out.at<float>(3, 4), 1.0f);
    EXPECT_NEAR(out.at<float>(3, 5), 32768.0 / 65535.0, 1e-7);
    EXPECT_NEAR(out.at<float>(3, 6), 255.0 / 65535.0, 1e-7);
}

TEST(Preprocess, FloatIsClampedAndNaNIsZero) {
    cv::Mat src(28, 28, CV_32FC1, cv::Scalar(0));
    src.at<float>(1, 1) = 3.0f;
    src.at<float>(1, 2) = -1.0f;
    src.at<float>(1, 3) = std::numeric_limits<float>::quiet_NaN();
    src.at<float>(1, 4) = 0.25f;
    const cv::Mat out = run(src);
    EXPECT_EQ(out.at<float>(1, 1), 1.0f);
    EXPECT_EQ(out.at<float>(1, 2), 0.0f);
    EXPECT_EQ(out.at<float>(1, 3), 0.0f);
    EXPECT_EQ(out.at<float>(1, 4), 0.25f);
}

TEST(Preprocess, PaddingUsesGrayBackground) {
    // Background 0.2 (dark, kept): the padding takes the same 0.2.
    cv::Mat src(10, 28, CV_32FC1, cv::Scalar(0.2));
    const cv::Mat out = run(src);
    EXPECT_FLOAT_EQ(out.at<float>(0, 0), 0.2f);
    EXPECT_FLOAT_EQ(out.at<float>(27, 27), 0.2f);
}

// Found by fuzz_request_handler: a 1-pixel-high JPEG a few thousand pixels wide was padded to
// a square of that side (a 4 GB allocation). A long image is now shrunk to a long side of
// 1024 before padding.
TEST(Preprocess, VeryLongImageIsNotPaddedToAHugeSquare) {
    cv::Mat line(1, 1 << 20, CV_8UC1, cv::Scalar(0));
    line.colRange(0, 1 << 19).setTo(255);
    const cv::Mat out = run(line);  // would need 4 TB of floats padded to 2^20 x 2^20
    EXPECT_EQ(out.rows, 28);
    const cv::Mat tall = run(cv::Mat(1 << 20, 3, CV_16UC1, cv::Scalar(0)));
    EXPECT_EQ(tall.cols, 28);
}

// Found by fuzz_image_decode: INTER_AREA's weights sum to 1 only up to float rounding, so a
// white area came out as 1.0000002 (49x49 here, a 24x82 PBM in the fuzzer).
TEST(Preprocess, ResizedValuesStayWithinZeroAndOne) {
    cv::Mat src(49, 49, CV_32FC1, cv::Scalar(0));
    src(cv::Rect(12, 12, 24, 24)).setTo(1.0);
    const cv::Mat out = run(src);
    double lo = 0;
    double hi = 0;
    cv::minMaxLoc(out, &lo, &hi);
    EXPECT_EQ(hi, 1.0);
    EXPECT_EQ(lo, 0.0);
}

// The ink's bounding box of an 8-bit page (values > 0), or an empty rect.
cv::Rect inkBox(const cv::Mat& digit) {
    cv::Mat mask = digit > 0.0f;
    return cv::boundingRect(mask);
}

// MNIST's recipe on a page: the ink's box scaled so its long side is 20 px (aspect kept) and
// its centre of mass placed at the centre of the 28×28 square.
TEST(Preprocess, PageDigitIsBoxedTo20AndCentredByMass) {
    cv::Mat page(200, 300, CV_8UC1, cv::Scalar(255));  // white paper, dark ink
    page(cv::Rect(30, 110, 30, 60)).setTo(0);          // a 30×60 bar, far off-centre
    const cv::Mat out = run(page);
    const cv::Rect box = inkBox(out);
    EXPECT_EQ(box.height, 20);
    EXPECT_EQ(box.width, 10);
    const cv::Moments m = cv::moments(out);
    EXPECT_NEAR(m.m10 / m.m00, 14.0, 0.5);
    EXPECT_NEAR(m.m01 / m.m00, 14.0, 0.5);
    double lo = 0;
    double hi = 0;
    cv::minMaxLoc(out, &lo, &hi);
    EXPECT_EQ(lo, 0.0);
    EXPECT_EQ(hi, 1.0);
}

TEST(Preprocess, TheSameDigitAnywhereOnThePageIsTheSameInput) {
    cv::Mat a(240, 240, CV_8UC1, cv::Scalar(255));
    cv::Mat b = a.clone();
    cv::Mat stroke(50, 30, CV_8UC1, cv::Scalar(255));
    cv::line(stroke, {5, 5}, {24, 44}, cv::Scalar(0), 4);
    stroke.copyTo(a(cv::Rect(10, 20, 30, 50)));
    stroke.copyTo(b(cv::Rect(180, 150, 30, 50)));
    EXPECT_EQ(maxDiff(run(a), run(b)), 0.0);
}

// A photographed page: grey paper, light falling off from one side. The page's background (a
// plane fitted to its outer ring) subtracts away: the digit comes out as on clean paper.
TEST(Preprocess, GreyPaperAndUnevenLightSubtractAway) {
    cv::Mat clean(240, 240, CV_32FC1, cv::Scalar(1.0));
    clean(cv::Rect(100, 60, 12, 80)).setTo(0.0);
    cv::Mat lit = clean.clone();
    for (int y = 0; y < lit.rows; ++y) {
        for (int x = 0; x < lit.cols; ++x) {
            lit.at<float>(y, x) *= 0.7f * (0.8f + 0.4f * static_cast<float>(x) / 240.0f);
        }
    }
    const cv::Mat a = run(clean);
    const cv::Mat b = run(lit);
    // Same box (placement may round one pixel apart), same ink.
    EXPECT_EQ(inkBox(a).size(), inkBox(b).size());
    EXPECT_LE(std::abs(inkBox(a).x - inkBox(b).x), 1);
    EXPECT_LE(std::abs(inkBox(a).y - inkBox(b).y), 1);
    EXPECT_EQ(inkBox(b).height, 20);
    EXPECT_NEAR(cv::sum(b)[0], cv::sum(a)[0], 0.05 * cv::sum(a)[0]);
}

// A thick stroke filling most of a tight crop stays ink (it is not taken for background).
TEST(Preprocess, ThickStrokesOfATightCropAreKept) {
    cv::Mat crop(100, 100, CV_8UC1, cv::Scalar(0));
    crop(cv::Rect(30, 5, 40, 90)).setTo(255);  // light on dark, 40 % of the width
    const cv::Mat out = run(crop);
    EXPECT_EQ(inkBox(out).height, 20);
    EXPECT_EQ(inkBox(out).width, 9);
    EXPECT_FLOAT_EQ(out.at<float>(14, 14), 1.0f);
}

TEST(Preprocess, TinyImagesWork) {
    run(cv::Mat(1, 1, CV_8UC1, cv::Scalar(200)));
    run(cv::Mat(1, 50, CV_8UC1, cv::Scalar(10)));
    run(cv::Mat(3, 2, CV_8UC3, cv::Scalar(10, 20, 30)));
}

TEST(Preprocess, InputIsNotModified) {
    cv::Mat src(28, 28, CV_32FC1, cv::Scalar(0.9));
    const cv::Mat copy = src.clone();
    run(src);
    EXPECT_EQ(maxDiff(src, copy), 0.0);
}

TEST(Preprocess, DegenerateInputsAreRejected) {
    expectUnusable(cv::Mat());
    expectUnusable(cv::Mat(0, 5, CV_8UC1));
    expectUnusable(cv::Mat(28, 28, CV_8UC(5), cv::Scalar::all(0)));
    expectUnusable(cv::Mat(28, 28, CV_8UC2, cv::Scalar::all(0)));
    expectUnusable(cv::Mat(28, 28, CV_16SC1, cv::Scalar::all(0)));
    const int dims[] = {2, 28, 28};
    expectUnusable(cv::Mat(3, dims, CV_8UC1, cv::Scalar(0)));
}

}  // namespace
}  // namespace predictd
