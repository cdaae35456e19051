// image_header.cpp — hand-written header readers for the formats OpenCV may decode.
//
// Hand-written because OpenCV 4.6 has no public API that reports an image's size without
// decoding it (the ImageDecoder classes are internal), and we must reject a 60000x60000
// "decompression bomb" before cv::imdecode allocates its buffer. Every read goes through
// Bytes, which checks bounds and returns nullopt instead of reading past the end.
#include "codecs/image_header.hpp"

#include <algorithm>
#include <cstddef>

namespace predictd {
namespace {

using U32 = std::uint32_t;

// Bounds-checked little/big-endian reads over the input.
class Bytes {
  public:
    explicit Bytes(std::string_view data) : d_(data) {}

    [[nodiscard]] std::size_t size() const { return d_.size(); }
    [[nodiscard]] bool has(std::size_t offset, std::size_t count) const {
        return offset <= d_.size() && count <= d_.size() - offset;
    }
    [[nodiscard]] bool matches(std::size_t offset, std::string_view magic) const {
        return has(offset, magic.size()) && d_.substr(offset, magic.size()) == magic;
    }
    [[nodiscard]] std::optional<U32> u8(std::size_t offset) const {
        if (!has(offset, 1)) {
            return std::nullopt;
        }
        return static_cast<U32>(static_cast<unsigned char>(d_[offset]));
    }
    [[nodiscard]] std::optional<U32> le(std::size_t offset, std::size_t count) const {
        if (count > 4 || !has(offset, count)) {
            return std::nullopt;
        }
        U32 v = 0;
        for (std::size_t i = count; i-- > 0;) {
            v = (v << 8) | static_cast<unsigned char>(d_[offset + i]);
        }
        return v;
    }
    [[nodiscard]] std::optional<U32> be(std::size_t offset, std::size_t count) const {
        if (count > 4 || !has(offset, count)) {
            return std::nullopt;
        }
        U32 v = 0;
        for (std::size_t i = 0; i < count; ++i) {
            v = (v << 8) | static_cast<unsigned char>(d_[offset + i]);
        }
        return v;
    }
    [[nodiscard]] std::optional<U32> read(std::size_t offset, std::size_t count,
                                          bool bigEndian) const {
        return bigEndian ? be(offset, count) : le(offset, count);
    }

