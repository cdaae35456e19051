// fuzz_image_decode.cpp — libFuzzer target: encoded image bytes → readImageHeader →
// decodeImage → preprocessDigit, as the request path runs them.
//
// Checks: errors are 400/413/415 with known codes; a decoded image has exactly the size the
// header reader announced, or (TIFF orientation) that size transposed (else the header check
// would not bound what OpenCV allocates), and is within the pixel limit; a preprocessed digit is
// 28x28 CV_32FC1 with every value in [0,1]. Every format readImageHeader knows is allowed here (GIF
// too), so all header readers run.
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#include <opencv2/core.hpp>

#include "codecs/image_decode.hpp"
#include "codecs/image_header.hpp"
#include "models/preprocess.hpp"

namespace {

using predictd::RequestLimits;

RequestLimits fuzzLimits() {
    RequestLimits limits;
    limits.max_image_pixels = 1u << 20;  // smaller than the default (2^24) to keep runs fast
    limits.allowed_formats.assign(predictd::kImageFormats.begin(), predictd::kImageFormats.end());
    return limits;
}

[[noreturn]] void fail(const std::string& what) {
    std::fprintf(stderr, "INVARIANT BROKEN: %s\n", what.c_str());
    std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    static const RequestLimits limits = fuzzLimits();
    cv::setNumThreads(0);
    const std::string_view bytes(reinterpret_cast<const char*>(data), size);

    const auto header = predictd::readImageHeader(bytes);
    const auto image = predictd::decodeImage(bytes, limits);
    if (!image.ok()) {
        const auto& e = image.error();
        const bool known = (e.status == 400 && e.code == "undecodable_image") ||
                           (e.status == 413 && e.code == "image_too_large") ||
                           (e.status == 415 && e.code == "unsupported_image_format");
        if (!known || e.message.empty()) {
            fail("unexpected error " + std::to_string(e.status) + " " + e.code);
        }
        return 0;
    }
    const cv::Mat& m = image.value();
    if (!header) {
        fail("decoded an image whose header was not recognised");
    }
    // Exactly the header's size, or transposed: libtiff applies a TIFF Orientation of 5..8
    // (seen by this fuzzer: 7168x1 decoded as 1x7168), which keeps the pixel count.
    const auto cols = static_cast<std::uint32_t>(m.cols);
    const auto rows = static_cast<std::uint32_t>(m.rows);
    const bool same = cols == header->width && rows == header->height;
    const bool transposed =
        header->format == "tiff" && cols == header->height && rows == header->width;
    if (!same && !transposed) {
        fail(header->format + ": header says " + std::to_string(header->width) + "x" +
             std::to_string(header->height) + ", decoded " + std::to_string(m.cols) + "x" +
             std::to_string(m.rows));
    }
    if (static_cast<std::uint64_t>(m.cols) * static_cast<std::uint64_t>(m.rows) >
        limits.max_image_pixels) {
        fail("decoded image over the pixel limit");
    }

    const auto digit = predictd::preprocessDigit(m);
    if (!digit.ok()) {
        // 2-channel (gray+alpha) images and unusual depths are refused, not crashes.
        if (digit.error().status != 400 || digit.error().code != "undecodable_image") {
            fail("preprocess error " + digit.error().code);
        }
        return 0;
    }
    const cv::Mat& d = digit.value();
    if (d.rows != predictd::kDigitSide || d.cols != predictd::kDigitSide || d.type() != CV_32FC1) {
        fail("preprocessed digit is not 28x28 CV_32FC1");
    }
    for (int r = 0; r < d.rows; ++r) {
        for (int c = 0; c < d.cols; ++c) {
            const float v = d.at<float>(r, c);
            if (!(v >= 0.0f && v <= 1.0f)) {  // also catches NaN
                fail("digit value outside [0,1]: " + std::to_string(v));
            }
        }
    }
    return 0;
}
