// fuzz_request_handler.cpp — libFuzzer target: the whole request path, RequestHandler::handle,
// with the real model (model/mnist/1/model.onnx, loaded once).
//
// Input: the first byte picks the method, path and Content-Type (2 bits each: see kMethods,
// kPaths, kTypes; 'P' = POST /predict "application/json; charset=utf-8"; with its top bit set,
// the path is one of the TF Serving and Open Inference Protocol routes, kProtocolPaths; with bit 6
// also set on a v2 route, the second byte's decimal value is sent as Triton's
// Inference-Header-Content-Length, for binary tensor data), the rest is the body. Checks: no
// 5xx (a 5xx is a bug in the request path), the body is one JSON object (a binary answer: its
// JSON part), a 200 from /predict has a prediction 0..9 or a list of them, and errors carry a
// code and a message (native routes) or an "error" string (TF Serving, v2).
#include <json/json.h>

#include <array>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <optional>
#include <string>

#include <opencv2/core.hpp>

#include "models/model_repository.hpp"
#include "transport/request_handler.hpp"

namespace {

using predictd::HttpRequest;
using predictd::HttpResponse;
using predictd::ModelRepository;
using predictd::RequestHandler;
using predictd::RequestLimits;

constexpr std::array<const char*, 4> kMethods = {"POST", "GET", "HEAD", "PUT"};
constexpr std::array<const char*, 4> kPaths = {"/predict", "/health", "/ready", "/nope"};
constexpr std::array<const char*, 4> kProtocolPaths = {
    "/v2/models/mnist/infer", "/v1/models/mnist:predict", "/v1/models/mnist:classify",
    "/v2/models/mnist/versions/1/infer"};
constexpr std::array<const char*, 4> kTypes = {"application/json",
                                               "application/json; charset=utf-8", "text/plain", ""};

RequestHandler& handler() {
    static const ModelRepository models = [] {
        cv::setNumThreads(0);
        ModelRepository repo = ModelRepository::load(
            {"", PREDICTD_SOURCE_DIR "/model/mnist/1/model.onnx", "mnist"},
            predictd::RequestLimits{}, predictd::BatchingOptions{}, nullptr,
            [](bool ok, const std::string& line) {
                if (!ok) {
                    std::fprintf(stderr, "cannot load the model: %s\n", line.c_str());
                    std::abort();
                }
            });
        return repo;
    }();
    static RequestHandler h = [] {
        RequestLimits limits;
        limits.max_batch = 8;
        limits.max_image_pixels = 1u << 20;  // smaller than the default to keep runs fast
        return RequestHandler(models, limits);
    }();
    return h;
}

[[noreturn]] void fail(const std::string& what, const HttpResponse& r) {
    std::fprintf(stderr, "INVARIANT BROKEN: %s\nstatus %d body %s\n", what.c_str(), r.status,
                 r.body.c_str());
    std::abort();
}

bool isPrediction(const Json::Value& p) {
    return p.isObject() && p["prediction"].isInt() && p["prediction"].asInt() >= 0 &&
           p["prediction"].asInt() <= 9 && p["probabilities"].isArray() &&
           p["probabilities"].size() == 10 && p["confidence"].isNumeric();
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int* /*argc*/, char*** /*argv*/) {
    handler();  // load the model before the first input, not during it
    return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size == 0) {
        return 0;
    }
    const std::uint8_t pick = data[0];
    HttpRequest req;
    req.method = kMethods[pick & 3];
    const bool protocol = (pick & 0x80) != 0;
    req.path = (protocol ? kProtocolPaths : kPaths)[(pick >> 2) & 3];
    req.content_type = kTypes[(pick >> 4) & 3];
    std::size_t body_at = 1;
    if (protocol && (pick & 0x40) != 0 && req.path.starts_with("/v2/") && size > 1) {
        req.inference_header_length = std::to_string(data[1]);
        body_at = 2;
    }
    req.body.assign(reinterpret_cast<const char*>(data) + body_at, size - body_at);

    const HttpResponse r = handler().handle(req);
    // A binary answer (octet-stream) starts with its JSON object: that part is checked.
    std::size_t json_length = r.body.size();
    for (const auto& [name, value] : r.headers) {
        if (name == "Inference-Header-Content-Length") {
            json_length = std::stoul(value);
            if (r.status != 200 || r.content_type != "application/octet-stream" ||
                json_length > r.body.size()) {
                fail("a binary answer with a wrong status, type or JSON length", r);
            }
        }
    }
    if (r.status >= 500 || r.status < 200) {
        fail("status outside 2xx-4xx", r);
    }
    Json::Value v;
    Json::CharReaderBuilder b;
    const std::unique_ptr<Json::CharReader> reader(b.newCharReader());
    std::string errors;
    if (!reader->parse(r.body.data(), r.body.data() + json_length, &v, &errors) || !v.isObject()) {
        fail("body is not a JSON object", r);
    }
    if (r.status == 200 && req.path == std::string("/predict")) {
        bool good = isPrediction(v);
        if (v.isMember("predictions")) {
            good = v["predictions"].isArray() && !v["predictions"].empty();
            for (const Json::Value& p : v["predictions"]) {
                good = good && isPrediction(p);
            }
        }
        if (!good) {
            fail("200 from /predict without a well-formed prediction", r);
        }
    } else if (r.status >= 400 && protocol) {
        if (!v["error"].isString() || v["error"].asString().empty()) {
            fail("TF Serving / v2 error without an \"error\" string", r);
        }
    } else if (r.status >= 400 &&
               (!v["error"]["code"].isString() || v["error"]["code"].asString().empty() ||
                !v["error"]["message"].isString())) {
        fail("error without code and message", r);
    }
    return 0;
}
