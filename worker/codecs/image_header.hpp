// image_header.hpp — sniff an encoded image's format and dimensions without decoding it.
//
// Owns the magic numbers and header layouts of PNG, JPEG, BMP, GIF, WebP, TIFF and PNM. Used
// to refuse oversized images before any pixel buffer is allocated. Does not decode pixels.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace predictd {

// Every format name readImageHeader can report (the names RequestLimits::allowed_formats and
// the `[limits] allowed_formats` key use).
inline constexpr std::array<std::string_view, 7> kImageFormats = {"png",  "jpeg", "bmp", "gif",
                                                                  "webp", "tiff", "pnm"};

struct ImageHeader {
    std::string format;  // "png", "jpeg", "bmp", "gif", "webp", "tiff" or "pnm"
    std::uint32_t width = 0;
    std::uint32_t height = 0;
    // Pixels the decoder buffers at once when that can exceed the image itself: for TIFF, one
    // strip (width × RowsPerStrip) or one tile (TileWidth × TileLength); OpenCV 4.6 allocates
    // 4 bytes per pixel of it whatever the image's height. 0 when not applicable.
    std::uint64_t decode_buffer_pixels = 0;
    // What the decoder works through per pixel, from the header: samples (1 gray, 2 gray+alpha,
    // 3 colour, 4 colour+alpha or CMYK; a palette counts as the colours it expands to) and bytes
    // per sample (2 for 16-bit PNG, TIFF or PNM, 12/16-bit JPEG). Read where the format says it;
    // where it does not (or for a malformed field), the most the format allows.
    std::uint32_t channels = 4;
    std::uint32_t bytes_per_sample = 1;
    // A progressive JPEG (SOF2, 6, 10, 14): libjpeg buffers every scan's coefficients for the
    // whole image, so decoding it costs its full size even when its output is scaled down.
    bool progressive = false;
};

// nullopt when the bytes are not one of the formats above or the header is truncated or
// malformed. Never reads outside `bytes`, whatever they hold.
std::optional<ImageHeader> readImageHeader(std::string_view bytes);

}  // namespace predictd
