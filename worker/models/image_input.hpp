// image_input.hpp — one encoded image → the input one model declares, in the two steps a
// request makes: plan every image first (headers only: what each decode will cost), then decode
// and preprocess. The request path's decode → preprocess, for one model.
#pragma once

#include <string_view>

#include <opencv2/core/mat.hpp>

#include "api/api_error.hpp"
#include "api/request_limits.hpp"
#include "codecs/decode_plan.hpp"
#include "codecs/image_header.hpp"
#include "models/model_spec.hpp"

namespace predictd {

struct PlannedImage {
    ImageHeader header;
    DecodePlan plan;
};

// inspectImage's checks, the decode plan for this model (shrink on load, cost), then
// checkDecodedSize (the pixel limit applies to what will be decoded).
Result<PlannedImage> planImageInput(std::string_view bytes, const RequestLimits& limits,
                                    const ModelSpec& spec);

// Decodes as planned, then preprocessImage.
Result<cv::Mat> makeImageInput(std::string_view bytes, const PlannedImage& planned,
                               const RequestLimits& limits, const ModelSpec& spec);

}  // namespace predictd
