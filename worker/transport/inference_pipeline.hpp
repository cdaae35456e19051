// inference_pipeline.hpp — the protocol-neutral middle of every prediction route:
// encoded images → plan (headers, decode budget) → decode + preprocess → infer, or ready-made
// tensors → infer, under the request's deadline.
//
// The native, TF Serving and v2 routes parse their own bodies (api/) and encode their own
// answers; what lies between is here, once, so limits.max_decode_bytes, shrink-on-load and
// limits.request_deadline apply on every route alike. Knows nothing of JSON or FastCGI.
#pragma once

#include <chrono>
#include <string>
#include <string_view>
#include <vector>

#include <opencv2/core/mat.hpp>

#include "api/api_error.hpp"
#include "api/request_limits.hpp"
#include "models/model_repository.hpp"
#include "models/prediction.hpp"
#include "models/tensor_input.hpp"

namespace predictd {

// limits.request_deadline from the request's receipt; none when either is unset.
class Deadline {
  public:
    Deadline(std::chrono::steady_clock::time_point received, double seconds);
    [[nodiscard]] bool passed() const;
    // 503 deadline_exceeded (rendered with Retry-After: 1).
    [[nodiscard]] ApiError error() const;

  private:
    bool set_;
    double seconds_;
    std::chrono::steady_clock::time_point at_;
    std::chrono::steady_clock::time_point received_;
};

// A request's images as the protocol carried them.
struct EncodedImages {
    std::vector<std::string_view> items;  // base64 text (base64 = true) or the image bytes
    bool base64 = true;
    // How a message names item i: "<name>[i]: " when `batch` ("images[3]: "), nothing when not.
    std::string name = "images";
    bool batch = false;
};

// Base64-decodes, plans every image (413 decode_budget_exceeded before any decode), then
// decodes and preprocesses each for `spec`, abandoning the request once past `deadline`.
Result<std::vector<cv::Mat>> prepareImages(const EncodedImages& images, const RequestLimits& limits,
                                           const ModelSpec& spec, const Deadline& deadline);

// One prediction per input through the version's batcher (the deadline is checked first).
Result<std::vector<Prediction>> runModel(LoadedVersion& version, const std::vector<cv::Mat>& inputs,
                                         const Deadline& deadline);

// The model's input name, as the protocols' metadata list it and their requests name it: the
// config's, else the graph's first input's ("input" when the graph names none).
std::string inputName(const LoadedVersion& version);

// Output `name`'s dimensions without the batch one, as the graph declares them (-1: dynamic);
// empty when the graph does not say.
std::vector<std::int64_t> outputDims(const LoadedVersion& version, const std::string& name);

}  // namespace predictd
