// Unit tests for decode_plan: the shrink-on-load choice (JPEG only, never more than the consumer
// allows), the imdecode flags for each kind of pixels, and the cost the decode budget adds up.
#include <gtest/gtest.h>

#include <opencv2/imgcodecs.hpp>

#include "codecs/decode_plan.hpp"

namespace predictd {
namespace {

ImageHeader header(const char* format, std::uint32_t w, std::uint32_t h, std::uint32_t channels,
                   std::uint32_t bytes, bool progressive = false) {
    ImageHeader hd{format, w, h};
    hd.channels = channels;
    hd.bytes_per_sample = bytes;
    hd.progressive = progressive;
    return hd;
}

DecodeWants wants(DecodePixels pixels, int max_reduction, bool orientation = false) {
    DecodeWants w;
    w.pixels = pixels;
    w.max_reduction = max_reduction;
    w.apply_orientation = orientation;
    return w;
}

TEST(DecodePlan, AsStoredCostsEverySampleAtItsDepth) {
    const auto plan =
        planDecode(header("png", 4096, 4096, 4, 2), wants(DecodePixels::kAsStored, 8));
    EXPECT_EQ(plan.imread_flags, cv::IMREAD_UNCHANGED);
    EXPECT_EQ(plan.reduction, 1);  // only JPEG has a scaled decoder
    EXPECT_EQ(plan.cost_bytes, 4096ull * 4096 * 4 * 2);
}

TEST(DecodePlan, ColourOutputCostsTheLargerOfFileAndOutput) {
    // A gray PNG decoded to BGR: 3 samples out; a 16-bit RGBA decoded to BGR: 4 × 2 in.
    EXPECT_EQ(planDecode(header("png", 100, 10, 1, 1), wants(DecodePixels::kColor, 1)).cost_bytes,
              3000u);
    const auto deep = planDecode(header("png", 100, 10, 4, 2), wants(DecodePixels::kColor, 1));
    EXPECT_EQ(deep.cost_bytes, 8000u);
    EXPECT_EQ(deep.imread_flags, cv::IMREAD_COLOR | cv::IMREAD_IGNORE_ORIENTATION);
}

TEST(DecodePlan, JpegShrinksOnLoadByTheLargestAllowedPowerOfTwo) {
    const ImageHeader jpeg = header("jpeg", 4000, 3001, 3, 1);
    for (const auto& [allowed, expected] : std::vector<std::pair<int, int>>{
             {1, 1}, {2, 2}, {3, 2}, {4, 4}, {7, 4}, {8, 8}, {64, 8}}) {
        const auto plan = planDecode(jpeg, wants(DecodePixels::kColor, allowed, true));
        EXPECT_EQ(plan.reduction, expected) << allowed;
    }
    const auto plan = planDecode(jpeg, wants(DecodePixels::kColor, 4, true));
    EXPECT_EQ(plan.imread_flags, cv::IMREAD_REDUCED_COLOR_4);  // orientation applied
    EXPECT_EQ(plan.width, 1000u);
    EXPECT_EQ(plan.height, 751u);  // libjpeg rounds up
    EXPECT_EQ(plan.cost_bytes, 1000ull * 751 * 3);
    EXPECT_EQ(planDecode(jpeg, wants(DecodePixels::kGray, 2)).imread_flags,
              cv::IMREAD_REDUCED_GRAYSCALE_2 | cv::IMREAD_IGNORE_ORIENTATION);
}

TEST(DecodePlan, AsStoredJpegShrunkOnLoadComesAsTheReducedPixels) {
    DecodeWants w = wants(DecodePixels::kAsStored, 2);
    w.reduced_pixels = DecodePixels::kGray;
    const auto plan = planDecode(header("jpeg", 3000, 2000, 3, 1), w);
    EXPECT_EQ(plan.imread_flags, cv::IMREAD_REDUCED_GRAYSCALE_2 | cv::IMREAD_IGNORE_ORIENTATION);
    EXPECT_EQ(plan.cost_bytes, 1500ull * 1000 * 3);  // the file's 3 components are still decoded
    // Not reduced: as stored, IMREAD_UNCHANGED.
    EXPECT_EQ(planDecode(header("jpeg", 3000, 2000, 3, 1), wants(DecodePixels::kAsStored, 1))
                  .imread_flags,
              cv::IMREAD_UNCHANGED);
}

TEST(DecodePlan, ProgressiveJpegCostsItsFullSizeEvenWhenShrunk) {
    const auto plan =
        planDecode(header("jpeg", 4096, 4096, 3, 1, true), wants(DecodePixels::kColor, 8));
    EXPECT_EQ(plan.reduction, 8);  // still decoded smaller (half the time)
    EXPECT_EQ(plan.width, 512u);
    EXPECT_EQ(plan.cost_bytes, 4096ull * 4096 * 3);  // but every coefficient is buffered
}

}  // namespace
}  // namespace predictd
