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
};

// nullopt when the bytes are not one of the formats above or the header is truncated or
// malformed. Never reads outside `bytes`, whatever they hold.
std::optional<ImageHeader> readImageHeader(std::string_view bytes);

}  // namespace predictd
