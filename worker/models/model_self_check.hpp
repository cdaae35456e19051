// model_self_check.hpp — the boot-time check that a freshly loaded model answers its own sample
// right (declared in its config: an image beside config.json and the expected label or score
// range). A model that loads but answers garbage (wrong file, wrong export, wrong
// preprocessing) fails here, at boot, instead of on users' requests.
#pragma once

#include <optional>
#include <string>

#include "api/request_limits.hpp"
#include "models/image_model.hpp"

namespace predictd {

// nullopt when the check passes or the config declares none; else what went wrong. The sample
// goes through the same decode → preprocess → infer → postprocess path as a request.
std::optional<std::string> selfCheckModel(ImageModel& model, const RequestLimits& limits);

}  // namespace predictd
