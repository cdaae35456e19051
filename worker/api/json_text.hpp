// json_text.hpp — a jsoncpp value as compact JSON text (no indentation, full precision): the
// one writer for the bodies built as Json::Value (metadata, status, model lists). Predictions
// are written directly instead (response_encode, v2_response, tfs_response: the hot path).
#pragma once

#include <json/json.h>

#include <string>

namespace predictd {

std::string compactJson(const Json::Value& value);

}  // namespace predictd
