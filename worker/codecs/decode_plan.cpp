// decode_plan.cpp — the shrink-on-load choice and the decode cost model.
#include "codecs/decode_plan.hpp"

#include <algorithm>

#include <opencv2/imgcodecs.hpp>

namespace predictd {
namespace {

std::uint64_t ceilDiv(std::uint64_t n, int d) {
    return (n + static_cast<std::uint64_t>(d) - 1) / static_cast<std::uint64_t>(d);
}

int reducedFlags(DecodePixels pixels, int reduction) {
    const bool gray = pixels == DecodePixels::kGray;
    switch (reduction) {
        case 2:
            return gray ? cv::IMREAD_REDUCED_GRAYSCALE_2 : cv::IMREAD_REDUCED_COLOR_2;
        case 4:
            return gray ? cv::IMREAD_REDUCED_GRAYSCALE_4 : cv::IMREAD_REDUCED_COLOR_4;
        case 8:
            return gray ? cv::IMREAD_REDUCED_GRAYSCALE_8 : cv::IMREAD_REDUCED_COLOR_8;
        default:
            return gray ? cv::IMREAD_GRAYSCALE : cv::IMREAD_COLOR;
    }
}

}  // namespace

DecodePlan planDecode(const ImageHeader& header, const DecodeWants& wants) {
    DecodePlan plan;
    if (header.format == "jpeg") {
        for (int r = 8; r > 1; r /= 2) {
            if (r <= wants.max_reduction) {
                plan.reduction = r;
                break;
            }
        }
    }
    DecodePixels pixels = wants.pixels;
    if (plan.reduction > 1 && pixels == DecodePixels::kAsStored) {
        pixels = wants.reduced_pixels;
    }
    if (pixels == DecodePixels::kAsStored) {
        plan.imread_flags = cv::IMREAD_UNCHANGED;  // never applies EXIF orientation
    } else {
        plan.imread_flags = reducedFlags(pixels, plan.reduction);
        if (!wants.apply_orientation) {
            plan.imread_flags |= cv::IMREAD_IGNORE_ORIENTATION;
        }
    }
    plan.width = ceilDiv(header.width, plan.reduction);
    plan.height = ceilDiv(header.height, plan.reduction);
    const std::uint64_t out_channels = pixels == DecodePixels::kAsStored ? header.channels
                                       : pixels == DecodePixels::kColor  ? 3
                                                                         : 1;
    const std::uint64_t out_bytes = pixels == DecodePixels::kAsStored ? header.bytes_per_sample : 1;
    // A progressive JPEG's coefficients are decoded and buffered at full size (measured: a
    // 4096² one that decodes to 1024² still took half its full-size time), so it costs that.
    const std::uint64_t cost_pixels =
        header.progressive ? std::uint64_t{header.width} * header.height : plan.width * plan.height;
    plan.cost_bytes = cost_pixels * std::max<std::uint64_t>(header.channels, out_channels) *
                      std::max<std::uint64_t>(header.bytes_per_sample, out_bytes);
    return plan;
}

}  // namespace predictd
