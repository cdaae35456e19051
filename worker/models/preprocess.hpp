// preprocess.hpp — a decoded image of any size, depth and channel count → the float input one
// model declares (model_spec.hpp: colour order, resize policy, value transform), and the MNIST
// digit recipe (light digit on a dark background, 28x28, values 0..1) as one of those policies.
//
// Owns the preprocessing recipes (see preprocess.cpp for the exact steps). Knows nothing of
// engines, tensors' layout or HTTP.
#pragma once

#include <cstdint>

#include <opencv2/core/mat.hpp>

#include "api/api_error.hpp"
#include "codecs/decode_plan.hpp"
#include "codecs/image_header.hpp"
#include "models/model_spec.hpp"

namespace predictd {

inline constexpr int kDigitSide = 28;  // MNIST: 28x28 pixels

// Returns a 28x28 CV_32FC1 Mat in [0,1]. Error: 400 undecodable_image for an empty image, a
// channel count other than 1, 3 or 4, or an unsupported depth (only 8U, 16U, 32F, 64F).
Result<cv::Mat> preprocessDigit(const cv::Mat& image);

// The model's input for one decoded image: CV_32FC1 or CV_32FC3 (channels in the model's colour
// order), input.height × input.width, values (pixel ÷ divisor − mean) ÷ std. The resize policy
// "digit" is preprocessDigit (resized further if the input is not 28×28). Error: 400
// undecodable_image as preprocessDigit.
Result<cv::Mat> preprocessImage(const cv::Mat& image, const ModelSpec& spec);

// What this model's preprocessing wants from the decoder for an image with this header
// (decode_plan.hpp): 8-bit JPEGs straight to the model's colour or gray, EXIF orientation as
// declared; images with alpha or 16-bit samples, gray models' inputs and the digit recipe's as
// stored (preprocessing composites alpha and rounds depth itself); other 8-bit images to BGR.
// And how much smaller a JPEG may be decoded (shrink on load) so that the first resize still
// starts from at least its output size.
DecodeWants decodeWantsFor(const ModelSpec& spec, const ImageHeader& header);

}  // namespace predictd
