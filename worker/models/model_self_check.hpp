// model_self_check.hpp — the boot-time check that a loaded model answers a known digit right.
#pragma once

#include <optional>
#include <string>

namespace predictd {

class DigitModel;

// nullopt when the model predicts the embedded known digit correctly; else what went wrong.
std::optional<std::string> selfCheckModel(DigitModel& model);

}  // namespace predictd
