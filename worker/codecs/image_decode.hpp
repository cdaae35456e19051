// image_decode.hpp — encoded image bytes → pixels (cv::Mat), with the size limit enforced
// from the header before any pixel buffer is allocated.
//
// Owns the undecodable_image, unsupported_image_format and image_too_large errors. Does not convert
// colour, depth or size; that is preprocess's job.
#pragma once

#include <string_view>

#include <opencv2/core/mat.hpp>

#include "api/api_error.hpp"
#include "api/request_limits.hpp"

namespace predictd {

// Returns the image as cv::imdecode(IMREAD_UNCHANGED) gives it: 1, 3 (BGR) or 4 (BGRA)
// channels, 8U, 16U or 32F depth.
// Checks, in order, all before cv::imdecode runs:
//   400 undecodable_image: not one of kImageFormats, or a truncated/malformed header;
//   415 unsupported_image_format: a format not in limits.allowed_formats;
//   413 image_too_large: a zero dimension, or width*height > limits.max_image_pixels.
// Then 400 undecodable_image for GIF (its header is read, but OpenCV 4.6 cannot decode it), an
// input OpenCV might hand to its DICOM decoder ("DICM" at offset 128), or a decoder failure.
//
// `imread_flags` are cv::imdecode's: IMREAD_UNCHANGED (the default, for the digit recipe) or, for
// colour models, IMREAD_COLOR (8-bit BGR, a JPEG's EXIF orientation applied) with
// IMREAD_IGNORE_ORIENTATION when the model's config turns orientation off.
Result<cv::Mat> decodeImage(std::string_view bytes, const RequestLimits& limits,
                            int imread_flags = -1 /* cv::IMREAD_UNCHANGED */);

}  // namespace predictd
