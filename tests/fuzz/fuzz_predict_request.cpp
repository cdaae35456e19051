// fuzz_predict_request.cpp — libFuzzer target: request body → parsePredictRequest.
//
// Besides "no crash, no leak, no UB", checks the depth pre-scan against jsoncpp itself: when
// jsoncpp (same strict settings, its own generous stack limit) accepts the body, the answer is
// json_too_deep exactly when the parsed tree is deeper than max_json_depth; when jsoncpp
// refuses it, so must we. An accepted request respects max_batch and max_base64_bytes. And
// json_body's lifting of plain strings past jsoncpp (every one of them here, threshold 0) gives
// exactly what jsoncpp reading every byte gives: the same tree, or the same error.
#include <json/json.h>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <limits>
#include <memory>
#include <string>
#include <string_view>

#include "api/json_body.hpp"
#include "api/predict_request.hpp"

namespace {

using predictd::RequestLimits;

RequestLimits fuzzLimits() {
    RequestLimits limits;
    limits.max_batch = 4;
    limits.max_json_depth = 6;
    limits.max_base64_bytes = 64;
    return limits;
}

std::size_t depthOf(const Json::Value& v) {
    if (!v.isArray() && !v.isObject()) {
        return 0;
    }
    std::size_t deepest = 0;
    for (const Json::Value& child : v) {
        const std::size_t d = depthOf(child);
        deepest = d > deepest ? d : deepest;
    }
    return deepest + 1;
}

// The same reader settings as predict_request.cpp, with a stack limit far above the test's.
// jsoncpp stops at a NUL byte as if the input ended there; JSON allows none, so neither do we.
bool referenceParse(std::string_view body, Json::Value& root) {
    if (body.find('\0') != std::string_view::npos) {
        return false;
    }
    Json::CharReaderBuilder b;
    Json::CharReaderBuilder::strictMode(&b.settings_);
    b.settings_["rejectDupKeys"] = false;
    b.settings_["failIfExtra"] = true;
    b.settings_["stackLimit"] = 200;
    const std::unique_ptr<Json::CharReader> reader(b.newCharReader());
    std::string errors;
    try {
        return reader->parse(body.data(), body.data() + body.size(), &root, &errors);
    } catch (const std::exception&) {
        return false;
    }
}

[[noreturn]] void fail(const char* what, std::string_view body) {
    std::fprintf(stderr, "INVARIANT BROKEN: %s\nbody (%zu bytes): %.*s\n", what, body.size(),
                 static_cast<int>(body.size() < 400 ? body.size() : 400), body.data());
    std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    static const RequestLimits limits = fuzzLimits();
    const std::string_view body(reinterpret_cast<const char*>(data), size);
    const auto r = predictd::parsePredictRequest(body, limits);

    if (r.ok()) {
        const auto& req = r.value();
        if (req.images.empty() || req.images.size() > limits.max_batch) {
            fail("accepted request with 0 or too many images", body);
        }
        if (!req.batch && req.images.size() != 1) {
            fail("single-image request with several images", body);
        }
        for (const std::string& image : req.images) {
            if (image.size() > limits.max_base64_bytes) {
                fail("accepted an image over max_base64_bytes", body);
            }
        }
    } else if (r.error().code.empty() || r.error().message.empty() || r.error().status < 400 ||
               r.error().status > 499) {
        fail("error without a code/message or with a non-4xx status", body);
    }

    const auto lifted = predictd::parseJsonBody(body, limits, 0);
    const auto plain =
        predictd::parseJsonBody(body, limits, std::numeric_limits<std::size_t>::max());
    if (lifted.ok() != plain.ok()) {
        fail("lifting strings changed whether the body parses", body);
    }
    if (plain.ok() && !(lifted.value() == plain.value())) {
        fail("lifting strings changed the parsed tree", body);
    }
    if (!plain.ok() && (lifted.error().code != plain.error().code ||
                        lifted.error().message != plain.error().message)) {
        fail("lifting strings changed the error", body);
    }

    Json::Value root;
    if (referenceParse(body, root)) {
        const bool tooDeep = depthOf(root) > limits.max_json_depth;
        const bool saidTooDeep = !r.ok() && r.error().code == "json_too_deep";
        if (tooDeep != saidTooDeep) {
            fail(tooDeep ? "deep JSON not reported as json_too_deep"
                         : "json_too_deep for JSON within the limit",
                 body);
        }
        if (!tooDeep && root.isObject() && !r.ok() && r.error().code == "invalid_json") {
            fail("invalid_json for a JSON object jsoncpp accepts", body);
        }
    } else if (r.ok()) {
        fail("accepted a body jsoncpp refuses", body);
    }
    return 0;
}
