// Unit tests for image_header: format and size of real encoded images of every format,
// hand-crafted headers, truncation and garbage (never a crash, never a wrong answer).
#include <gtest/gtest.h>

#include <random>
#include <string>
#include <vector>

#include <opencv2/core.hpp>
#include <opencv2/imgcodecs.hpp>

#include "codecs/image_header.hpp"

namespace predictd {
namespace {

constexpr int kW = 37;  // deliberately different width and height
constexpr int kH = 23;

std::string encode(const std::string& ext, const cv::Mat& image,
                   const std::vector<int>& params = {}) {
    std::vector<uchar> buf;
    EXPECT_TRUE(cv::imencode(ext, image, buf, params)) << ext;
    return std::string(buf.begin(), buf.end());
}

cv::Mat pattern(int type) {
    cv::Mat m(kH, kW, type);
    cv::randu(m, cv::Scalar::all(0), cv::Scalar::all(255));
    return m;
}

void expectHeader(const std::string& bytes, const std::string& format, std::uint32_t w,
                  std::uint32_t h) {
    const auto header = readImageHeader(bytes);
    ASSERT_TRUE(header.has_value()) << format;
    EXPECT_EQ(header->format, format);
    EXPECT_EQ(header->width, w) << format;
    EXPECT_EQ(header->height, h) << format;
}

// Every prefix of a valid image gives either nothing or the right answer.
void expectPrefixesSafe(const std::string& bytes) {
    const auto full = readImageHeader(bytes);
    ASSERT_TRUE(full.has_value());
    const std::size_t n = std::min<std::size_t>(bytes.size(), 4096);
    for (std::size_t len = 0; len < n; ++len) {
        const std::string prefix = bytes.substr(0, len);  // own buffer: no reading past it
        const auto h = readImageHeader(prefix);
        if (h) {
            EXPECT_EQ(h->format, full->format);
            EXPECT_EQ(h->width, full->width) << "prefix " << len;
            EXPECT_EQ(h->height, full->height) << "prefix " << len;
        }
    }
}

void putLe32(std::string& s, std::size_t at, std::uint32_t v) {
    for (int i = 0; i < 4; ++i) {
        s[at + static_cast<std::size_t>(i)] = static_cast<char>((v >> (8 * i)) & 0xFF);
    }
}

TEST(ImageHeader, Png) {
    const std::string png = encode(".png", pattern(CV_8UC3));
    expectHeader(png, "png", kW, kH);
    expectPrefixesSafe(png);
    EXPECT_FALSE(readImageHeader(png.substr(0, 23)).has_value());
    EXPECT_TRUE(readImageHeader(png.substr(0, 24)).has_value());
}

TEST(ImageHeader, Png16BitWithAlpha) {
    cv::Mat m(kH, kW, CV_16UC4, cv::Scalar(1000, 2000, 3000, 65535));
    expectHeader(encode(".png", m), "png", kW, kH);
}

TEST(ImageHeader, JpegBaselineAndProgressive) {
    const std::string baseline = encode(".jpg", pattern(CV_8UC3));
    expectHeader(baseline, "jpeg", kW, kH);
    expectPrefixesSafe(baseline);
    const std::string progressive =
        encode(".jpg", pattern(CV_8UC1), {cv::IMWRITE_JPEG_PROGRESSIVE, 1});
    expectHeader(progressive, "jpeg", kW, kH);
    expectPrefixesSafe(progressive);
}

// Samples per pixel and bytes per sample, as the decode budget counts them, for real files of
// every format OpenCV writes.
TEST(ImageHeader, SamplesAndDepthOfEveryFormat) {
    struct Case {
        const char* ext;
        int type;
        std::vector<int> params;
        std::uint32_t channels;
        std::uint32_t bytes;
    };
    const std::vector<Case> cases = {
        {".png", CV_8UC1, {}, 1, 1},
        {".png", CV_8UC3, {}, 3, 1},
        {".png", CV_8UC4, {}, 4, 1},
        {".png", CV_16UC4, {}, 4, 2},
        {".jpg", CV_8UC1, {}, 1, 1},
        {".jpg", CV_8UC3, {}, 3, 1},
        {".bmp", CV_8UC3, {}, 3, 1},
        {".webp", CV_8UC3, {cv::IMWRITE_WEBP_QUALITY, 90}, 3, 1},
        {".webp", CV_8UC3, {cv::IMWRITE_WEBP_QUALITY, 101}, 3, 1},  // lossless, no alpha
        {".webp", CV_8UC4, {cv::IMWRITE_WEBP_QUALITY, 101}, 4, 1},
        {".tiff", CV_8UC3, {}, 3, 1},
        {".tiff", CV_16UC1, {}, 1, 2},
        {".tiff", CV_16UC4, {}, 4, 2},
        {".pgm", CV_8UC1, {}, 1, 1},
        {".pgm", CV_16UC1, {}, 1, 2},
        {".ppm", CV_8UC3, {}, 3, 1},
    };
    for (const Case& c : cases) {
        cv::Mat m(kH, kW, c.type, cv::Scalar(1000, 2000, 3000, 255));
        if (CV_MAT_DEPTH(c.type) == CV_8U) {
            m = pattern(c.type);
        }
        const auto header = readImageHeader(encode(c.ext, m, c.params));
        ASSERT_TRUE(header.has_value()) << c.ext;
        const std::string what = std::string(c.ext) + " type " + std::to_string(c.type);
        EXPECT_EQ(header->channels, c.channels) << what;
        EXPECT_EQ(header->bytes_per_sample, c.bytes) << what;
        EXPECT_FALSE(header->progressive) << what;
    }
    const auto progressive =
        readImageHeader(encode(".jpg", pattern(CV_8UC3), {cv::IMWRITE_JPEG_PROGRESSIVE, 1}));
    ASSERT_TRUE(progressive.has_value());
    EXPECT_TRUE(progressive->progressive);
    EXPECT_EQ(progressive->channels, 3u);
}

TEST(ImageHeader, JpegSkipsSegmentsAndFillBytes) {
    // SOI, APP0 (16 bytes), fill bytes, COM, SOF2 4000x3000.
    std::string jpeg(
        "\xFF\xD8"
        "\xFF\xE0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00"
        "\xFF\xFF\xFF\xFE\x00\x05hey"
        "\xFF\xC2\x00\x0B\x08\x0B\xB8\x0F\xA0\x01\x01\x11\x00",
        2 + 18 + 9 + 13);
    expectHeader(jpeg, "jpeg", 4000, 3000);
    expectPrefixesSafe(jpeg);
}

TEST(ImageHeader, JpegWithoutFrameHeader) {
    EXPECT_FALSE(readImageHeader(std::string("\xFF\xD8\xFF\xD9", 4)).has_value());  // EOI
    EXPECT_FALSE(readImageHeader(std::string("\xFF\xD8\xFF\xDA\x00\x02", 6)).has_value());
    EXPECT_FALSE(readImageHeader(std::string("\xFF\xD8\x00\x00", 4)).has_value());  // no marker
    // DHT (C4) is not a frame header even though it is in the C0..CF range.
    EXPECT_FALSE(
        readImageHeader(std::string("\xFF\xD8\xFF\xC4\x00\x0B\x08\x00\x10\x00\x10\x01", 12))
            .has_value());
}

TEST(ImageHeader, Bmp) {
    const std::string bmp = encode(".bmp", pattern(CV_8UC3));
    expectHeader(bmp, "bmp", kW, kH);
    expectPrefixesSafe(bmp);
}

TEST(ImageHeader, BmpTopDownHasNegativeHeight) {
    std::string bmp = encode(".bmp", pattern(CV_8UC1));
    putLe32(bmp, 22, static_cast<std::uint32_t>(-kH));
    expectHeader(bmp, "bmp", kW, kH);
    putLe32(bmp, 22, 0x80000000u);  // INT32_MIN: no overflow
    expectHeader(bmp, "bmp", kW, 0x80000000u);
    putLe32(bmp, 18, static_cast<std::uint32_t>(-5));  // negative width is invalid
    EXPECT_FALSE(readImageHeader(bmp).has_value());
}

TEST(ImageHeader, BmpCoreHeader) {
    std::string bmp(26, '\0');
    bmp[0] = 'B';
    bmp[1] = 'M';
    putLe32(bmp, 14, 12);
    bmp[18] = 0x34;  // width 0x1234, LE16
    bmp[19] = 0x12;
    bmp[20] = 0x02;  // height 2
    expectHeader(bmp, "bmp", 0x1234, 2);
}

TEST(ImageHeader, Gif) {
    const std::string gif87("GIF87a\x40\x01\xF0\x00\x00\x00\x00", 13);
    expectHeader(gif87, "gif", 320, 240);
    const std::string gif89("GIF89a\x60\xEA\x60\xEA\x80\x00\x00", 13);
    expectHeader(gif89, "gif", 60000, 60000);
    EXPECT_FALSE(readImageHeader(gif89.substr(0, 9)).has_value());
    EXPECT_FALSE(readImageHeader(std::string("GIF88a\x01\x00\x01\x00", 10)).has_value());
}

TEST(ImageHeader, WebpLossyAndLossless) {
    const std::string lossy = encode(".webp", pattern(CV_8UC3), {cv::IMWRITE_WEBP_QUALITY, 80});
    ASSERT_EQ(lossy.substr(12, 4), "VP8 ");
    expectHeader(lossy, "webp", kW, kH);
    expectPrefixesSafe(lossy);
    const std::string lossless = encode(".webp", pattern(CV_8UC3), {cv::IMWRITE_WEBP_QUALITY, 101});
    ASSERT_EQ(lossless.substr(12, 4), "VP8L");
    expectHeader(lossless, "webp", kW, kH);
    expectPrefixesSafe(lossless);
}

TEST(ImageHeader, WebpExtended) {
    // RIFF, size, WEBP, VP8X chunk of 10 bytes: flags, 3 reserved, width-1 and height-1 (LE24).
    const std::string vp8x(
        "RIFF\x16\x00\x00\x00WEBPVP8X\x0A\x00\x00\x00"
        "\x10\x00\x00\x00\x5F\xEA\x00\x5F\xEA\x00",
        30);
    expectHeader(vp8x, "webp", 60000, 60000);
    expectPrefixesSafe(vp8x);
    EXPECT_FALSE(readImageHeader(vp8x.substr(0, 29)).has_value());
}

TEST(ImageHeader, TiffFromOpenCV) {
    const std::string tiff = encode(".tiff", pattern(CV_8UC3));
    expectHeader(tiff, "tiff", kW, kH);
    expectPrefixesSafe(tiff);
}

TEST(ImageHeader, TiffBigEndianShortAndLittleEndianLong) {
    // MM, 42, IFD at 8; 2 entries: 256 SHORT 300, 257 SHORT 200.
    const std::string mm(
        "MM\x00\x2A\x00\x00\x00\x08"
        "\x00\x02"
        "\x01\x00\x00\x03\x00\x00\x00\x01\x01\x2C\x00\x00"
        "\x01\x01\x00\x03\x00\x00\x00\x01\x00\xC8\x00\x00",
        8 + 2 + 24);
    expectHeader(mm, "tiff", 300, 200);
    expectPrefixesSafe(mm);
    // II, 42, IFD at 8; 3 entries: 254 (ignored), 257 LONG 70000, 256 LONG 60000.
    const std::string ii(
        "II\x2A\x00\x08\x00\x00\x00"
        "\x03\x00"
        "\xFE\x00\x04\x00\x01\x00\x00\x00\x00\x00\x00\x00"
        "\x01\x01\x04\x00\x01\x00\x00\x00\x70\x11\x01\x00"
        "\x00\x01\x04\x00\x01\x00\x00\x00\x60\xEA\x00\x00",
        8 + 2 + 36);
    expectHeader(ii, "tiff", 60000, 70000);
    expectPrefixesSafe(ii);
}

TEST(ImageHeader, TiffWithBadIfd) {
    // IFD offset beyond the end, and an entry count larger than the data.
    EXPECT_FALSE(readImageHeader(std::string("II\x2A\x00\xFF\xFF\xFF\xFF", 8)).has_value());
    EXPECT_FALSE(
        readImageHeader(std::string("II\x2A\x00\x08\x00\x00\x00\xFF\xFF", 10)).has_value());
    // Missing height tag.
    EXPECT_FALSE(readImageHeader(std::string("II\x2A\x00\x08\x00\x00\x00\x01\x00"
                                             "\x00\x01\x03\x00\x01\x00\x00\x00\x10\x00\x00\x00",
                                             22))
                     .has_value());
}

TEST(ImageHeader, PnmFromOpenCV) {
    expectHeader(encode(".pgm", pattern(CV_8UC1)), "pnm", kW, kH);
    expectHeader(encode(".ppm", pattern(CV_8UC3)), "pnm", kW, kH);
    expectHeader(encode(".pbm", pattern(CV_8UC1)), "pnm", kW, kH);
    expectHeader(encode(".pgm", pattern(CV_8UC1), {cv::IMWRITE_PXM_BINARY, 0}), "pnm", kW, kH);
    expectPrefixesSafe(encode(".pgm", pattern(CV_8UC1)));
}

TEST(ImageHeader, PnmWithComments) {
    expectHeader("P5\n# made by hand\n 12 # width\n#height next\n34\n255\n", "pnm", 12, 34);
    expectHeader("P1 3 4 0 1 0", "pnm", 3, 4);
    EXPECT_FALSE(readImageHeader("P5\n12").has_value());               // truncated
    EXPECT_FALSE(readImageHeader("P5\n12 34").has_value());            // no separator after height
    EXPECT_FALSE(readImageHeader("P5\n99999999999 1\n").has_value());  // > 32 bits
    EXPECT_FALSE(readImageHeader("P7\n12 34\n").has_value());
    EXPECT_FALSE(readImageHeader("P5\nx 34\n").has_value());
}

// Found by fuzz_image_decode: OpenCV consumes the byte after a number unread, so a '#' right
// after a number is not a comment. Reading it as one let "P4\n28# 24\n28# 28" show us 28x28
// while OpenCV decoded 28x24 (and "28#30000" would have allocated 28x30000).
TEST(ImageHeader, PnmReadsNumbersAsOpenCVDoes) {
    expectHeader("P4\n28# 24\n28# 28\n", "pnm", 28, 24);
    expectHeader("P5 28#30000\n28 255\n", "pnm", 28, 30000);
    expectHeader("P5 12\n# c\n34 255 ", "pnm", 12, 34);  // a comment before a number still is
    // OpenCV wants a whitespace byte after the magic; without one it is no PNM to either.
    EXPECT_FALSE(readImageHeader("P5#\n12 34 255 ").has_value());
}

TEST(ImageHeader, UnknownAndTooShort) {
    EXPECT_FALSE(readImageHeader("").has_value());
    EXPECT_FALSE(readImageHeader("P").has_value());
    EXPECT_FALSE(readImageHeader("hello world, not an image").has_value());
    EXPECT_FALSE(readImageHeader(std::string("\x89PNG\r\n\x1A\n", 8)).has_value());
    EXPECT_FALSE(readImageHeader("RIFF\x10\x00\x00\x00WAVEfmt ").has_value());
}

TEST(ImageHeader, RandomGarbageNeverCrashes) {
    const std::vector<std::string> magics = {
        "",
        std::string("\x89PNG\r\n\x1A\n\x00\x00\x00\x0DIHDR", 16),
        "\xFF\xD8",
        "BM",
        "GIF89a",
        "RIFFxxxxWEBPVP8 ",
        "RIFFxxxxWEBPVP8L",
        "RIFFxxxxWEBPVP8X",
        std::string("II*\0", 4),
        std::string("MM\0*", 4),
        "P5",
        "P1 "};
    std::mt19937 rng(1234);
    for (int round = 0; round < 20000; ++round) {
        std::string bytes = magics[static_cast<std::size_t>(round) % magics.size()];
        const std::size_t extra = rng() % 64;
        for (std::size_t i = 0; i < extra; ++i) {
            const auto r = rng();
            // Bias towards bytes that matter to the parsers.
            bytes.push_back(static_cast<char>((r & 0x300) == 0 ? 0xFF : (r & 0xFF)));
        }
        const std::string owned(bytes);  // exact-size heap buffer
        const auto h = readImageHeader(owned);
        if (h) {
            EXPECT_FALSE(h->format.empty());
        }
    }
}

TEST(ImageHeader, MutatedRealImagesNeverCrash) {
    std::vector<std::string> images = {
        encode(".png", pattern(CV_8UC1)),  encode(".jpg", pattern(CV_8UC3)),
        encode(".bmp", pattern(CV_8UC1)),  encode(".webp", pattern(CV_8UC3)),
        encode(".tiff", pattern(CV_8UC1)), encode(".pgm", pattern(CV_8UC1))};
    std::mt19937 rng(99);
    for (int round = 0; round < 5000; ++round) {
        std::string bytes = images[static_cast<std::size_t>(round) % images.size()];
        bytes.resize(std::min<std::size_t>(bytes.size(), 64 + rng() % 256));
        for (int flips = 0; flips < 4; ++flips) {
            bytes[rng() % bytes.size()] = static_cast<char>(rng() & 0xFF);
        }
        (void)readImageHeader(std::string(bytes));
    }
    SUCCEED();
}

}  // namespace
}  // namespace predictd
