// image_decode.hpp — encoded image bytes → pixels (cv::Mat), with the format and size limits
// enforced from the header before any pixel buffer is allocated.
//
// Owns the undecodable_image, unsupported_image_format and image_too_large errors. Does not convert
// colour, depth or size; that is preprocess's job.
#pragma once

#include <optional>
#include <string_view>

#include <opencv2/core/mat.hpp>

#include "api/api_error.hpp"
#include "api/request_limits.hpp"
#include "codecs/decode_plan.hpp"
#include "codecs/image_header.hpp"

namespace predictd {

// The checks made before anything is decoded, in order:
//   400 undecodable_image: not one of kImageFormats, or a truncated/malformed header;
//   415 unsupported_image_format: a format not in limits.allowed_formats;
//   413 image_too_large: a zero dimension, width*height > limits.max_image_pixels (except for a
//       JPEG, which checkDecodedSize judges at the size it will be decoded), or a TIFF strip or
//       tile over it;
//   400 undecodable_image: GIF (its header is read, but OpenCV 4.6 cannot decode it), or an
//       input OpenCV might hand to its DICOM decoder ("DICM" at offset 128).
// Returns the header (format, size, samples) the decode plan is made from.
Result<ImageHeader> inspectImage(std::string_view bytes, const RequestLimits& limits);

// 413 image_too_large when the planned decode would produce more than limits.max_image_pixels
// pixels: the image's own size, or for a JPEG shrunk on load its decoded size (a 48 MP photo
// decoded at 1/8 is 0.75 MP). Checked after inspectImage, before decoding.
std::optional<ApiError> checkDecodedSize(const ImageHeader& header, const DecodePlan& plan,
                                         const RequestLimits& limits);

// cv::imdecode with the plan's flags (decode_plan.hpp) of bytes that passed inspectImage.
// 400 undecodable_image when the decoder fails; 413 image_too_large if the decoded size is
// over the limit after all (a second line behind the header check).
Result<cv::Mat> decodeInspected(std::string_view bytes, const ImageHeader& header,
                                const DecodePlan& plan, const RequestLimits& limits);

// inspectImage, checkDecodedSize at full size, then cv::imdecode at full size with `imread_flags`
// (IMREAD_UNCHANGED by default: 1, 3 (BGR) or 4 (BGRA) channels, 8U, 16U or 32F depth).
Result<cv::Mat> decodeImage(std::string_view bytes, const RequestLimits& limits,
                            int imread_flags = -1 /* cv::IMREAD_UNCHANGED */);

}  // namespace predictd
