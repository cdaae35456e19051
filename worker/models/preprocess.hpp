// preprocess.hpp — a decoded image of any size, depth and channel count → the 28x28 float
// digit the model expects (MNIST convention: light digit on a dark background, values 0..1).
//
// Owns the preprocessing recipe (see preprocess.cpp for the exact steps). Knows nothing of the
// model or of HTTP.
#pragma once

#include <opencv2/core/mat.hpp>

#include "api/api_error.hpp"

namespace predictd {

inline constexpr int kDigitSide = 28;  // MNIST: 28x28 pixels

// Returns a 28x28 CV_32FC1 Mat in [0,1]. Error: 400 undecodable_image for an empty image, a
// channel count other than 1, 3 or 4, or an unsupported depth (only 8U, 16U, 32F, 64F).
Result<cv::Mat> preprocessDigit(const cv::Mat& image);

}  // namespace predictd
