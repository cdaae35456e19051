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
#include "models/image_input.hpp"
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
    // 288x96: shorter side 96 -> 4/0.5 = 8, so 24x8 (÷12: two exact halvings, then ÷3), then
    // the centre 4x4 (all red: x 10..14 of 24 is 120..168 of 288).
    ModelSpec s = colourSpec(4, 4, ResizePolicy::kCenterCrop);
    s.preprocess.crop_fraction = 0.5;
    cv::Mat img(96, 288, CV_8UC3, cv::Scalar(255, 0, 0));        // blue
    img(cv::Rect(120, 0, 48, 96)).setTo(cv::Scalar(0, 0, 255));  // a red centre band
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
    ModelSpec s = colourSpec(32, 32, ResizePolicy::kStretch);  // 64x32: no shrink on load
    const auto decoded = [&](const ModelSpec& spec) {
        const auto planned = planImageInput(rotated, limits, spec);
        EXPECT_TRUE(planned.ok());
        const auto image =
            decodeInspected(rotated, planned.value().header, planned.value().plan, limits);
        EXPECT_TRUE(image.ok());
        return image.ok() ? image.value().size() : cv::Size();
    };
    EXPECT_EQ(decoded(s), cv::Size(32, 64));  // portrait, as the phone meant it
    s.preprocess.exif_orientation = false;
    EXPECT_EQ(decoded(s), cv::Size(64, 32));
    // The digit recipe keeps reading pixels as stored (IMREAD_UNCHANGED): no rotation.
    EXPECT_EQ(decoded(digitModelSpec("mnist")), cv::Size(64, 32));
}

// Shrink on load: a JPEG is decoded at the smallest DCT scale that leaves both sides at least
// the size the policy resizes to, in either orientation (an EXIF rotation swaps the sides).
TEST(DeclaredPreprocess, JpegIsShrunkOnLoadNoSmallerThanTheResize) {
    std::vector<uchar> jpeg;
    ASSERT_TRUE(cv::imencode(".jpg", halves(640, 320), jpeg));
    const std::string bytes(jpeg.begin(), jpeg.end());
    const RequestLimits limits;
    const auto plan = [&](const ModelSpec& spec) {
        const auto planned = planImageInput(bytes, limits, spec);
        EXPECT_TRUE(planned.ok());
        return planned.ok() ? planned.value().plan : DecodePlan{};
    };
    EXPECT_EQ(plan(colourSpec(80, 40, ResizePolicy::kStretch)).reduction, 4);    // 160x80 ≥ 80x80
    EXPECT_EQ(plan(colourSpec(40, 40, ResizePolicy::kStretch)).reduction, 8);    // 80x40 ≥ 40x40
    EXPECT_EQ(plan(colourSpec(100, 100, ResizePolicy::kStretch)).reduction, 2);  // 320x160
    EXPECT_EQ(plan(colourSpec(400, 100, ResizePolicy::kStretch)).reduction, 1);  // 320 < 400
    ModelSpec upright = colourSpec(80, 40, ResizePolicy::kStretch);
    upright.preprocess.exif_orientation = false;  // no rotation possible: only 80x40 must fit
    EXPECT_EQ(plan(upright).reduction, 8);
    // center_crop 0.5 to 40x40: shorter side to 80, so 160x80 at least: 1/4.
    ModelSpec crop = colourSpec(40, 40, ResizePolicy::kCenterCrop);
    crop.preprocess.crop_fraction = 0.5;
    EXPECT_EQ(plan(crop).reduction, 4);
    // The digit recipe shrinks only pages over 1024 px, to no less than 1024.
    EXPECT_EQ(plan(digitModelSpec("mnist")).reduction, 1);
    std::vector<uchar> page;
    ASSERT_TRUE(cv::imencode(".jpg", cv::Mat(1000, 4100, CV_8UC1, cv::Scalar(255)), page));
    const auto big =
        planImageInput(std::string(page.begin(), page.end()), limits, digitModelSpec("mnist"));
    ASSERT_TRUE(big.ok());
    EXPECT_EQ(big.value().plan.reduction, 4);  // 1025 ≥ 1024; 1/8 would give 513
    EXPECT_EQ(big.value().plan.width, 1025u);
    // What is decoded is what was planned, and preprocessing gives the model's input from it.
    const ModelSpec s = colourSpec(40, 40, ResizePolicy::kStretch);
    const auto planned = planImageInput(bytes, limits, s);
    ASSERT_TRUE(planned.ok());
    const auto image = decodeInspected(bytes, planned.value().header, planned.value().plan, limits);
    ASSERT_TRUE(image.ok());
    EXPECT_EQ(image.value().size(), cv::Size(80, 40));
    const auto input = makeImageInput(bytes, planned.value(), limits, s);
    ASSERT_TRUE(input.ok());
    EXPECT_EQ(input.value().size(), cv::Size(40, 40));
}

// Alpha is composited over white at full size, before any resize: the colour hidden under
// transparent pixels must not bleed into the result (a colour decode would drop alpha).
TEST(DeclaredPreprocess, AlphaIsCompositedOverWhiteBeforeResizing) {
    cv::Mat rgba(64, 64, CV_8UC4, cv::Scalar(0, 0, 0, 0));           // transparent black
    rgba(cv::Rect(0, 0, 32, 64)).setTo(cv::Scalar(0, 0, 255, 255));  // opaque red left half
    std::vector<uchar> png;
    ASSERT_TRUE(cv::imencode(".png", rgba, png));
    const std::string bytes(png.begin(), png.end());
    const ModelSpec s = colourSpec(2, 2, ResizePolicy::kStretch);  // rgb, ÷255
    const auto planned = planImageInput(bytes, RequestLimits{}, s);
    ASSERT_TRUE(planned.ok());
    const auto input = makeImageInput(bytes, planned.value(), RequestLimits{}, s);
    ASSERT_TRUE(input.ok());
    EXPECT_EQ(input.value().at<cv::Vec3f>(0, 0), cv::Vec3f(1, 0, 0));  // red
    EXPECT_EQ(input.value().at<cv::Vec3f>(0, 1), cv::Vec3f(1, 1, 1));  // white, not black
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
