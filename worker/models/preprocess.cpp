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
#include <opencv2/imgcodecs.hpp>
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

// ---- Declared preprocessing (model_spec.hpp) -----------------------------------------------
//
//   1. Depth to 8 bits: 16-bit ÷ 257 (rounded), float × 255 (saturated), so every resize below
//      runs on 8-bit pixels (cheaper; photos are 8-bit anyway).
//   2. Channels: alpha composited over white; then gray (BT.601), RGB or BGR as declared; a
//      gray image feeding a 3-channel model is replicated.
//   3. Resize (interpolation as declared):
//      stretch     — straight to width × height;
//      center_crop — shorter side to round(side ÷ crop_fraction) keeping the aspect ratio, then
//                    the centre width × height (torchvision's Resize(256) + CenterCrop(224));
//      letterbox   — fit inside width × height keeping the aspect ratio, centred, the rest
//                    filled with pad_value.
//   4. Values: float32 (pixel ÷ divisor − mean[c]) ÷ std[c].
namespace predictd {
namespace {

int cvInterpolation(Interpolation i) {
    switch (i) {
        case Interpolation::kLinear:
            return cv::INTER_LINEAR;
        case Interpolation::kCubic:
            return cv::INTER_CUBIC;
        case Interpolation::kArea:
            break;
    }
    return cv::INTER_AREA;
}

cv::Mat toEightBit(const cv::Mat& image) {
    cv::Mat out;
    switch (image.depth()) {
        case CV_8U:
            return image;
        case CV_16U:
            image.convertTo(out, CV_8U, 1.0 / 257.0);
            return out;
        default: {
            cv::Mat f;
            image.convertTo(f, CV_32F);
            cv::patchNaNs(f, 0.0);
            f.convertTo(out, CV_8U, 255.0);
            return out;
        }
    }
}

// 8-bit, 1/3/4 channels in OpenCV's order (BGR[A]) → the declared colour order.
cv::Mat toColor(const cv::Mat& bgr, ColorOrder order, int channels) {
    cv::Mat src = bgr;
    if (src.channels() == 4) {  // composite over white
        cv::Mat bgrPart;
        cv::Mat alpha;
        cv::cvtColor(src, bgrPart, cv::COLOR_BGRA2BGR);
        cv::extractChannel(src, alpha, 3);
        cv::Mat alpha3;
        cv::cvtColor(alpha, alpha3, cv::COLOR_GRAY2BGR);
        cv::Mat a;
        alpha3.convertTo(a, CV_32F, 1.0 / 255.0);
        cv::Mat c;
        bgrPart.convertTo(c, CV_32F);
        cv::Mat white(c.size(), CV_32FC3, cv::Scalar::all(255.0));
        cv::Mat mixed = c.mul(a) + white.mul(cv::Scalar::all(1.0) - a);
        mixed.convertTo(src, CV_8U);
    }
    cv::Mat out;
    if (order == ColorOrder::kGray || channels == 1) {
        if (src.channels() == 3) {
            cv::cvtColor(src, out, cv::COLOR_BGR2GRAY);
        } else {
            out = src;
        }
        if (channels == 3) {
            cv::cvtColor(out, out, cv::COLOR_GRAY2BGR);
        }
        return out;
    }
    if (src.channels() == 1) {
        cv::cvtColor(src, out, cv::COLOR_GRAY2BGR);  // replicated: the order does not matter
        return out;
    }
    if (order == ColorOrder::kRGB) {
        cv::cvtColor(src, out, cv::COLOR_BGR2RGB);
        return out;
    }
    return src;
}

cv::Mat resizeTo(const cv::Mat& src, const InputSpec& in, const PreprocessSpec& p) {
    const int w = in.width;
    const int h = in.height;
    const int interp = cvInterpolation(p.interpolation);
    cv::Mat out;
    switch (p.resize) {
        case ResizePolicy::kCenterCrop: {
            // Shorter side to side ÷ crop_fraction, then the centre w × h.
            const double target = std::max(w, h) / p.crop_fraction;
            const double scale = target / std::min(src.cols, src.rows);
            const int rw = std::max(w, static_cast<int>(std::lround(src.cols * scale)));
            const int rh = std::max(h, static_cast<int>(std::lround(src.rows * scale)));
            cv::Mat resized;
            if (rw == src.cols && rh == src.rows) {
                resized = src;
            } else {
                cv::resize(src, resized, cv::Size(rw, rh), 0, 0, interp);
            }
            const int x = (rw - w) / 2;
            const int y = (rh - h) / 2;
            return resized(cv::Rect(x, y, w, h));
        }
        case ResizePolicy::kLetterbox: {
            const double scale = std::min(double(w) / src.cols, double(h) / src.rows);
            const int rw = std::clamp(static_cast<int>(std::lround(src.cols * scale)), 1, w);
            const int rh = std::clamp(static_cast<int>(std::lround(src.rows * scale)), 1, h);
            cv::Mat resized;
            cv::resize(src, resized, cv::Size(rw, rh), 0, 0, interp);
            const int left = (w - rw) / 2;
            const int top = (h - rh) / 2;
            cv::copyMakeBorder(resized, out, top, h - rh - top, left, w - rw - left,
                               cv::BORDER_CONSTANT, cv::Scalar::all(p.pad_value));
            return out;
        }
        case ResizePolicy::kStretch:
        case ResizePolicy::kDigit:
            break;
    }
    if (src.cols == w && src.rows == h) {
        return src;
    }
    cv::resize(src, out, cv::Size(w, h), 0, 0, interp);
    return out;
}

// float32 (v ÷ divisor − mean[c]) ÷ std[c] in one pass: convertTo then per-channel affine.
cv::Mat normalise(const cv::Mat& src, const PreprocessSpec& p, double input_scale) {
    cv::Mat out;
    const int channels = src.channels();
    if (channels == 1) {
        src.convertTo(out, CV_32F, input_scale / p.divisor / p.std[0], -p.mean[0] / p.std[0]);
        return out;
    }
    src.convertTo(out, CV_32F);
    const cv::Scalar mul(input_scale / p.divisor / p.std[0], input_scale / p.divisor / p.std[1],
                         input_scale / p.divisor / p.std[2]);
    const cv::Scalar add(-p.mean[0] / p.std[0], -p.mean[1] / p.std[1], -p.mean[2] / p.std[2]);
    cv::multiply(out, mul, out);
    cv::add(out, add, out);
    return out;
}

}  // namespace

int imreadFlagsFor(const PreprocessSpec& spec) {
    if (spec.resize == ResizePolicy::kDigit || spec.color == ColorOrder::kGray) {
        return cv::IMREAD_UNCHANGED;
    }
    return spec.exif_orientation ? cv::IMREAD_COLOR
                                 : (cv::IMREAD_COLOR | cv::IMREAD_IGNORE_ORIENTATION);
}

Result<cv::Mat> preprocessImage(const cv::Mat& image, const ModelSpec& spec) {
    const InputSpec& in = spec.input;
    const PreprocessSpec& p = spec.preprocess;
    if (p.resize == ResizePolicy::kDigit) {
        auto digit = preprocessDigit(image);
        if (!digit.ok() || (in.width == kDigitSide && in.height == kDigitSide && p.mean[0] == 0.0 &&
                            p.std[0] == 1.0 && in.channels == 1)) {
            return digit;  // the MNIST contract as is: [0,1], 28×28
        }
        cv::Mat d = resizeTo(digit.value(), in, p);
        if (in.channels == 3) {
            cv::cvtColor(d, d, cv::COLOR_GRAY2BGR);
        }
        return normalise(d, p, p.divisor);  // digit values are in [0,1]: undo the ÷ divisor
    }
    try {
        if (image.empty() || image.dims != 2) {
            return unusable("image has no pixels");
        }
        const int channels = image.channels();
        if (channels != 1 && channels != 3 && channels != 4) {
            return unusable("unsupported image with " + std::to_string(channels) + " channels");
        }
        const cv::Mat eight = toEightBit(image);
        const cv::Mat colored = toColor(eight, p.color, in.channels);
        const cv::Mat sized = resizeTo(colored, in, p);
        return normalise(sized, p, 1.0);
    } catch (const cv::Exception& e) {
        return unusable(std::string("could not preprocess image: ") + e.err);
    } catch (const std::exception& e) {
        return unusable(std::string("could not preprocess image: ") + e.what());
    }
}

}  // namespace predictd
