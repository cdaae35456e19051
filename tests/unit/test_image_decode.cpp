// Unit tests for image_decode: every format decodes, depth and alpha are kept, oversized
// headers are refused before decoding, undecodable input is reported.
#include <gtest/gtest.h>

#include <sys/resource.h>
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iterator>
#include <string>
#include <string_view>
#include <vector>

#include <opencv2/core.hpp>
#include <opencv2/imgcodecs.hpp>

#include "codecs/image_decode.hpp"
#include "codecs/image_header.hpp"

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

RequestLimits withGif() {
    RequestLimits limits;
    limits.allowed_formats.emplace_back("gif");
    return limits;
}

TEST(ImageDecode, HugeGifRefusedWithoutDecoding) {
    expectError(decodeImage(kHugeGif, withGif()), 413, "image_too_large");
}

// A 1 KB PNG whose IHDR claims 30000x30000 8-bit gray (900 MB decoded, under OpenCV's own
// 2^30-pixel cap, so only our header check stands between it and the allocation).
// A valid IHDR CRC, so libpng accepts the header and OpenCV would go on to allocate.
std::uint32_t crc32(std::string_view data) {
    std::uint32_t crc = 0xFFFFFFFFu;
    for (const char c : data) {
        crc ^= static_cast<unsigned char>(c);
        for (int k = 0; k < 8; ++k) {
            crc = (crc >> 1) ^ (0xEDB88320u & (0u - (crc & 1u)));
        }
    }
    return ~crc;
}

[[maybe_unused]] std::string bigPngHeader() {
    std::string png = kHugePng;
    png[18] = png[22] = '\x75';  // 0x7530 = 30000
    png[19] = png[23] = '\x30';
    const std::uint32_t crc = crc32(std::string_view(png).substr(12, 17));
    for (int i = 0; i < 4; ++i) {
        png[29 + i] = static_cast<char>(crc >> (24 - 8 * i));
    }
    // An empty IDAT chunk: libpng's header pass stops at the first IDAT, so OpenCV takes the
    // header as good and would allocate before reading pixels.
    png.resize(33);
    png.append(std::string_view("\0\0\0\0IDAT", 8));
    const std::uint32_t idatCrc = crc32("IDAT");
    for (int i = 0; i < 4; ++i) {
        png.push_back(static_cast<char>(idatCrc >> (24 - 8 * i)));
    }
    png.resize(1024, '\0');
    return png;
}

// Runs decodeImage in a child whose address space may grow by at most 256 MB over what it uses
// now: an attempt to allocate the decoded image fails there, so only a refusal from the header
// comes back as image_too_large. Exits 0 when the result has `code`.
[[noreturn, maybe_unused]] void decodeUnderAddressLimit(const std::string& bytes,
                                                        const RequestLimits& limits,
                                                        const std::string& code) {
    long pages = 0;
    if (std::FILE* f = std::fopen("/proc/self/statm", "r")) {
        if (std::fscanf(f, "%ld", &pages) != 1) {
            pages = 0;
        }
        std::fclose(f);
    }
    if (pages <= 0) {
        std::_Exit(3);
    }
    const auto used = static_cast<rlim_t>(pages) * static_cast<rlim_t>(sysconf(_SC_PAGESIZE));
    const rlimit limit{used + (rlim_t{256} << 20), used + (rlim_t{256} << 20)};
    if (setrlimit(RLIMIT_AS, &limit) != 0) {
        std::_Exit(4);
    }
    const auto r = decodeImage(bytes, limits);
    std::fprintf(stderr, "result: %s: %s\n", r.ok() ? "decoded" : r.error().code.c_str(),
                 r.ok() ? "" : r.error().message.c_str());
    std::_Exit(!r.ok() && r.error().code == code ? 0 : 1);
}

#if defined(__SANITIZE_ADDRESS__)
#define PREDICTD_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define PREDICTD_ASAN 1
#endif
#endif

