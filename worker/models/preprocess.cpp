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

// Halves `image` (cv::INTER_AREA: each output pixel the mean of a 2×2 block) while both sides
// stay even and at least twice `target` (halving one side only takes OpenCV's slow generic
// path: 560 ms for a 65500×256 strip). OpenCV's area resize has a fast path for an exact
// factor of 2 (4096² → 2048² RGB: 9 ms, against 78 ms for 4096² → 224² in one step), and means
// of 2×2 means are the means a one-step area resize takes whenever the sides divide evenly, so
// the halvings change the result only by rounding (measured: docs/models.md, "Shrink on load").
cv::Mat shrinkByHalves(const cv::Mat& image, cv::Size target) {
    cv::Mat out = image;
    while (out.cols % 2 == 0 && out.rows % 2 == 0 && out.cols >= 2 * target.width &&
           out.rows >= 2 * target.height) {
        cv::Mat half;
        cv::resize(out, half, cv::Size(out.cols / 2, out.rows / 2), 0, 0, cv::INTER_AREA);
        out = half;
    }
    return out;
}

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

// A long side over kMaxSquareSide is shrunk first (cv::INTER_AREA, aspect ratio kept), before
// any conversion, on the decoded pixels as they are: a 1 x 1000000 image (within
// max_image_pixels) would otherwise be padded to 10^12 pixels (found by fuzz_request_handler: a
// 4 GB allocation from a 1 KB JPEG), and a 4096×4096 16-bit RGBA page cost 1.2 s of float
// conversions before it was shrunk (issue 12).
cv::Mat shrinkLongSide(const cv::Mat& image) {
    if (std::max(image.rows, image.cols) <= kMaxSquareSide) {
        return image;
    }
    const double scale = double{kMaxSquareSide} / std::max(image.rows, image.cols);
    const auto shrink = [scale](int n) {
        return std::clamp(static_cast<int>(std::lround(n * scale)), 1, kMaxSquareSide);
    };
    const cv::Size size(shrink(image.cols), shrink(image.rows));
    const cv::Mat halved = shrinkByHalves(image, size);
    if (halved.size() == size) {
        return halved;
    }
    cv::Mat shrunk;
    cv::resize(halved, shrunk, size, 0, 0, cv::INTER_AREA);
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
        // 0. A page larger than kMaxSquareSide is shrunk first, at its own depth and channels:
        //    every step below then runs on at most 1024×1024 pixels, whatever was sent.
        const cv::Mat page = shrinkLongSide(image);

        // 1. Depth → float [0,1].
        cv::Mat floats;
        switch (page.depth()) {
            case CV_8U:
                cv::LUT(page, eightBitToFloat(), floats);
                break;
            case CV_16U:
                page.convertTo(floats, CV_32F, 1.0 / 65535.0);
                break;
            case CV_32F:
            case CV_64F:
                page.convertTo(floats, CV_32F);
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
//   0. Decoding (decode_plan.hpp, decodeWantsFor): an 8-bit JPEG comes straight as BGR (or gray
//      for a gray model), EXIF orientation applied as declared, and shrunk on load: decoded at
//      1/2, 1/4 or 1/8 scale (libjpeg's DCT scaling), the smallest that still leaves both sides
//      at least the size step 3 resizes to, in either orientation. Anything with alpha or 16-bit
//      samples, and every image for a gray model, comes as stored; other 8-bit images as BGR.
//   1. Depth to 8 bits: 16-bit ÷ 257 (rounded), float × 255 (saturated), so every resize below
//      runs on 8-bit pixels (cheaper; photos are 8-bit anyway).
//   2. Alpha composited over white, at full size.
//   3. Resize (interpolation as declared) to the policy's size:
//      stretch     — straight to width × height;
//      center_crop — shorter side to round(side ÷ crop_fraction) keeping the aspect ratio (the
//                    centre width × height is taken in step 5: torchvision's Resize(256) +
//                    CenterCrop(224));
//      letterbox   — fit inside width × height keeping the aspect ratio.
//      An area resize first halves the image (2×2 means, OpenCV's fast path) while both sides
//      are even and at least twice the target, then resizes the rest of the way.
//   4. Colour: gray (BT.601), RGB or BGR as declared; a gray image feeding a 3-channel model is
//      replicated.
//   5. The centre crop, or the letterbox padding (pad_value), to width × height.
//   6. Values: float32 (pixel ÷ divisor − mean[c]) ÷ std[c].
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

// 8-bit BGRA → BGR composited over white (8-bit BGR or gray: unchanged). At full size, before
// any resize: resizing first would blend the colours hidden under transparent pixels into the
// visible edge.
cv::Mat overWhite(const cv::Mat& src) {
    if (src.channels() != 4 || src.depth() != CV_8U) {
        return src;
    }
    // Exact integer arithmetic, one pass: round((c·a + 255·(255 − a)) / 255), the rounded value
    // of c·(a/255) + 255·(1 − a/255) (no ties: 255 is odd). A loop because OpenCV has no
    // "blend over a constant with per-pixel alpha" primitive; its float path took 0.8 s for
    // 4096² (issue 12).
    cv::Mat out(src.size(), CV_8UC3);
    for (int y = 0; y < src.rows; ++y) {
        const uchar* in = src.ptr<uchar>(y);
        uchar* o = out.ptr<uchar>(y);
        for (int x = 0; x < src.cols; ++x, in += 4, o += 3) {
            const unsigned a = in[3];
            const unsigned white = 255u * (255u - a) + 127u;
            o[0] = static_cast<uchar>((in[0] * a + white) / 255u);
            o[1] = static_cast<uchar>((in[1] * a + white) / 255u);
            o[2] = static_cast<uchar>((in[2] * a + white) / 255u);
        }
    }
    return out;
}

// 8-bit, 1 or 3 channels in OpenCV's order (BGR) → the declared colour order.
cv::Mat toColor(const cv::Mat& src, ColorOrder order, int channels) {
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

// The size the policy resizes an image of `src` pixels to, before any crop or padding.
cv::Size policySize(cv::Size src, const InputSpec& in, const PreprocessSpec& p) {
    const int w = in.width;
    const int h = in.height;
    switch (p.resize) {
        case ResizePolicy::kCenterCrop: {
            // Shorter side to side ÷ crop_fraction (aspect kept); the crop takes the centre w × h.
            const double target = std::max(w, h) / p.crop_fraction;
            const double scale = target / std::min(src.width, src.height);
            return {std::max(w, static_cast<int>(std::lround(src.width * scale))),
                    std::max(h, static_cast<int>(std::lround(src.height * scale)))};
        }
        case ResizePolicy::kLetterbox: {
            const double scale =
                std::min(double(w) / src.width, double(h) / src.height);  // fit inside
            return {std::clamp(static_cast<int>(std::lround(src.width * scale)), 1, w),
                    std::clamp(static_cast<int>(std::lround(src.height * scale)), 1, h)};
        }
        case ResizePolicy::kStretch:
        case ResizePolicy::kDigit:
            break;
    }
    return {w, h};
}

// Resizes `src` to the policy's size (any depth or channel count: this runs first, on the
// decoded pixels, so every later step works on the model's input size).
cv::Mat resizeForPolicy(const cv::Mat& src, const InputSpec& in, const PreprocessSpec& p) {
    const cv::Size size = policySize(src.size(), in, p);
    if (size == src.size()) {
        return src;
    }
    // Area resizes start with exact halvings (fast; see shrinkByHalves).
    const cv::Mat start = p.interpolation == Interpolation::kArea ? shrinkByHalves(src, size) : src;
    if (start.size() == size) {
        return start;
    }
    cv::Mat out;
    cv::resize(start, out, size, 0, 0, cvInterpolation(p.interpolation));
    return out;
}

// The resized image placed in the input: the centre crop, or centred on pad_value.
cv::Mat placeInInput(const cv::Mat& resized, const InputSpec& in, const PreprocessSpec& p) {
    const int w = in.width;
    const int h = in.height;
    if (resized.cols == w && resized.rows == h) {
        return resized;
    }
    if (p.resize == ResizePolicy::kLetterbox) {
        cv::Mat out;
        const int left = (w - resized.cols) / 2;
        const int top = (h - resized.rows) / 2;
        cv::copyMakeBorder(resized, out, top, h - resized.rows - top, left, w - resized.cols - left,
                           cv::BORDER_CONSTANT, cv::Scalar::all(p.pad_value));
        return out;
    }
    return resized(cv::Rect((resized.cols - w) / 2, (resized.rows - h) / 2, w, h));
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

DecodeWants decodeWantsFor(const ModelSpec& spec, const ImageHeader& header) {
    const PreprocessSpec& p = spec.preprocess;
    const bool digit = p.resize == ResizePolicy::kDigit;
    const bool gray = p.color == ColorOrder::kGray || spec.input.channels == 1;
    const bool eight_bit_jpeg = header.format == "jpeg" && header.bytes_per_sample == 1;
    const bool alpha_or_deep =
        header.channels == 2 || header.channels == 4 || header.bytes_per_sample > 1;
    DecodeWants wants;
    if (digit) {
        // The digit recipe reads pixels as stored (alpha over white, 16-bit kept) and never
        // applied EXIF orientation; a JPEG shrunk on load comes as gray (JPEG's own luma).
        wants.pixels = DecodePixels::kAsStored;
        wants.reduced_pixels = DecodePixels::kGray;
    } else if (eight_bit_jpeg) {
        // libjpeg decodes straight to what the model takes, rotated as declared, shrunk on load.
        wants.pixels = gray ? DecodePixels::kGray : DecodePixels::kColor;
        wants.reduced_pixels = wants.pixels;
        wants.apply_orientation = p.exif_orientation;
    } else if (alpha_or_deep || gray) {
        // As stored, so preprocessing composites alpha over white and rounds 16 bits to 8 (an
        // 8-bit colour decode would drop alpha and truncate 16-bit samples: found by the
        // correctness contract, tests/integration/test_model_contract.cpp).
        wants.pixels = DecodePixels::kAsStored;
    } else {
        wants.pixels = DecodePixels::kColor;  // 8-bit gray, colour or palette without alpha
    }
    const std::uint32_t width = header.width;
    const std::uint32_t height = header.height;
    if (width == 0 || height == 0) {
        return wants;
    }
    // The smallest decoded size that keeps the result: the digit recipe works on pages of at
    // most kMaxSquareSide on their long side; a declared policy resizes to policySize. A JPEG
    // may be rotated by its EXIF orientation after decoding, so both orientations must fit.
    const auto fits = [&](int r) {
        const auto reduced = [r](std::uint32_t n) {
            return static_cast<int>((std::int64_t{n} + r - 1) / r);
        };
        const int rw = reduced(width);
        const int rh = reduced(height);
        if (p.resize == ResizePolicy::kDigit) {
            return std::max(rw, rh) >= kMaxSquareSide;  // r > 1: the page was over the limit
        }
        const cv::Size need =
            policySize({static_cast<int>(width), static_cast<int>(height)}, spec.input, p);
        const cv::Size turned =
            policySize({static_cast<int>(height), static_cast<int>(width)}, spec.input, p);
        return rw >= need.width && rh >= need.height &&
               (!wants.apply_orientation || (rh >= turned.width && rw >= turned.height));
    };
    for (int r = 8; r > 1; r /= 2) {
        if (fits(r)) {
            wants.max_reduction = r;
            break;
        }
    }
    return wants;
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
        cv::Mat d = placeInInput(resizeForPolicy(digit.value(), in, p), in, p);
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
        // Depth and alpha first (one cheap pass each), then the resize on 8-bit pixels, then
        // colour on the model's input size.
        const cv::Mat sized = resizeForPolicy(overWhite(toEightBit(image)), in, p);
        const cv::Mat colored = toColor(sized, p.color, in.channels);
        return normalise(placeInInput(colored, in, p), p, 1.0);
    } catch (const cv::Exception& e) {
        return unusable(std::string("could not preprocess image: ") + e.err);
    } catch (const std::exception& e) {
        return unusable(std::string("could not preprocess image: ") + e.what());
    }
}

}  // namespace predictd
