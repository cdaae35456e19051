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

TEST(Preprocess, WideImageIsPaddedToSquareAndCentred) {
    // 14 rows x 28 cols: padded with 7 rows above and 7 below, no resize needed.
    cv::Mat src(14, 28, CV_8UC1, cv::Scalar(0));
    cv::Mat inner = src(cv::Rect(2, 2, 24, 10));
    cv::randu(inner, cv::Scalar(0), cv::Scalar(256));
    const cv::Mat out = run(src);
    cv::Mat expected(28, 28, CV_32FC1, cv::Scalar(0));
    for (int r = 0; r < 14; ++r) {
        for (int c = 0; c < 28; ++c) {
            expected.at<float>(r + 7, c) = static_cast<float>(src.at<uchar>(r, c)) / 255.0f;
        }
    }
    EXPECT_EQ(maxDiff(out, expected), 0.0);
}

TEST(Preprocess, TallImageOddPaddingAndLightBackground) {
    // 28 rows x 13 cols of white paper with a black stroke: inverted, then padded with the
    // (now dark) background, 7 columns left and 8 right.
    cv::Mat src(28, 13, CV_8UC1, cv::Scalar(255));
    src(cv::Rect(6, 4, 1, 20)).setTo(0);
    const cv::Mat out = run(src);
    for (int r = 0; r < 28; ++r) {
        for (int c = 0; c < 28; ++c) {
            const float want = (c == 7 + 6 && r >= 4 && r < 24) ? 1.0f : 0.0f;
            ASSERT_EQ(out.at<float>(r, c), want) << r << "," << c;
        }
    }
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

TEST(Preprocess, ShrinkingBeforePaddingChangesLittle) {
    // 2000 x 700 with a bright block: shrink-then-pad against pad-then-resize (the recipe for
    // images of long side <= 1024) differ by far less than one 8-bit step.
    cv::Mat src(700, 2000, CV_8UC1, cv::Scalar(0));
    src(cv::Rect(700, 150, 600, 400)).setTo(255);
    const cv::Mat out = run(src);
    cv::Mat floats;
    src.convertTo(floats, CV_32F, 1.0 / 255);
    cv::Mat square;
    cv::copyMakeBorder(floats, square, 650, 650, 0, 0, cv::BORDER_CONSTANT, cv::Scalar(0));
    cv::Mat expected;
    cv::resize(square, expected, cv::Size(28, 28), 0, 0, cv::INTER_AREA);
    EXPECT_LT(maxDiff(out, expected), 0.02);
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

TEST(Preprocess, LargeImageIsAreaResized) {
    // 280x280, a filled block at rows 100..179, cols 60..139: INTER_AREA by 10 averages 10x10
    // blocks, so rows 10..17, cols 6..13 become 1 and the rest 0.
    cv::Mat src(280, 280, CV_8UC1, cv::Scalar(0));
    src(cv::Rect(60, 100, 80, 80)).setTo(255);
    const cv::Mat out = run(src);
    for (int r = 0; r < 28; ++r) {
        for (int c = 0; c < 28; ++c) {
            const float want = (r >= 10 && r < 18 && c >= 6 && c < 14) ? 1.0f : 0.0f;
            ASSERT_NEAR(out.at<float>(r, c), want, 1e-6) << r << "," << c;
        }
    }
}

TEST(Preprocess, HalfCoveredBlockAveragesToHalf) {
    cv::Mat src(56, 56, CV_8UC1, cv::Scalar(0));
    src(cv::Rect(20, 20, 1, 2)).setTo(255);  // half of the 2x2 block at (10,10)
    const cv::Mat out = run(src);
    EXPECT_NEAR(out.at<float>(10, 10), 0.5f, 1e-6);
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
