// model_self_check.cpp — does a freshly loaded model still recognise a digit everyone knows?
//
// The digit is held-out MNIST digit tests/data/samples/digit-7.png, embedded so the check needs
// no file at run time. A model that loads but answers garbage (wrong file, wrong export) fails
// here, at boot, instead of on users' requests.
#include "models/model_self_check.hpp"

#include <array>
#include <cstdint>

#include "models/digit_model.hpp"

namespace predictd {
namespace {

constexpr int kKnownLabel = 7;
constexpr float kMinConfidence = 0.5f;

// clang-format off
constexpr std::array<std::uint8_t, 784> kKnownDigit = {
      0,   0,   0,   0,   0,   0,   0,   0,   0,   0,   0,   0,   0,   0,   0,   0,   0,   0,   0,   0,   0,   0,   0,   0,   0,   0,   0,   0,
      0,   0,   0,   0,   0,   0,   0,   0,   0,   0,   0,   0,   0,   0,   0,   0,   0,   0,   0,   0,   0,   0,   0,   0,   0,   0,   0,   0,
      0,   0,   0,   0,   0,   0,   0,   0,   0,   0,   0,   0,   0,   0,   0,   0,   0,   0,   0,   0,   0,   0,   0,   0,   0,   0,   0,   0,
      0,   0,   0,   0,   0,   0,   0,   0,   0,   0,   0,   0,   0,   0,   0,   0,   0,   0,   0,   0,   0,   0,   0,   0,   0,   0,   0,   0,
      0,   0,   0,   0,   0,   0,   0,   0,   0,   0,   0,   0,   0,   0,   0,   0,   0,   0,   0,   0,   0,   0,   0,   0,   0,   0,   0,   0,
      0,   0,   0,   0,   0,   0,   0,   0,   0,   0,   0,   0,   0,   0,   0,   0,   0,   0,   0,   0,   0,   0,   0,   0,   0,   0,   0,   0,
      0,   0,   0,   0,   0,   0,   0,   0,   0,   0,   0,   0,   0,   0,   0,   0,   0,   0,   0,   0,   0,   0,   0,   0,   0,   0,   0,   0,
      0,   0,   0,   0,   0,   0,   0,   0,   0,   0,   0,   0,   0,   0,   0,   0,   0,   0,   0,   3,   7,   7,   4,   0,   0,   0,   0,   0,
      0,   0,   0,   0,   0,   0,   0,   0,   0,   0,   0,   0,   0,   0,   0,   4,  13, 120, 137, 186, 254, 254, 136,   0,   0,   0,   0,   0,
      0,   0,   0,   0,   0,   0,   0,   0,   0,   0,   0,   0,   5,  53, 143, 179, 254, 254, 254, 255, 254, 254, 193,   0,   0,   0,   0,   0,
      0,   0,   0,   0,   0,   0,   0,   0,   4,  25,  50, 149, 175, 254, 254, 254, 254, 254, 254, 255, 254, 254, 108,   0,   0,   0,   0,   0,
      0,   0,   0,   0,   0,   0,   0,  96, 170, 254, 254, 254, 254, 254, 245, 183,  99,  99, 147, 252, 254, 196,   3,   0,   0,   0,   0,   0,
      0,   0,   0,   4, 145, 162, 162, 219, 254, 254, 254, 246, 186,  93,  66,   0,   0,   0, 125, 246, 254, 119,   2,   0,   0,   0,   0,   0,
      0,   0,   0,  87, 215, 254, 254, 254, 254, 204,  87,  68,   0,   0,   0,   0,   0,  46, 197, 254, 180,  47,   0,   0,   0,   0,   0,   0,
      0,   0,   0, 168, 254, 156,  80,  80,  80,  28,   0,   0,   0,   0,   0,   0,   0, 126, 245, 255,  57,   0,   0,   0,   0,   0,   0,   0,
      0,   0,   0,   2,  74,  33,   0,   0,   0,   0,   0,   0,   0,   0,   0,   0,  43, 200, 254,  91,   6,   0,   0,   0,   0,   0,   0,   0,
      0,   0,   0,   0,   0,   0,   0,   0,   0,   0,   0,   0,   0,   0,   0,   0, 156, 245, 205,  13,   0,   0,   0,   0,   0,   0,   0,   0,
      0,   0,   0,   0,   0,   0,   0,   0,   0,   0,   0,   0,   0,   0,   0, 124, 244, 254,  85,   6,   0,   0,   0,   0,   0,   0,   0,   0,
      0,   0,   0,   0,   0,   0,   0,   0,   0,   0,   0,   0,   0,   0,  59, 217, 254, 121,   7,   0,   0,   0,   0,   0,   0,   0,   0,   0,
      0,   0,   0,   0,   0,   0,   0,   0,   0,   0,   0,   0,   0,   0, 176, 254, 254,  61,   0,   0,   0,   0,   0,   0,   0,   0,   0,   0,
      0,   0,   0,   0,   0,   0,   0,   0,   0,   0,   0,   0,   0, 161, 245, 215,  58,   7,   0,   0,   0,   0,   0,   0,   0,   0,   0,   0,
      0,   0,   0,   0,   0,   0,   0,   0,   0,   0,   0,   0,  54, 246, 254, 185,   7,   0,   0,   0,   0,   0,   0,   0,   0,   0,   0,   0,
      0,   0,   0,   0,   0,   0,   0,   0,   0,   0,   0,   0, 124, 254, 254,  64,   0,   0,   0,   0,   0,   0,   0,   0,   0,   0,   0,   0,
      0,   0,   0,   0,   0,   0,   0,   0,   0,   0,   0,  52, 237, 254, 126,   5,   0,   0,   0,   0,   0,   0,   0,   0,   0,   0,   0,   0,
      0,   0,   0,   0,   0,   0,   0,   0,   0,   0,   0, 118, 254, 254, 119,   0,   0,   0,   0,   0,   0,   0,   0,   0,   0,   0,   0,   0,
      0,   0,   0,   0,   0,   0,   0,   0,   0,   0,   0, 118, 254, 254,  61,   0,   0,   0,   0,   0,   0,   0,   0,   0,   0,   0,   0,   0,
      0,   0,   0,   0,   0,   0,   0,   0,   0,   0,   0,   2,   6,   6,   2,   0,   0,   0,   0,   0,   0,   0,   0,   0,   0,   0,   0,   0,
      0,   0,   0,   0,   0,   0,   0,   0,   0,   0,   0,   0,   0,   0,   0,   0,   0,   0,   0,   0,   0,   0,   0,   0,   0,   0,   0,   0,
};
// clang-format on

}  // namespace

std::optional<std::string> selfCheckModel(DigitModel& model) {
    cv::Mat digit(28, 28, CV_32FC1);
    for (int i = 0; i < 784; ++i) {
        digit.at<float>(i / 28, i % 28) =
            static_cast<float>(kKnownDigit[static_cast<std::size_t>(i)]) / 255.0f;
    }
    Result<std::vector<Prediction>> out = model.predict({digit});
    if (!out) {
        return "self-check failed: " + out.error().message;
    }
    const Prediction& p = out.value().at(0);
    if (p.label != kKnownLabel || p.confidence < kMinConfidence) {
        return "self-check failed: the model says " + std::to_string(p.label) + " (confidence " +
               std::to_string(p.confidence) + ") for a known " + std::to_string(kKnownLabel);
    }
    return std::nullopt;
}

}  // namespace predictd
