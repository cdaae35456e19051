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
//   4. An image already 28x28 is taken as an MNIST digit and passes through unchanged (only
//      scaled to [0,1]). Anything else is a page, first shrunk so its long side is at most
//      kMaxSquareSide (cv::INTER_AREA, aspect kept; see shrinkLongSide).
//   5. The page's background — a plane fitted to its outer ring, so grey paper and light
//      falling off across a photographed page are part of it — is subtracted; the ink is what
//      stands clearly above it (over 40 % of the strongest), contrast-stretched to [0,1].
//   6. MNIST's own recipe: the ink's bounding box is scaled so its long side is 20 px (aspect
//      kept) and placed in 28x28 with its centre of mass at the centre. A page without ink
//      (nothing stands 0.15 above the background) is padded to a square with the background
//      value and resized whole, as before.
//   Measured (tests/unit/test_digit_pages.cpp, 1 000 held-out digits): a digit ~60 px tall at a
//   random place on a 240x240 white page 98.9 % right (17.6 % with the former whole-page
//   resize), the same page photographed (grey paper, uneven light, noise, JPEG) 98.9 %
//   (10.3 %), tight crops scaled ×4 98.9 %.
#include "models/preprocess.hpp"

#include <algorithm>
#include <cmath>
#include <exception>
#include <optional>
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

// A long side over kMaxSquareSide is shrunk first (cv::INTER_AREA, aspect ratio kept): a
// 1 x 1000000 image (within max_image_pixels) would otherwise be padded to 10^12 pixels (found
// by fuzz_request_handler: a 4 GB allocation from a 1 KB JPEG), and every step below is
// cheaper on a bounded image.
cv::Mat shrinkLongSide(const cv::Mat& gray) {
    if (std::max(gray.rows, gray.cols) <= kMaxSquareSide) {
        return gray;
    }
    const double scale = double{kMaxSquareSide} / std::max(gray.rows, gray.cols);
    const auto shrink = [scale](int n) {
        return std::clamp(static_cast<int>(std::lround(n * scale)), 1, kMaxSquareSide);
    };
    cv::Mat shrunk;
    cv::resize(gray, shrunk, cv::Size(shrink(gray.cols), shrink(gray.rows)), 0, 0, cv::INTER_AREA);
    return shrunk;
}

// Clamps to [0,1]: area weights sum to 1 only up to float rounding (a white area can come out
// as 1.0000001, found by fuzz_image_decode).
void clampUnit(cv::Mat& m) {
    cv::min(m, cv::Scalar::all(1.0), m);
    cv::max(m, cv::Scalar::all(0.0), m);
}

// The page as a whole when no ink stands out: padded to a square with the background value
// (the digit stays centred, aspect kept), resized to 28×28.
cv::Mat padAndResize(const cv::Mat& gray, double background) {
    cv::Mat square = gray;
    if (gray.rows != gray.cols) {
        const int side = std::max(gray.rows, gray.cols);
        const int top = (side - gray.rows) / 2;
        const int left = (side - gray.cols) / 2;
        cv::copyMakeBorder(gray, square, top, side - gray.rows - top, left, side - gray.cols - left,
                           cv::BORDER_CONSTANT, cv::Scalar::all(background));
    }
    cv::Mat resized;
    cv::resize(square, resized, cv::Size(kDigitSide, kDigitSide), 0, 0, cv::INTER_AREA);
    clampUnit(resized);
    return resized;
}