TEST(ImageDecodeDeathTest, ForgedSizeRefusedWithoutAllocating) {
#ifdef PREDICTD_ASAN
    GTEST_SKIP() << "RLIMIT_AS cannot be used under AddressSanitizer (it reserves terabytes)";
#else
    GTEST_FLAG_SET(death_test_style, "threadsafe");
    const std::string png = bigPngHeader();
    ASSERT_EQ(png.size(), 1024u);
    // Control: with the pixel limit raised, OpenCV does try to allocate 900 MB and fails under
    // the address-space limit, so the limit is tight enough to catch an allocation.
    RequestLimits generous;
    generous.max_image_pixels = 1u << 30;
    EXPECT_EXIT(decodeUnderAddressLimit(png, generous, "undecodable_image"),
                testing::ExitedWithCode(0),
                "result: undecodable_image: .*Failed to allocate 900000000 bytes");
    // With the default limit the header alone refuses it: nothing big is allocated.
    EXPECT_EXIT(decodeUnderAddressLimit(png, kLimits, "image_too_large"),
                testing::ExitedWithCode(0), "result: image_too_large");
    // And the 1 KB PNG claiming 60000x60000 (3.6 GB).
    std::string huge = kHugePng;
    huge.resize(1024, '\0');
    EXPECT_EXIT(decodeUnderAddressLimit(huge, kLimits, "image_too_large"),
                testing::ExitedWithCode(0), "result: image_too_large: image is 60000x60000");
#endif
}

// Found by fuzz_image_decode: a '#' right after a number is no comment to OpenCV, so this
// header is 28x30000 to OpenCV (and now to us), not 28x28.
TEST(ImageDecode, PnmCommentTrickIsRefusedFromTheHeader) {
    const std::string pgm = "P5 28#30000\n28 255\n" + std::string(28 * 28, '\0');
    RequestLimits limits;
    limits.max_image_pixels = 28 * 28;
    expectError(decodeImage(pgm, limits), 413, "image_too_large",
                "image is 28x30000 = 840000 pixels; the limit is 784 pixels and neither side may "
                "be 0");
}

// Found by fuzz_image_decode: OpenCV hands an input none of its earlier decoders takes to its
// DICOM (GDCM) decoder when "DICM" is at offset 128, whatever the first bytes say. This GIF
// (OpenCV has no GIF decoder) made GDCM abort the whole process.
std::string withDicomTail(std::string head) {
    head.resize(128, '\x99');
    return head + std::string("DICM\x00\x01\x00\x00SVD\x01\x00;", 13);
}

TEST(ImageDecode, DicomSignatureIsNeverHandedToOpenCV) {
    const std::string gif = withDicomTail(std::string(
        "GIF89a\x01\x00\x01\x00\x80\x00\x00\xFF\xFF\xFF\x00\x00\x00!\xF9\x04\x01\x00\x00\x00\x00,",
        28));
    expectError(decodeImage(gif, withGif()), 400, "undecodable_image",
                "GIF images cannot be decoded by this server (no GIF decoder)");
    // A WebP whose VP8X chunk our sniff reads but libwebp (and so OpenCV's WebP decoder)
    // refuses: without the check, imdecode would go on to GDCM.
    std::string webp(
        "RIFF\x00\x00\x00\x00WEBPVP8X\xFF\xFF\xFF\xFF\x00\x00\x00\x00"
        "\x1B\x00\x00\x1B\x00\x00",
        30);
    ASSERT_TRUE(readImageHeader(webp).has_value());
    expectError(decodeImage(withDicomTail(webp), kLimits), 400, "undecodable_image",
                "could not decode webp image (it also carries a DICOM signature)");
}

// A little-endian 8-bit gray TIFF with one strip of rows*cols bytes, whose first IFD holds
// ImageWidth `widths` (in that order, duplicates allowed) and ImageLength `rows`.
std::string grayTiff(const std::vector<std::uint16_t>& widths, std::uint16_t rows,
                     std::uint32_t pixels) {
    struct Entry {
        std::uint16_t tag, type;
        std::uint32_t value;
    };
    std::vector<Entry> entries;
    for (const std::uint16_t w : widths) {
        entries.push_back({256, 3, w});
    }
    const std::uint32_t dataAt = 8 + 2 + 12 * (static_cast<std::uint32_t>(widths.size()) + 8) + 4;
    for (const Entry& e : std::vector<Entry>{{257, 3, rows},
                                             {258, 3, 8},
                                             {259, 3, 1},
                                             {262, 3, 1},
                                             {273, 4, dataAt},
                                             {277, 3, 1},
                                             {278, 3, rows},
                                             {279, 4, pixels}}) {
        entries.push_back(e);
    }
    std::string s("II*\0\x08\0\0\0", 8);
    const auto put = [&s](std::uint32_t v, int bytes) {
        for (int i = 0; i < bytes; ++i) {
            s.push_back(static_cast<char>((v >> (8 * i)) & 0xFF));
        }
    };
    put(static_cast<std::uint32_t>(entries.size()), 2);
    for (const Entry& e : entries) {
        put(e.tag, 2);
        put(e.type, 2);
        put(1, 4);
        put(e.value, 4);
    }
    put(0, 4);
    s.append(pixels, '\x80');
    return s;
}

