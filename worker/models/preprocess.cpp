// preprocess.cpp — the preprocessing recipe, step by step:
//
//   1. Depth to float in [0,1]: 8-bit / 255 (exactly float(v) / 255.0f), 16-bit / 65535, float kept
//   (NaN -> 0, clamped
//      to [0,1]).
//   2. Channels to gray: 4 channels (BGRA) are composited over white using alpha
//      (gray * a + 1 * (1 - a)); 3 channels (BGR) are converted with the ITU-R BT.601 weights
//      (cv::COLOR_BGR2GRAY); 1 channel is kept as is.
//   3. Polarity: the background is the mean of the outermost ring of pixels (first and last
//      row and column). If it is light (> 0.5), the image is inverted (v -> 1 - v) so the
//      digit is light on dark, as in MNIST.
//   4. Square: a non-square image is padded on both sides of its short dimension to a square,
//      with the background value (the ring mean after step 3), so the digit stays centred and
//      keeps its aspect ratio. The square is at most kMaxSquareSide on a side: a longer
//      non-square image is first shrunk (cv::INTER_AREA, aspect ratio kept) so its long side is
//      kMaxSquareSide. Without that, a 1 x 1000000 image (a million pixels, within
//      max_image_pixels) would be padded to 10^12 pixels (found by fuzz_request_handler: a
//      4 GB allocation from a 1 KB JPEG).
//   5. Size: resized to 28x28 with cv::INTER_AREA (and clamped to [0,1] against float
//      rounding); an image already 28x28 is not resampled, so an MNIST image passes through
//      unchanged (only scaled to [0,1]).
#include "models/preprocess.hpp"

#include <algorithm>
#include <cmath>
#include <exception>
#include <string>

#include <opencv2/core.hpp>
#include <opencv2/imgproc.hpp>

namespace predictd {
namespace {

// Longest side of the padded square of step 4 (4 MB of floats).
constexpr int kMaxSquareSide = 1024;

ApiError unusable(std::string message) {
    return ApiError{400, "undecodable_image", std::move(message)};
}

// float(v) / 255.0f for every 8-bit value: exactly what the model was trained and validated
// on (tests/data/README.md). convertTo(scale 1/255) multiplies instead and can differ by 1 ulp.
const cv::Mat& eightBitToFloat() {
    static const cv::Mat table = [] {
        cv::Mat t(1, 256, CV_32FC1);
        for (int v = 0; v < 256; ++v) {
            t.at<float>(0, v) = static_cast<float>(v) / 255.0f;
        }
        return t;
    }();
    return table;
}

// Mean of the outermost ring of pixels of a non-empty CV_32FC1 image.
double borderMean(const cv::Mat& gray) {
    const int rows = gray.rows;
    const int cols = gray.cols;
    if (rows <= 2 || cols <= 2) {
        return cv::mean(gray)[0];  // every pixel is on the border
    }
    double sum = cv::sum(gray.row(0))[0] + cv::sum(gray.row(rows - 1))[0];
    const cv::Range inner(1, rows - 1);
    sum += cv::sum(gray(inner, cv::Range(0, 1)))[0];
    sum += cv::sum(gray(inner, cv::Range(cols - 1, cols)))[0];
    const double count = 2.0 * cols + 2.0 * (rows - 2);
    return sum / count;
}

cv::Mat toGray(const cv::Mat& floats) {
    cv::Mat gray;
    switch (floats.channels()) {
        case 1:
            gray = floats;
            break;
        case 3:
            cv::cvtColor(floats, gray, cv::COLOR_BGR2GRAY);
            break;
        case 4: {
            // The gray weights sum to 1, so compositing then converting equals converting then
            // compositing: gray(c*a + (1-a)) = gray(c)*a + (1-a).
            cv::Mat alpha;
            cv::extractChannel(floats, alpha, 3);
            cv::cvtColor(floats, gray, cv::COLOR_BGRA2GRAY);
            cv::Mat whiteShare;
            cv::subtract(cv::Scalar::all(1.0), alpha, whiteShare);
            gray = gray.mul(alpha) + whiteShare;
            break;
        }
        default:
            break;
    }
    return gray;
}

}  // namespace

Result<cv::Mat> preprocessDigit(const cv::Mat& image) {
    try {
        if (image.empty() || image.rows <= 0 || image.cols <= 0 || image.dims != 2) {
            return unusable("image has no pixels");
        }
        const int channels = image.channels();
        if (channels != 1 && channels != 3 && channels != 4) {
            return unusable("unsupported image with " + std::to_string(channels) + " channels");
        }
        // 1. Depth → float [0,1].
        cv::Mat floats;
        switch (image.depth()) {
            case CV_8U:
                cv::LUT(image, eightBitToFloat(), floats);
                break;
            case CV_16U:
                image.convertTo(floats, CV_32F, 1.0 / 65535.0);
                break;
            case CV_32F:
            case CV_64F:
                image.convertTo(floats, CV_32F);
                cv::patchNaNs(floats, 0.0);
                cv::min(floats, cv::Scalar::all(1.0), floats);
                cv::max(floats, cv::Scalar::all(0.0), floats);
                break;
            default:
                return unusable("unsupported pixel depth (only 8-bit, 16-bit and float)");
        }

        // 2. Channels → gray.
        cv::Mat gray = toGray(floats);

        // 3. Polarity from the border.
        double background = borderMean(gray);
        if (background > 0.5) {
            cv::subtract(cv::Scalar::all(1.0), gray, gray);
            background = 1.0 - background;
        }

        // 4. Pad to a square with the background value (shrinking a long image first).
        if (gray.rows != gray.cols && std::max(gray.rows, gray.cols) > kMaxSquareSide) {
            const double scale = double{kMaxSquareSide} / std::max(gray.rows, gray.cols);
            const auto shrink = [scale](int n) {
                return std::clamp(static_cast<int>(std::lround(n * scale)), 1, kMaxSquareSide);
            };
            cv::Mat shrunk;
            cv::resize(gray, shrunk, cv::Size(shrink(gray.cols), shrink(gray.rows)), 0, 0,
                       cv::INTER_AREA);
            gray = shrunk;
        }
        if (gray.rows != gray.cols) {
            const int side = std::max(gray.rows, gray.cols);
            const int top = (side - gray.rows) / 2;
            const int left = (side - gray.cols) / 2;
            cv::Mat square;
            cv::copyMakeBorder(gray, square, top, side - gray.rows - top, left,
                               side - gray.cols - left, cv::BORDER_CONSTANT,
                               cv::Scalar::all(background));
            gray = square;
        }

        // 5. Resize to 28x28 (pass-through when already that size).
        if (gray.rows != kDigitSide || gray.cols != kDigitSide) {
            cv::Mat resized;
            cv::resize(gray, resized, cv::Size(kDigitSide, kDigitSide), 0, 0, cv::INTER_AREA);
            // Area weights sum to 1 only up to float rounding: a white area can come out as
            // 1.0000001 (found by fuzz_image_decode). Keep the contract: [0,1].
            cv::min(resized, cv::Scalar::all(1.0), resized);
            cv::max(resized, cv::Scalar::all(0.0), resized);
            gray = resized;
        }
        // Own the pixels and make them contiguous (the input may have been a view).
        if (!gray.isContinuous() || gray.data == image.data) {
            gray = gray.clone();
        }
        return gray;
    } catch (const cv::Exception& e) {
        return unusable(std::string("could not preprocess image: ") + e.err);
    } catch (const std::exception& e) {
        return unusable(std::string("could not preprocess image: ") + e.what());
    }
}

}  // namespace predictd
