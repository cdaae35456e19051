// image_input.cpp — plan (header → decode plan) and make (decode → preprocess) one image input.
#include "models/image_input.hpp"

#include "codecs/image_decode.hpp"
#include "models/preprocess.hpp"

namespace predictd {

Result<PlannedImage> planImageInput(std::string_view bytes, const RequestLimits& limits,
                                    const ModelSpec& spec) {
    auto header = inspectImage(bytes, limits);
    if (!header.ok()) {
        return header.error();
    }
    PlannedImage planned{std::move(header).value(), {}};
    planned.plan = planDecode(planned.header, decodeWantsFor(spec, planned.header));
    if (auto error = checkDecodedSize(planned.header, planned.plan, limits)) {
        return *error;
    }
    return planned;
}

Result<cv::Mat> makeImageInput(std::string_view bytes, const PlannedImage& planned,
                               const RequestLimits& limits, const ModelSpec& spec) {
    const auto image = decodeInspected(bytes, planned.header, planned.plan, limits);
    if (!image.ok()) {
        return image.error();
    }
    return preprocessImage(image.value(), spec);
}

}  // namespace predictd