// The background of a page as light falls on it: a plane a + b·x + c·y fitted (least squares)
// to the page's outer ring, where a digit rarely reaches. Grey paper and light falling off
// across the page then subtract away, and strokes of any thickness are kept (an opening would
// take a thick stroke for background).
cv::Mat backgroundOf(const cv::Mat& gray) {
    if (std::min(gray.rows, gray.cols) < 8) {  // too small to fit a plane: its mean
        return cv::Mat(gray.size(), CV_32F, cv::Scalar(borderMean(gray)));
    }
    const int ring = std::max(1, std::min(gray.rows, gray.cols) / 32);
    std::vector<float> rows;
    std::vector<float> values;
    for (int y = 0; y < gray.rows; ++y) {
        const bool edge_row = y < ring || y >= gray.rows - ring;
        const auto* p = gray.ptr<float>(y);
        for (int x = 0; x < gray.cols; ++x) {
            if (edge_row || x < ring || x >= gray.cols - ring) {
                rows.insert(rows.end(), {1.0f, static_cast<float>(x), static_cast<float>(y)});
                values.push_back(p[x]);
            }
        }
    }
    const cv::Mat a(static_cast<int>(values.size()), 3, CV_32F, rows.data());
    const cv::Mat v(static_cast<int>(values.size()), 1, CV_32F, values.data());
    cv::Mat coef;
    if (!cv::solve(a, v, coef, cv::DECOMP_SVD)) {
        return cv::Mat(gray.size(), CV_32F, cv::Scalar(cv::mean(v)[0]));
    }
    cv::Mat back(gray.size(), CV_32F);
    const float c0 = coef.at<float>(0);
    const float cx = coef.at<float>(1);
    const float cy = coef.at<float>(2);
    for (int y = 0; y < back.rows; ++y) {
        auto* p = back.ptr<float>(y);
        for (int x = 0; x < back.cols; ++x) {
            p[x] = c0 + cx * static_cast<float>(x) + cy * static_cast<float>(y);
        }
    }
    return back;
}

// MNIST's own recipe for a digit on a page (LeCun et al.): the ink's bounding box, scaled so
// its long side is 20 px (aspect kept), placed in 28×28 so that its centre of mass is the
// centre. Here the ink is what stands clearly above the page's own background (backgroundOf),
// contrast-stretched to [0,1]. nullopt when nothing stands out (a blank or flat page).
std::optional<cv::Mat> digitFromPage(const cv::Mat& gray) {
    constexpr int kInkBox = 20;
    constexpr double kMinContrast = 0.15;  // below this, no ink: keep the old whole-page path
    cv::Mat ink = gray - backgroundOf(gray);
    cv::max(ink, cv::Scalar::all(0.0), ink);
    double lo = 0;
    double contrast = 0;
    cv::minMaxLoc(ink, &lo, &contrast);
    if (contrast < kMinContrast) {
        return std::nullopt;
    }
    cv::Mat mask = ink > 0.4 * contrast;
    const cv::Rect box = cv::boundingRect(mask);
    if (box.empty()) {
        return std::nullopt;
    }
    // Stretch: the strongest ink is 1, faint residue (noise, JPEG ringing) is 0.
    cv::Mat crop;
    ink(box).convertTo(crop, CV_32F, 1.0 / contrast);
    cv::subtract(crop, cv::Scalar::all(0.15), crop);
    crop.convertTo(crop, CV_32F, 1.0 / 0.85);
    clampUnit(crop);
    const double fit = double{kInkBox} / std::max(box.width, box.height);
    const int w = std::clamp(static_cast<int>(std::lround(box.width * fit)), 1, kInkBox);
    const int h = std::clamp(static_cast<int>(std::lround(box.height * fit)), 1, kInkBox);
    cv::Mat scaled;
    cv::resize(crop, scaled, cv::Size(w, h), 0, 0, fit < 1.0 ? cv::INTER_AREA : cv::INTER_LINEAR);
    clampUnit(scaled);
    const cv::Moments m = cv::moments(scaled);
    const double cx = m.m00 > 0 ? m.m10 / m.m00 : w / 2.0;
    const double cy = m.m00 > 0 ? m.m01 / m.m00 : h / 2.0;
    const int x =
        std::clamp(static_cast<int>(std::lround(kDigitSide / 2.0 - cx)), 0, kDigitSide - w);
    const int y =
        std::clamp(static_cast<int>(std::lround(kDigitSide / 2.0 - cy)), 0, kDigitSide - h);
    cv::Mat digit(kDigitSide, kDigitSide, CV_32FC1, cv::Scalar(0));
    scaled.copyTo(digit(cv::Rect(x, y, w, h)));
    return digit;
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

        // 4–6. A page (anything but 28×28): the digit recipe MNIST itself was made with.
        if (gray.rows != kDigitSide || gray.cols != kDigitSide) {
            gray = shrinkLongSide(gray);
            if (auto digit = digitFromPage(gray)) {
                gray = *digit;
            } else {
                gray = padAndResize(gray, background);  // no ink found: the page as a whole
            }
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