  private:
    std::string_view d_;
};

std::optional<ImageHeader> make(const char* format, std::optional<U32> w, std::optional<U32> h) {
    if (!w || !h) {
        return std::nullopt;
    }
    return ImageHeader{format, *w, *h};
}

std::optional<ImageHeader> withSamples(std::optional<ImageHeader> h, U32 channels, U32 bytes) {
    if (h) {
        h->channels = channels;
        h->bytes_per_sample = bytes;
    }
    return h;
}

// PNG: 8-byte signature, then the IHDR chunk: length, "IHDR", width BE32, height BE32, bit
// depth, colour type (0 gray, 2 RGB, 3 palette, 4 gray+alpha, 6 RGBA). A palette expands to
// RGBA at most (with a tRNS chunk).
std::optional<ImageHeader> readPng(const Bytes& b) {
    if (!b.matches(12, "IHDR")) {
        return std::nullopt;
    }
    const U32 depth = b.u8(24).value_or(16);
    const U32 type = b.u8(25).value_or(6);
    const U32 channels = type == 0 ? 1 : type == 2 ? 3 : type == 4 ? 2 : 4;
    return withSamples(make("png", b.be(16, 4), b.be(20, 4)), channels, depth > 8 ? 2 : 1);
}

// JPEG: walk the marker segments from SOI until a SOFn frame header (precision, height,
// width). Markers without a length (RSTn, TEM) are skipped; SOS or EOI before SOF: no size.
std::optional<ImageHeader> readJpeg(const Bytes& b) {
    std::size_t pos = 2;
    while (true) {
        const auto ff = b.u8(pos);
        if (!ff || *ff != 0xFF) {
            return std::nullopt;
        }
        std::optional<U32> marker;
        while ((marker = b.u8(++pos)) && *marker == 0xFF) {  // fill bytes
        }
        if (!marker) {
            return std::nullopt;
        }
        ++pos;  // pos now at the segment length (if any)
        const U32 m = *marker;
        if (m == 0x01 || (m >= 0xD0 && m <= 0xD8)) {
            continue;  // standalone markers
        }
        if (m == 0xD9 || m == 0xDA || m == 0x00) {
            return std::nullopt;
        }
        const auto length = b.be(pos, 2);
        if (!length || *length < 2) {
            return std::nullopt;
        }
        const bool isSof = m >= 0xC0 && m <= 0xCF && m != 0xC4 && m != 0xC8 && m != 0xCC;
        if (isSof) {
            if (*length < 7) {
                return std::nullopt;
            }
            // Frame header: precision, height, width, number of components.
            const U32 precision = b.u8(pos + 2).value_or(16);
            const U32 components = std::min<U32>(b.u8(pos + 7).value_or(4), 4);
            auto header = withSamples(make("jpeg", b.be(pos + 5, 2), b.be(pos + 3, 2)),
                                      std::max<U32>(components, 1), precision > 8 ? 2 : 1);
            if (header) {
                header->progressive = (m & 0x3u) == 0x2u;  // C2, C6, CA, CE
            }
            return header;
        }
        pos += *length;
    }
}

// BMP: 14-byte file header, then the DIB header whose size tells its kind. BITMAPCOREHEADER
// (12 bytes) has 16-bit unsigned sizes; BITMAPINFOHEADER and later have signed 32-bit sizes,
// a negative height meaning top-down rows.
std::optional<ImageHeader> readBmp(const Bytes& b) {
    const auto dibSize = b.le(14, 4);
    if (!dibSize) {
        return std::nullopt;
    }
    if (*dibSize == 12) {  // bit count at 24; up to 24 bits: BGR
        return withSamples(make("bmp", b.le(18, 2), b.le(20, 2)), 3, 1);
    }
    if (*dibSize < 40) {
        return std::nullopt;
    }
    const auto w = b.le(18, 4);
    const auto h = b.le(22, 4);
    if (!w || !h) {
        return std::nullopt;
    }
    const auto sw = static_cast<std::int32_t>(*w);
    const auto sh = static_cast<std::int64_t>(static_cast<std::int32_t>(*h));
    if (sw < 0) {
        return std::nullopt;
    }
    ImageHeader header{"bmp", static_cast<U32>(sw), static_cast<U32>(sh < 0 ? -sh : sh)};
    header.channels = b.le(28, 2).value_or(32) > 24 ? 4 : 3;  // bit count: 32 may carry alpha
    return header;
}

// GIF: "GIF87a"/"GIF89a", then the logical screen width and height, LE16 each.
std::optional<ImageHeader> readGif(const Bytes& b) {
    return make("gif", b.le(6, 2), b.le(8, 2));
}

// WebP: RIFF container "RIFF" size "WEBP", then the first chunk: lossy "VP8 " (frame tag,
// start code 9D 01 2A, 14-bit sizes), lossless "VP8L" (0x2F, then 14-bit width-1 and
// height-1 packed LE) or extended "VP8X" (24-bit canvas width-1 and height-1).
std::optional<ImageHeader> readWebp(const Bytes& b) {
    if (b.matches(12, "VP8 ")) {
        if (!b.matches(23, "\x9D\x01\x2A")) {
            return std::nullopt;
        }
        const auto w = b.le(26, 2);
        const auto h = b.le(28, 2);
        if (!w || !h) {
            return std::nullopt;
        }
        ImageHeader header{"webp", *w & 0x3FFFu, *h & 0x3FFFu};
        header.channels = 3;  // lossy, no alpha chunk possible without VP8X
        return header;
    }
    if (b.matches(12, "VP8L")) {
        const auto sig = b.u8(20);
        const auto bits = b.le(21, 4);
        if (!sig || *sig != 0x2F || !bits) {
            return std::nullopt;
        }
        ImageHeader header{"webp", (*bits & 0x3FFFu) + 1, ((*bits >> 14) & 0x3FFFu) + 1};
        header.channels = ((*bits >> 28) & 1u) != 0 ? 4 : 3;  // alpha_is_used
        return header;
    }
    if (b.matches(12, "VP8X")) {
        const auto w = b.le(24, 3);
        const auto h = b.le(27, 3);
        if (!w || !h) {
            return std::nullopt;
        }
        ImageHeader header{"webp", *w + 1, *h + 1};
        header.channels = (b.u8(20).value_or(0x10) & 0x10u) != 0 ? 4 : 3;  // the alpha flag
        return header;
    }
    return std::nullopt;
}

// TIFF: byte order ("II" little, "MM" big), 42, offset of the first IFD; in that IFD,
// tags 256 (ImageWidth) and 257 (ImageLength) of type SHORT (3) or LONG (4), the first of each
// if repeated (as libtiff, and so OpenCV, reads them). BigTIFF is not recognised. Also 278
// (RowsPerStrip), 322/323 (TileWidth/TileLength): OpenCV 4.6 sizes its read buffer by the
// strip or tile, not the image, so a 28-row TIFF claiming 65 535 rows per strip made it
// allocate 3 GB (found by fuzz_image_decode); decode_buffer_pixels lets the caller refuse it.
std::optional<ImageHeader> readTiff(const Bytes& b) {
    const bool big = b.matches(0, "MM");
    const auto ifd = b.read(4, 4, big);
    if (!ifd) {
        return std::nullopt;
    }
    const auto count = b.read(*ifd, 2, big);
    if (!count) {
        return std::nullopt;
    }
    std::optional<U32> width;
    std::optional<U32> height;
    std::optional<U32> rows_per_strip;
    std::optional<U32> tile_width;
    std::optional<U32> tile_length;
    std::optional<U32> bits_per_sample;
    std::optional<U32> samples_per_pixel;
    for (U32 i = 0; i < *count; ++i) {
        const std::size_t entry = static_cast<std::size_t>(*ifd) + 2 + std::size_t{12} * i;
        if (!b.has(entry, 12)) {
            if (width && height) {
                break;  // libtiff would stop here too; what was read stands
            }
            return std::nullopt;
        }
        const auto tag = b.read(entry, 2, big);
        const auto type = b.read(entry + 2, 2, big);
        if (!tag || !type) {
            continue;
        }
        if (*tag == 258 && *type == 3 && !bits_per_sample) {
            // BitsPerSample: one SHORT per sample, inline when they fit in 4 bytes, else at an
            // offset; the first is enough (OpenCV decodes every sample at one depth).
            const auto count = b.read(entry + 4, 4, big);
            const auto at = count && *count > 2 ? b.read(entry + 8, 4, big) : std::optional<U32>();
            bits_per_sample = at ? b.read(*at, 2, big) : b.read(entry + 8, 2, big);
            continue;
        }
        if (*tag == 277 && *type == 3 && !samples_per_pixel) {
            samples_per_pixel = b.read(entry + 8, 2, big);
            continue;
        }
        if (*tag != 256 && *tag != 257 && *tag != 278 && *tag != 322 && *tag != 323) {
            continue;
        }
        std::optional<U32> value;
        if (*type == 3) {
            value = b.read(entry + 8, 2, big);
        } else if (*type == 4) {
            value = b.read(entry + 8, 4, big);
        } else if (*tag == 256 || *tag == 257) {
            return std::nullopt;
        } else {
            continue;
        }
        // libtiff keeps the first of duplicated tags, so must we: keeping the last let
        // 256=60000, 256=8 show us width 8 while OpenCV allocated 60000.
        std::optional<U32>& slot = *tag == 256   ? width
                                   : *tag == 257 ? height
                                   : *tag == 278 ? rows_per_strip
                                   : *tag == 322 ? tile_width
                                                 : tile_length;
        if (!slot) {
            slot = value;
        }
    }
    if (!width || !height) {
        return std::nullopt;
    }
    ImageHeader h{"tiff", *width, *height};
    // Defaults as TIFF's: 1 sample of 1 bit. OpenCV decodes up to 4 samples, at 8 or 16 bits
    // (32-bit float or integer samples: 4 bytes).
    h.channels = std::clamp<U32>(samples_per_pixel.value_or(1), 1, 4);
    const U32 bits = bits_per_sample.value_or(1);
    h.bytes_per_sample = bits > 16 ? 4 : bits > 8 ? 2 : 1;
    if (tile_width && tile_length && *tile_width != 0 && *tile_length != 0) {
        h.decode_buffer_pixels = std::uint64_t{*tile_width} * *tile_length;
    } else if (rows_per_strip && *rows_per_strip != 0 && *rows_per_strip != 0xFFFFFFFFu) {
        h.decode_buffer_pixels = std::uint64_t{*width} * *rows_per_strip;
    }
    return h;
}

// PNM: "P1".."P6" and a whitespace byte, then decimal width and height, read exactly as
// OpenCV's PxM decoder reads them (grfmt_pxm.cpp, ReadNumber), so both see the same size:
// before a number, whitespace is skipped and '#' starts a comment that runs to the end of the
// line; the one byte that ends a number is consumed whatever it is, so in "28#30000\n" the
// '#' is that terminator, not a comment, and the next number is 30000. (Reading it as a
// comment let a header show us 28x28 while OpenCV allocated 28x30000.)
bool isPnmSpace(char c) {
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f';
}

std::optional<ImageHeader> readPnm(std::string_view d) {
    std::size_t pos = 2;
    auto nextNumber = [&]() -> std::optional<U32> {
        while (pos < d.size()) {
            const char c = d[pos];
            if (c == '#') {
                while (pos < d.size() && d[pos] != '\n' && d[pos] != '\r') {
                    ++pos;
                }
            } else if (isPnmSpace(c)) {
                ++pos;
            } else {
                break;
            }
        }
        std::uint64_t v = 0;
        const std::size_t begin = pos;
        while (pos < d.size() && d[pos] >= '0' && d[pos] <= '9') {
            v = v * 10 + static_cast<std::uint64_t>(d[pos] - '0');
            if (v > 0xFFFFFFFFull) {
                return std::nullopt;
            }
            ++pos;
        }
        // A number must be followed by a byte (OpenCV reads one more), not end the buffer.
        if (pos == begin || pos >= d.size()) {
            return std::nullopt;
        }
        ++pos;  // the terminator, consumed unread
        return static_cast<U32>(v);
    };
    const auto w = nextNumber();
    if (!w) {
        return std::nullopt;
    }
    const auto h = nextNumber();
    // P1/P4 bitmaps, P2/P5 gray, P3/P6 colour; the maximum value after the size says the depth
    // (bitmaps have none).
    const char kind = d[1];
    const bool bitmap = kind == '1' || kind == '4';
    const auto max_value = bitmap ? std::optional<U32>(1) : nextNumber();
    return withSamples(make("pnm", w, h), (kind == '3' || kind == '6') ? 3 : 1,
                       max_value.value_or(65535) > 255 ? 2 : 1);
}

}  // namespace

std::optional<ImageHeader> readImageHeader(std::string_view bytes) {
    const Bytes b(bytes);
    if (b.matches(0, "\x89PNG\r\n\x1A\n")) {
        return readPng(b);
    }
    if (b.matches(0, "\xFF\xD8")) {
        return readJpeg(b);
    }
    if (b.matches(0, "BM")) {
        return readBmp(b);
    }
    if (b.matches(0, "GIF87a") || b.matches(0, "GIF89a")) {
        return readGif(b);
    }
    if (b.matches(0, "RIFF") && b.matches(8, "WEBP")) {
        return readWebp(b);
    }
    if (b.matches(0, std::string_view("II*\0", 4)) || b.matches(0, std::string_view("MM\0*", 4))) {
        return readTiff(b);
    }
    if (b.size() >= 3 && bytes[0] == 'P' && bytes[1] >= '1' && bytes[1] <= '6' &&
        isPnmSpace(bytes[2])) {
        return readPnm(bytes);
    }
    return std::nullopt;
}

}  // namespace predictd
