// tensor_input.cpp — numeric tensors to HWC float images (NCHW transposed, NHWC copied).
#include "models/tensor_input.hpp"

#include <algorithm>
#include <string>

namespace predictd {

std::vector<std::int64_t> inputDims(const ModelSpec& spec) {
    const std::int64_t c = spec.input.channels;
    const std::int64_t h = spec.input.height;
    const std::int64_t w = spec.input.width;
    return spec.input.layout == TensorLayout::kNCHW ? std::vector<std::int64_t>{c, h, w}
                                                    : std::vector<std::int64_t>{h, w, c};
}

Result<std::vector<cv::Mat>> tensorInputs(const std::vector<float>& values, std::size_t count,
                                          const ModelSpec& spec) {
    const int c = spec.input.channels;
    const int h = spec.input.height;
    const int w = spec.input.width;
    const std::size_t per = static_cast<std::size_t>(c) * h * w;
    if (c <= 0 || h <= 0 || w <= 0 || values.size() != per * count) {
        return ApiError{400, "invalid_tensor",
                        "the tensor holds " + std::to_string(values.size()) + " values; " +
                            std::to_string(count) + " inputs of the model's shape need " +
                            std::to_string(per * count)};
    }
    std::vector<cv::Mat> out;
    out.reserve(count);
    for (std::size_t n = 0; n < count; ++n) {
        const float* src = values.data() + n * per;
        cv::Mat image(h, w, CV_32FC(c));
        if (spec.input.layout == TensorLayout::kNHWC) {
            std::copy(src, src + per, image.ptr<float>(0));
        } else {
            for (int y = 0; y < h; ++y) {
                auto* row = image.ptr<float>(y);
                for (int x = 0; x < w; ++x) {
                    for (int k = 0; k < c; ++k) {
                        row[x * c + k] = src[(static_cast<std::size_t>(k) * h + y) * w + x];
                    }
                }
            }
        }
        out.push_back(std::move(image));
    }
    return out;
}

}  // namespace predictd
