// json_body.hpp — the bounded, strict JSON parse every protocol's body goes through (native,
// TF Serving, v2): nesting and NUL bytes checked before parsing, then jsoncpp, with long plain
// strings (the base64 images) copied whole instead of through jsoncpp's character loop.
#pragma once

#include <cstddef>
#include <string_view>

#include <json/value.h>

#include "api/api_error.hpp"
#include "api/request_limits.hpp"

namespace predictd {

// String values at least this long without a backslash are lifted out of the text jsoncpp
// parses and copied into the tree with one memcpy (see json_body.cpp).
inline constexpr std::size_t kLiftedStringBytes = 512;

// 400 json_too_deep past limits.max_json_depth (scanned before parsing), 400 invalid_json for
// malformed JSON, a NUL byte, trailing garbage or a body that is not an object. The tree is the
// one jsoncpp builds from `body` (strict mode, duplicate keys keep the last).
Result<Json::Value> parseJsonBody(std::string_view body, const RequestLimits& limits);

// The same with another threshold: 0 lifts every plain string value, SIZE_MAX none (jsoncpp
// reads every byte). For the tests and the fuzz target, which compare the two.
Result<Json::Value> parseJsonBody(std::string_view body, const RequestLimits& limits,
                                  std::size_t lift_bytes);

}  // namespace predictd