// Found while checking the fuzzers' "decoded size == header size" invariant by hand: libtiff
// keeps the first of duplicated tags, our reader kept the last, so a TIFF could show us a small
// width while OpenCV allocated a large one.
TEST(ImageDecode, TiffDuplicateWidthReadAsLibtiffDoes) {
    const std::string tiff = grayTiff({16, 8}, 8, 16 * 8);
    const auto header = readImageHeader(tiff);
    ASSERT_TRUE(header.has_value());
    EXPECT_EQ(header->width, 16u);
    const auto r = decodeImage(tiff, kLimits);
    ASSERT_TRUE(r.ok()) << r.error().message;
    EXPECT_EQ(r.value().cols, 16);
    EXPECT_EQ(r.value().rows, 8);
    RequestLimits limits;
    limits.max_image_pixels = 8 * 8;
    expectError(decodeImage(grayTiff({60000, 8}, 8, 64), limits), 413, "image_too_large",
                "image is 60000x8 = 480000 pixels; the limit is 64 pixels and neither side may "
                "be 0");
}

TEST(ImageDecode, FormatOutsideAllowedListIsRefusedBeforeDecoding) {
    const std::string png = encode(".png", pattern(23, 37, CV_8UC1));
    RequestLimits limits;
    limits.allowed_formats = {"jpeg", "bmp"};
    expectError(decodeImage(png, limits), 415, "unsupported_image_format",
                "png images are not accepted; accepted formats: jpeg, bmp");
    // The format is decided before the size: a forged huge PNG is refused for its format.
    expectError(decodeImage(kHugePng, limits), 415, "unsupported_image_format");
    EXPECT_TRUE(decodeImage(encode(".bmp", pattern(23, 37, CV_8UC1)), limits).ok());
    limits.allowed_formats.clear();
    expectError(decodeImage(png, limits), 415, "unsupported_image_format",
                "png images are not accepted; accepted formats: none");
    // Unknown bytes stay undecodable_image whatever the list says.
    expectError(decodeImage("definitely not an image", limits), 400, "undecodable_image");
}

TEST(ImageDecode, EveryDefaultFormatIsAllowed) {
    const cv::Mat gray = pattern(23, 37, CV_8UC1);
    for (const std::string ext : {".png", ".jpg", ".bmp", ".webp", ".tiff", ".pgm"}) {
        EXPECT_TRUE(decodeImage(encode(ext, gray), kLimits).ok()) << ext;
    }
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
    expectError(decodeImage(gif, withGif()), 400, "undecodable_image",
                "GIF images cannot be decoded by this server (no GIF decoder)");
    // Not allowed by default: refused from the header.
    expectError(decodeImage(gif, kLimits), 415, "unsupported_image_format",
                "gif images are not accepted; accepted formats: png, jpeg, bmp, webp, tiff, pnm");
    expectError(decodeImage(kHugeGif, kLimits), 415, "unsupported_image_format");
}

}  // namespace
}  // namespace predictd

namespace predictd {
namespace {

// Found by fuzz_image_decode: a 12090x28 LZW TIFF whose RowsPerStrip is ~65 500. OpenCV 4.6
// sizes its strip buffer by RowsPerStrip, not the height, and asked for 3.17 GB. The header
// check must refuse it before any decode.
TEST(ImageDecodeFuzzFinding, TiffWithHugeRowsPerStripIsRefusedBeforeDecoding) {
    std::ifstream in(std::string(PREDICTD_SOURCE_DIR) +
                         "/tests/data/fuzz-findings/tiff-huge-rows-per-strip.tiff",
                     std::ios::binary);
    const std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    ASSERT_FALSE(bytes.empty());
    const auto header = readImageHeader(bytes);
    ASSERT_TRUE(header.has_value());
    EXPECT_EQ(header->format, "tiff");
    EXPECT_EQ(header->height, 28u);
    EXPECT_GT(header->decode_buffer_pixels, RequestLimits{}.max_image_pixels);
    auto r = decodeImage(bytes, RequestLimits{});
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error().status, 413);
    EXPECT_EQ(r.error().code, "image_too_large");
}

}  // namespace
}  // namespace predictd
