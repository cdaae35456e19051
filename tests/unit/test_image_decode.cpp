// Unit tests for image_decode: every format decodes, depth and alpha are kept, oversized
// headers are refused before decoding, undecodable input is reported.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include <opencv2/core.hpp>
#include <opencv2/imgcodecs.hpp>

#include "image_decode.hpp"

namespace predictd {
namespace {

const RequestLimits kLimits{};

std::string encode(const std::string& ext, const cv::Mat& image,
                   const std::vector<int>& params = {}) {
    std::vector<uchar> buf;
    EXPECT_TRUE(cv::imencode(ext, image, buf, params)) << ext;
    return std::string(buf.begin(), buf.end());
}

cv::Mat pattern(int rows, int cols, int type) {
    cv::Mat m(rows, cols, type);
    cv::randu(m, cv::Scalar::all(0), cv::Scalar::all(256));
    return m;
}

void expectError(const Result<cv::Mat>& r, int status, const std::string& code,
                 const std::string& message = "") {
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error().status, status);
    EXPECT_EQ(r.error().code, code);
    if (!message.empty()) {
        EXPECT_EQ(r.error().message, message);
    }
}

// Hand-crafted headers claiming 60000x60000 with no pixel data behind them: if decodeImage
// tried to decode, it would answer undecodable_image, not image_too_large.
const std::string kHugePng(
    "\x89PNG\r\n\x1A\n\x00\x00\x00\x0DIHDR\x00\x00\xEA\x60\x00\x00\xEA\x60"
    "\x08\x00\x00\x00\x00\xDE\xAD\xBE\xEF",
    33);
const std::string kHugeJpeg(
    "\xFF\xD8\xFF\xE0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00"
    "\xFF\xC0\x00\x0B\x08\xEA\x60\xEA\x60\x01\x01\x11\x00\xFF\xD9",
    2 + 18 + 13 + 2);
const std::string kHugeGif("GIF89a\x60\xEA\x60\xEA\x80\x00\x00\xFF\xFF\xFF\x00\x00\x00;", 20);

TEST(ImageDecode, GrayPngKeepsPixels) {
    const cv::Mat src = pattern(23, 37, CV_8UC1);
    const auto r = decodeImage(encode(".png", src), kLimits);
    ASSERT_TRUE(r.ok()) << r.error().message;
    EXPECT_EQ(r.value().type(), CV_8UC1);
    EXPECT_EQ(cv::norm(r.value(), src, cv::NORM_INF), 0.0);
}

TEST(ImageDecode, SixteenBitPngKeepsDepth) {
    cv::Mat src(10, 12, CV_16UC1);
    cv::randu(src, cv::Scalar(0), cv::Scalar(65536));
    const auto r = decodeImage(encode(".png", src), kLimits);
    ASSERT_TRUE(r.ok());
    EXPECT_EQ(r.value().type(), CV_16UC1);
    EXPECT_EQ(cv::norm(r.value(), src, cv::NORM_INF), 0.0);
}

TEST(ImageDecode, AlphaIsKept) {
    const cv::Mat src = pattern(8, 9, CV_8UC4);
    const auto r = decodeImage(encode(".png", src), kLimits);
    ASSERT_TRUE(r.ok());
    EXPECT_EQ(r.value().type(), CV_8UC4);
    EXPECT_EQ(cv::norm(r.value(), src, cv::NORM_INF), 0.0);
}

TEST(ImageDecode, EveryDecodableFormat) {
    const cv::Mat color = pattern(23, 37, CV_8UC3);
    const cv::Mat gray = pattern(23, 37, CV_8UC1);
    const std::vector<std::pair<std::string, cv::Mat>> cases = {
        {".png", color},  {".jpg", color}, {".bmp", color}, {".webp", color},
        {".tiff", color}, {".ppm", color}, {".pgm", gray},  {".pbm", gray}};
    for (const auto& [ext, image] : cases) {
        const auto r = decodeImage(encode(ext, image), kLimits);
        ASSERT_TRUE(r.ok()) << ext << ": " << r.error().message;
        EXPECT_EQ(r.value().rows, 23) << ext;
        EXPECT_EQ(r.value().cols, 37) << ext;
        EXPECT_EQ(r.value().channels(), image.channels()) << ext;
    }
}

TEST(ImageDecode, LosslessFormatsRoundTripExactly) {
    const cv::Mat color = pattern(23, 37, CV_8UC3);
    for (const std::string ext : {".png", ".bmp", ".tiff", ".ppm"}) {
        const auto r = decodeImage(encode(ext, color), kLimits);
        ASSERT_TRUE(r.ok()) << ext;
        EXPECT_EQ(cv::norm(r.value(), color, cv::NORM_INF), 0.0) << ext;
    }
}

TEST(ImageDecode, HugePngRefusedWithoutDecoding) {
    expectError(decodeImage(kHugePng, kLimits), 413, "image_too_large",
                "image is 60000x60000 = 3600000000 pixels; the limit is 16777216 pixels and "
                "neither side may be 0");
}

TEST(ImageDecode, HugeJpegRefusedWithoutDecoding) {
    expectError(decodeImage(kHugeJpeg, kLimits), 413, "image_too_large");
}

TEST(ImageDecode, HugeGifRefusedWithoutDecoding) {
    expectError(decodeImage(kHugeGif, kLimits), 413, "image_too_large");
}

TEST(ImageDecode, PixelLimitIsInclusive) {
    const std::string png = encode(".png", pattern(23, 37, CV_8UC1));
    RequestLimits limits;
    limits.max_image_pixels = 23 * 37;
    EXPECT_TRUE(decodeImage(png, limits).ok());
    limits.max_image_pixels = 23 * 37 - 1;
    expectError(decodeImage(png, limits), 413, "image_too_large");
}

TEST(ImageDecode, ZeroDimensionRefused) {
    std::string png = kHugePng;
    png[16] = png[17] = png[18] = png[19] = '\0';  // width 0
    expectError(decodeImage(png, kLimits), 413, "image_too_large");
}

TEST(ImageDecode, UnknownFormat) {
    expectError(decodeImage("definitely not an image", kLimits), 400, "undecodable_image",
                "not a PNG, JPEG, BMP, GIF, WebP, TIFF or PNM image");
    expectError(decodeImage("", kLimits), 400, "undecodable_image");
}

TEST(ImageDecode, TruncatedHeader) {
    const std::string png = encode(".png", pattern(23, 37, CV_8UC1));
    expectError(decodeImage(png.substr(0, 20), kLimits), 400, "undecodable_image",
                "not a PNG, JPEG, BMP, GIF, WebP, TIFF or PNM image");
}

TEST(ImageDecode, CorruptBodyAfterValidHeader) {
    const std::string png = encode(".png", pattern(23, 37, CV_8UC1));
    expectError(decodeImage(png.substr(0, 40), kLimits), 400, "undecodable_image",
                "could not decode png image (corrupt or truncated)");
    // A JPEG cut right before its scan (SOS) has a frame header but no image data. (A JPEG cut
    // inside its scan still decodes: libjpeg fills the missing rows.)
    const std::string jpeg = encode(".jpg", pattern(23, 37, CV_8UC3));
    const std::size_t sos = jpeg.find("\xFF\xDA");
    ASSERT_NE(sos, std::string::npos);
    expectError(decodeImage(jpeg.substr(0, sos), kLimits), 400, "undecodable_image",
                "could not decode jpeg image (corrupt or truncated)");
}

TEST(ImageDecode, GifIsRecognisedButNotDecodable) {
    // A valid 1x1 GIF. OpenCV 4.6 has no GIF reader.
    const std::string gif(
        "GIF89a\x01\x00\x01\x00\x80\x00\x00\xFF\xFF\xFF\x00\x00\x00"
        "!\xF9\x04\x01\x00\x00\x00\x00,\x00\x00\x00\x00\x01\x00\x01\x00\x00"
        "\x02\x02\x44\x01\x00;",
        43);
    expectError(decodeImage(gif, kLimits), 400, "undecodable_image",
                "GIF images cannot be decoded by this server (no GIF decoder)");
}

}  // namespace
}  // namespace predictd
