// image_decode.cpp — header checks (image_header) then cv::imdecode with the plan's flags.
//
// Bounding the decode: the pixel count is checked from our own header reader before
// cv::imdecode runs; OpenCV's decoders read the same header fields (PNG IHDR, the first JPEG
// SOF, the first TIFF IFD, ...), so a header that lies about its size is refused before
// OpenCV allocates anything. The decoded size is checked again afterwards as a second line.
// Formats: the header sniff also decides the format, and one outside limits.allowed_formats is
// refused (415) before the size check. cv::imdecode then picks its decoder by itself, trying
// each one's signature in a fixed order (BMP, HDR, JPEG, WebP, Sun raster, PxM, PFM, TIFF, PNG,
// DICOM, ...). For our formats the signatures agree with our sniff, and those decoders come
// first, with one gap: when the sniffed format's decoder declines (OpenCV's WebP check asks
// libwebp, which is stricter than our sniff), imdecode goes on down the list, and the DICOM
// (GDCM) decoder matches "DICM" at offset 128 whatever comes before it. That would decode a
// DICOM image of any size, unchecked, with a large parser that aborts on bad input (found by
// fuzz_image_decode: a GIF header with "DICM" at 128 killed the process in GDCM). So any input
// with that DICOM signature is refused before imdecode, and so is GIF, which OpenCV 4.6 has no
// decoder for (GIF is also left out of the default allowed_formats).
#include "codecs/image_decode.hpp"

#include <algorithm>
#include <climits>
#include <exception>
#include <optional>
#include <string>
#include <vector>

#include <opencv2/core.hpp>
#include <opencv2/imgcodecs.hpp>

#include "codecs/image_header.hpp"

namespace predictd {
namespace {

ApiError undecodable(std::string message) {
    return ApiError{400, "undecodable_image", std::move(message)};
}

ApiError tooLarge(std::uint64_t width, std::uint64_t height, std::uint64_t limit) {
    return ApiError{413, "image_too_large",
                    "image is " + std::to_string(width) + "x" + std::to_string(height) + " = " +
                        std::to_string(width * height) + " pixels; the limit is " +
                        std::to_string(limit) + " pixels and neither side may be 0"};
}

ApiError unsupportedFormat(const std::string& format, const std::vector<std::string>& allowed) {
    std::string list;
    for (const std::string& f : allowed) {
        list += (list.empty() ? "" : ", ") + f;
    }
    return ApiError{
        415, "unsupported_image_format",
        format + " images are not accepted; accepted formats: " + (list.empty() ? "none" : list)};
}

bool exceeds(std::uint64_t width, std::uint64_t height, std::uint64_t limit) {
    // Both sides < 2^32, so the product fits in 64 bits.
    return width == 0 || height == 0 || width * height > limit;
}

Result<ImageHeader> inspectUnchecked(std::string_view bytes, const RequestLimits& limits) {
    const auto header = readImageHeader(bytes);
    if (!header) {
        return undecodable("not a PNG, JPEG, BMP, GIF, WebP, TIFF or PNM image");
    }
    const auto& allowed = limits.allowed_formats;
    if (std::find(allowed.begin(), allowed.end(), header->format) == allowed.end()) {
        return unsupportedFormat(header->format, allowed);
    }
    // A JPEG may be decoded smaller (shrink on load): checkDecodedSize judges its decoded size
    // once the plan is made. Every other format decodes at its own size, refused here.
    if (header->width == 0 || header->height == 0 ||
        (header->format != "jpeg" &&
         exceeds(header->width, header->height, limits.max_image_pixels))) {
        return tooLarge(header->width, header->height, limits.max_image_pixels);
    }
    if (header->decode_buffer_pixels > limits.max_image_pixels) {
        return ApiError{413, "image_too_large",
                        "the image's " + header->format + " strips or tiles hold " +
                            std::to_string(header->decode_buffer_pixels) +
                            " pixels each; the limit is " +
                            std::to_string(limits.max_image_pixels) + " pixels"};
    }
    if (header->format == "gif") {
        return undecodable("GIF images cannot be decoded by this server (no GIF decoder)");
    }
    if (bytes.size() >= 132 && bytes.substr(128, 4) == "DICM") {
        return undecodable("could not decode " + header->format +
                           " image (it also carries a DICOM signature)");
    }
    if (bytes.size() > static_cast<std::size_t>(INT_MAX)) {
        return undecodable("encoded image is too large to decode");
    }
    return *header;
}

Result<cv::Mat> decodeUnchecked(std::string_view bytes, const ImageHeader& header, int flags,
                                const RequestLimits& limits) {
    cv::Mat image;
    try {
        // imdecode only reads its input; the const_cast lets us wrap the bytes without a copy.
        const cv::Mat encoded(1, static_cast<int>(bytes.size()), CV_8UC1,
                              const_cast<char*>(bytes.data()));  // NOLINT(*-const-cast)
        image = cv::imdecode(encoded, flags);
    } catch (const cv::Exception& e) {
        return undecodable("could not decode " + header.format + " image: " + e.err);
    } catch (const std::exception& e) {
        return undecodable("could not decode " + header.format + " image: " + e.what());
    }
    if (image.empty()) {
        return undecodable("could not decode " + header.format + " image (corrupt or truncated)");
    }
    const auto rows = static_cast<std::uint64_t>(image.rows);
    const auto cols = static_cast<std::uint64_t>(image.cols);
    if (exceeds(cols, rows, limits.max_image_pixels)) {
        return tooLarge(cols, rows, limits.max_image_pixels);
    }
    return image;
}

}  // namespace

Result<ImageHeader> inspectImage(std::string_view bytes, const RequestLimits& limits) {
    try {
        return inspectUnchecked(bytes, limits);
    } catch (const std::exception& e) {
        return undecodable(std::string("could not read the image header: ") + e.what());
    }
}

std::optional<ApiError> checkDecodedSize(const ImageHeader& header, const DecodePlan& plan,
                                         const RequestLimits& limits) {
    if (!exceeds(plan.width, plan.height, limits.max_image_pixels)) {
        return std::nullopt;
    }
    ApiError error = tooLarge(header.width, header.height, limits.max_image_pixels);
    if (plan.reduction > 1) {
        error.message =
            "image is " + std::to_string(header.width) + "x" + std::to_string(header.height) +
            ", decoded at 1/" + std::to_string(plan.reduction) + ": " + std::to_string(plan.width) +
            "x" + std::to_string(plan.height) + " = " + std::to_string(plan.width * plan.height) +
            " pixels; the limit is " + std::to_string(limits.max_image_pixels) + " pixels";
    }
    return error;
}

Result<cv::Mat> decodeInspected(std::string_view bytes, const ImageHeader& header,
                                const DecodePlan& plan, const RequestLimits& limits) {
    try {
        return decodeUnchecked(bytes, header, plan.imread_flags, limits);
    } catch (const std::exception& e) {
        return undecodable(std::string("could not decode image: ") + e.what());
    }
}

Result<cv::Mat> decodeImage(std::string_view bytes, const RequestLimits& limits, int imread_flags) {
    const auto header = inspectImage(bytes, limits);
    if (!header.ok()) {
        return header.error();
    }
    DecodePlan full_size;
    full_size.imread_flags = imread_flags;
    full_size.width = header.value().width;
    full_size.height = header.value().height;
    if (auto error = checkDecodedSize(header.value(), full_size, limits)) {
        return *error;
    }
    return decodeInspected(bytes, header.value(), full_size, limits);
}

}  // namespace predictd
