// prediction.hpp — one image's raw model outputs, as the predictor interface returns them.
//
// Generic over models: each declared output's values for this image (the batch dimension
// removed). Turning them into labels, scores or a distribution mean is postprocess's job.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace predictd {

struct OutputValues {
    std::string name;
    std::vector<std::int64_t> shape;  // without the batch dimension
    std::vector<float> values;        // row-major
};

struct Prediction {
    std::vector<OutputValues> outputs;  // in the order of the model's declared outputs
};

}  // namespace predictd
