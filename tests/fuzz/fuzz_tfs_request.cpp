// fuzz_tfs_request.cpp — libFuzzer target: request body → parseTfsPredictRequest and
// parseTfsClassifyRequest (TF Serving REST, api_rest.md).
//
// Besides "no crash, no leak, no UB", checks what an accepted request promises the handler: 1 to
// max_batch instances; images: one base64 text per instance, none longer than max_base64_bytes;
// a tensor: exactly count × (one instance's shape) numbers. A refused one is a 400 or 413 with a
// code and a message.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string_view>

#include "api/tfs_request.hpp"

namespace {

using predictd::RequestLimits;
using predictd::TfsInput;

RequestLimits fuzzLimits() {
    RequestLimits limits;
    limits.max_batch = 4;
    limits.max_json_depth = 6;
    limits.max_base64_bytes = 64;
    return limits;
}

[[noreturn]] void fail(const char* what) {
    std::fprintf(stderr, "fuzz_tfs_request: %s\n", what);
    std::abort();
}

void checkInput(const TfsInput& in, const RequestLimits& limits) {
    if (in.count == 0 || in.count > limits.max_batch) {
        fail("accepted a request with 0 or more than max_batch instances");
    }
    if (in.isImages()) {
        if (in.images.size() != in.count || !in.values.empty()) {
            fail("images: not one per instance");
        }
        for (const auto& image : in.images) {
            if (image.size() > limits.max_base64_bytes) {
                fail("accepted an image over max_base64_bytes");
            }
        }
        return;
    }
    std::size_t per = 1;
    for (const std::int64_t d : in.shape) {
        if (d <= 0) {
            fail("a tensor dimension <= 0");
        }
        per *= static_cast<std::size_t>(d);
    }
    if (in.values.size() != per * in.count) {
        fail("a tensor's numbers are not count x its shape");
    }
}

template <typename R>
void checkError(const R& r) {
    const auto& e = r.error();
    if ((e.status != 400 && e.status != 413) || e.code.empty() || e.message.empty()) {
        fail("an error that is not a 400/413 with a code and a message");
    }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string_view body(reinterpret_cast<const char*>(data), size);
    const RequestLimits limits = fuzzLimits();
    const auto predict = predictd::parseTfsPredictRequest(body, limits);
    if (predict.ok()) {
        checkInput(predict.value().input, limits);
    } else {
        checkError(predict);
    }
    const auto classify = predictd::parseTfsClassifyRequest(body, limits);
    if (classify.ok()) {
        checkInput(classify.value(), limits);
    } else {
        checkError(classify);
    }
    return 0;
}
