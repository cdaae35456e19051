// fuzz_v2_request.cpp — libFuzzer target: request body (and Triton's Inference-Header-Content-
// Length) → parseV2InferRequest (Open Inference Protocol v2, with the binary tensor data
// extension).
//
// Input layout: byte 0 picks the header: 0x00–0x7f no header (the body is JSON only); 0x80–0xff
// a header whose value is the next byte's decimal text (so lengths 0–255 inside, at and past the
// body's end are all reached), except 0xff: the next 8 bytes as text (garbage, signs, overflow).
// The rest is the body.
//
// Besides "no crash, no leak, no UB", checks what an accepted request promises the handler: a
// batch of 1 to max_batch; exactly one of elements / raw_elements / values filled, with the
// shape's element count; raw elements inside the body and none longer than the binary image
// limit; base64 ones no longer than max_base64_bytes. A refused one is a 400 or 413 with a code
// and a message.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <optional>
#include <string>
#include <string_view>

#include "api/v2_request.hpp"

namespace {

using predictd::RequestLimits;
using predictd::V2InferRequest;

RequestLimits fuzzLimits() {
    RequestLimits limits;
    limits.max_batch = 4;
    limits.max_json_depth = 6;
    limits.max_base64_bytes = 64;
    return limits;
}

[[noreturn]] void fail(const char* what) {
    std::fprintf(stderr, "fuzz_v2_request: %s\n", what);
    std::abort();
}

void checkAccepted(const V2InferRequest& r, const RequestLimits& limits, std::string_view body) {
    const auto& in = r.input;
    if (in.shape.empty() || in.shape.front() < 1 ||
        static_cast<std::uint64_t>(in.shape.front()) > limits.max_batch) {
        fail("accepted a batch outside 1..max_batch");
    }
    std::uint64_t count = 1;
    for (const std::int64_t d : in.shape) {
        if (d < 0) {
            fail("a negative dimension");
        }
        count *= static_cast<std::uint64_t>(d);
    }
    const int filled = static_cast<int>(!in.elements.empty()) +
                       static_cast<int>(!in.raw_elements.empty()) +
                       static_cast<int>(!in.values.empty());
    if (filled != 1 && count != 0) {
        fail("not exactly one of elements / raw_elements / values");
    }
    const std::size_t got = in.elements.size() + in.raw_elements.size() + in.values.size();
    if (got != count) {
        fail("element count differs from the shape's");
    }
    for (const auto& e : in.elements) {
        if (e.size() > limits.max_base64_bytes) {
            fail("accepted base64 over max_base64_bytes");
        }
    }
    for (const auto& e : in.raw_elements) {
        if (e.size() > limits.max_base64_bytes / 4 * 3) {
            fail("accepted a binary image over the limit");
        }
        if (e.data() < body.data() || e.data() + e.size() > body.data() + body.size()) {
            fail("a raw element points outside the body");
        }
    }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size == 0) {
        return 0;
    }
    const RequestLimits limits = fuzzLimits();
    std::string_view rest(reinterpret_cast<const char*>(data) + 1, size - 1);
    std::optional<std::string> header;
    if (data[0] == 0xff) {
        header = std::string(rest.substr(0, 8));
        rest.remove_prefix(std::min<std::size_t>(8, rest.size()));
    } else if (data[0] >= 0x80 && !rest.empty()) {
        header = std::to_string(static_cast<unsigned char>(rest.front()));
        rest.remove_prefix(1);
    }
    // The body in its own allocation, so ASan sees any read past its end.
    const std::string body(rest);
    std::optional<std::string_view> header_view;
    if (header) {
        header_view = *header;
    }
    const auto r = predictd::parseV2InferRequest(body, limits, header_view);
    if (r.ok()) {
        checkAccepted(r.value(), limits, body);
    } else {
        const auto& e = r.error();
        if ((e.status != 400 && e.status != 413) || e.code.empty() || e.message.empty()) {
            fail("a refusal that is not a 400/413 with a code and a message");
        }
    }
    return 0;
}
