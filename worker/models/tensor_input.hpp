// tensor_input.hpp — ready-made tensors (the TF Serving and v2 routes' numeric inputs) → the
// inputs one model declares, in the form preprocessing produces (one HWC float image each), so
// they join the request path at "infer" with no decode or preprocess.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include <opencv2/core/mat.hpp>

#include "api/api_error.hpp"
#include "models/model_spec.hpp"

namespace predictd {

// The model's input dimensions without the batch one, in its layout: {C,H,W} or {H,W,C}.
std::vector<std::int64_t> inputDims(const ModelSpec& spec);

// `values` holds `count` inputs of the model's declared shape without the batch dimension,
// row-major in its layout (NCHW or NHWC) → one HWC float image each. Error: 400 invalid_tensor.
Result<std::vector<cv::Mat>> tensorInputs(const std::vector<float>& values, std::size_t count,
                                          const ModelSpec& spec);

}  // namespace predictd
