// decode_plan.hpp — how one image will be decoded, and what that decode costs, decided from its
// header before any pixel exists.
//
// Owns the shrink-on-load choice (JPEG's DCT scaling through OpenCV's IMREAD_REDUCED_* flags)
// and the cost model the request budget (limits.max_decode_bytes) adds up. Knows nothing of
// models: the caller says which pixels it wants and how much smaller they may come.
#pragma once

#include <cstdint>

#include "codecs/image_header.hpp"

namespace predictd {

// The pixels the consumer wants from the decoder.
enum class DecodePixels {
    kAsStored,  // channels and depth as the file has them (IMREAD_UNCHANGED)
    kColor,     // 8-bit BGR (IMREAD_COLOR)
    kGray,      // 8-bit gray (IMREAD_GRAYSCALE)
};

struct DecodeWants {
    DecodePixels pixels = DecodePixels::kAsStored;
    bool apply_orientation = false;  // a JPEG's EXIF orientation (kColor and kGray only)
    // The largest factor (1, 2, 4 or 8) by which the decoded image may be smaller than the file
    // on each side without changing what the consumer makes of it. 1: full size.
    int max_reduction = 1;
    // For kAsStored, the pixels to use when the image is decoded reduced (the DCT-scaled path
    // has no "as stored" mode; JPEG has no alpha and, at 8 bits, no extra depth to lose).
    DecodePixels reduced_pixels = DecodePixels::kColor;
};

struct DecodePlan {
    int imread_flags = -1;    // for cv::imdecode
    int reduction = 1;        // 1, 2, 4 or 8: each side is ceil(side / reduction)
    std::uint64_t width = 0;  // of the decoded image (before any EXIF rotation)
    std::uint64_t height = 0;
    // Bytes of pixels the decoder works through: decoded width × height (full size for a
    // progressive JPEG) × the larger of the file's and the output's samples per pixel × the
    // larger of their bytes per sample. What
    // the request budget adds up (measured: worker time follows it within a format; see
    // docs/design.md, "What a request may cost").
    std::uint64_t cost_bytes = 0;
};

// JPEG is decoded reduced when the consumer allows it; every other format at full size
// (OpenCV 4.6 reaches no scaled decoder but libjpeg's: for PNG, TIFF or WebP it would decode
// whole and then resize, which saves nothing).
DecodePlan planDecode(const ImageHeader& header, const DecodeWants& wants);

}  // namespace predictd
