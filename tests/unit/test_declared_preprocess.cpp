// Unit tests for the declared preprocessing (preprocessImage with a ModelSpec): colour order,
// the stretch / center_crop / letterbox policies with exact geometry, the value transform, and
// a JPEG's EXIF orientation applied for colour models.
#include <gtest/gtest.h>

#include <opencv2/core.hpp>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include <string>
#include <vector>

#include "api/request_limits.hpp"
#include "codecs/image_decode.hpp"
#include "models/model_spec.hpp"
#include "models/preprocess.hpp"

namespace predictd {
namespace {

ModelSpec colourSpec(int w, int h, ResizePolicy resize) {
    ModelSpec s;
    s.input = {"input", TensorLayout::kNHWC, w, h, 3};
    s.preprocess.resize = resize;
    s.preprocess.interpolation = Interpolation::kArea;
    return s;
}

// A BGR image whose left half is pure blue and right half pure red.
cv::Mat halves(int w, int h) {
    cv::Mat m(h, w, CV_8UC3, cv::Scalar(255, 0, 0));
    m(cv::Rect(w / 2, 0, w - w / 2, h)).setTo(cv::Scalar(0, 0, 255));
    return m;
}

TEST(DeclaredPreprocess, StretchRgbDividesBy255) {
    const auto out = preprocessImage(halves(40, 20), colourSpec(4, 2, ResizePolicy::kStretch));
    ASSERT_TRUE(out.ok()) << out.error().message;
    const cv::Mat& m = out.value();
    ASSERT_EQ(m.type(), CV_32FC3);
    ASSERT_EQ(m.size(), cv::Size(4, 2));
    // RGB order: the blue left half is (0, 0, 1), the red right half (1, 0, 0).
    EXPECT_EQ(m.at<cv::Vec3f>(0, 0), cv::Vec3f(0, 0, 1));
    EXPECT_EQ(m.at<cv::Vec3f>(1, 3), cv::Vec3f(1, 0, 0));
}

TEST(DeclaredPreprocess, BgrOrderAndMeanStd) {
    ModelSpec s = colourSpec(2, 2, ResizePolicy::kStretch);
    s.preprocess.color = ColorOrder::kBGR;
    s.preprocess.mean = {0.5, 0.5, 0.5};  // Keras "tf" mode: x / 127.5 - 1
    s.preprocess.std = {0.5, 0.5, 0.5};
    const auto out = preprocessImage(cv::Mat(2, 2, CV_8UC3, cv::Scalar(255, 0, 255)), s);
    ASSERT_TRUE(out.ok());
    EXPECT_EQ(out.value().at<cv::Vec3f>(0, 0), cv::Vec3f(1, -1, 1));
}

TEST(DeclaredPreprocess, CenterCropKeepsTheMiddle) {
    // 300x100: shorter side 100 -> 4/0.5 = 8, so 24x8, then the centre 4x4 (all red: x 10..14).
    ModelSpec s = colourSpec(4, 4, ResizePolicy::kCenterCrop);
    s.preprocess.crop_fraction = 0.5;
    cv::Mat img(100, 300, CV_8UC3, cv::Scalar(255, 0, 0));        // blue
    img(cv::Rect(125, 0, 50, 100)).setTo(cv::Scalar(0, 0, 255));  // a red centre band
    const auto out = preprocessImage(img, s);
    ASSERT_TRUE(out.ok());
    ASSERT_EQ(out.value().size(), cv::Size(4, 4));
    for (int x = 0; x < 4; ++x) {
        EXPECT_EQ(out.value().at<cv::Vec3f>(2, x), cv::Vec3f(1, 0, 0)) << x;
    }
}

TEST(DeclaredPreprocess, LetterboxPadsWithPadValue) {
    ModelSpec s = colourSpec(4, 4, ResizePolicy::kLetterbox);
    s.preprocess.pad_value = 51;  // 0.2 after / 255
    const auto out = preprocessImage(cv::Mat(20, 40, CV_8UC3, cv::Scalar(255, 255, 255)), s);
    ASSERT_TRUE(out.ok());
    const cv::Mat& m = out.value();
    // 40x20 fits as 4x2, centred: rows 0 and 3 are padding, rows 1-2 the image.
    EXPECT_NEAR(m.at<cv::Vec3f>(0, 1)[0], 0.2f, 1e-6);
    EXPECT_EQ(m.at<cv::Vec3f>(1, 1), cv::Vec3f(1, 1, 1));
    EXPECT_EQ(m.at<cv::Vec3f>(2, 2), cv::Vec3f(1, 1, 1));
    EXPECT_NEAR(m.at<cv::Vec3f>(3, 2)[2], 0.2f, 1e-6);
}

TEST(DeclaredPreprocess, GrayImageFeedsAColourModelReplicated) {
    const auto out = preprocessImage(cv::Mat(8, 8, CV_8UC1, cv::Scalar(102)),
                                     colourSpec(2, 2, ResizePolicy::kStretch));
    ASSERT_TRUE(out.ok());
    EXPECT_EQ(out.value().at<cv::Vec3f>(1, 1), cv::Vec3f(0.4f, 0.4f, 0.4f));
}

// Inserts an EXIF APP1 segment with Orientation = `orientation` right after the SOI marker.
std::string withExifOrientation(const std::vector<uchar>& jpeg, std::uint16_t orientation) {
    const std::string tiff = std::string("MM\0\x2a\0\0\0\x08", 8) +        // big-endian, IFD at 8
                             std::string("\0\x01", 2) +                    // one entry
                             std::string("\x01\x12\0\x03\0\0\0\x01", 8) +  // 0x0112 SHORT ×1
                             std::string(1, '\0') + std::string(1, static_cast<char>(orientation)) +
                             std::string("\0\0", 2) +     // value, padded to 4 bytes
                             std::string("\0\0\0\0", 4);  // no next IFD
    const std::string payload = std::string("Exif\0\0", 6) + tiff;
    const std::size_t len = payload.size() + 2;
    std::string app1 = "\xff\xe1";
    app1 += static_cast<char>(len >> 8);
    app1 += static_cast<char>(len & 0xff);
    app1 += payload;
    const std::string bytes(jpeg.begin(), jpeg.end());
    return bytes.substr(0, 2) + app1 + bytes.substr(2);
}

TEST(DeclaredPreprocess, ExifOrientationIsAppliedForColourModels) {
    std::vector<uchar> jpeg;
    ASSERT_TRUE(cv::imencode(".jpg", halves(64, 32), jpeg));
    const std::string rotated = withExifOrientation(jpeg, 6);  // "rotate 90° clockwise to view"
    RequestLimits limits;
    ModelSpec s = colourSpec(8, 8, ResizePolicy::kStretch);
    const auto applied = decodeImage(rotated, limits, imreadFlagsFor(s.preprocess));
    ASSERT_TRUE(applied.ok()) << applied.error().message;
    EXPECT_EQ(applied.value().size(), cv::Size(32, 64));  // portrait, as the phone meant it
    s.preprocess.exif_orientation = false;
    const auto ignored = decodeImage(rotated, limits, imreadFlagsFor(s.preprocess));
    ASSERT_TRUE(ignored.ok());
    EXPECT_EQ(ignored.value().size(), cv::Size(64, 32));
    // The digit recipe keeps reading pixels as stored (IMREAD_UNCHANGED).
    EXPECT_EQ(imreadFlagsFor(digitModelSpec("mnist").preprocess), cv::IMREAD_UNCHANGED);
}

TEST(DeclaredPreprocess, DigitPolicyIsTheMnistRecipe) {
    const cv::Mat page(56, 56, CV_8UC1, cv::Scalar(255));
    const auto declared = preprocessImage(page, digitModelSpec("mnist"));
    const auto recipe = preprocessDigit(page);
    ASSERT_TRUE(declared.ok() && recipe.ok());
    EXPECT_EQ(cv::norm(declared.value(), recipe.value(), cv::NORM_INF), 0.0);
}

}  // namespace
}  // namespace predictd
