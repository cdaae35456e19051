// fuzz_base64_decode.cpp — libFuzzer target: arbitrary text → decodeBase64.
//
// Checks: an error is 400 invalid_base64 with a message; a success is non-empty and
// round-trips (the canonical standard-alphabet encoding of the result decodes to the same
// bytes), and is never longer than 3/4 of the input.
#include <Poco/Base64Encoder.h>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <sstream>
#include <string>
#include <string_view>

#include "codecs/base64_decode.hpp"

namespace {

[[noreturn]] void fail(const char* what, std::string_view text) {
    std::fprintf(stderr, "INVARIANT BROKEN: %s\ninput (%zu bytes): %.*s\n", what, text.size(),
                 static_cast<int>(text.size() < 400 ? text.size() : 400), text.data());
    std::abort();
}

std::string encode(const std::string& bytes) {
    std::ostringstream out;
    Poco::Base64Encoder enc(out);
    enc.rdbuf()->setLineLength(0);
    enc << bytes;
    enc.close();
    return out.str();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string_view text(reinterpret_cast<const char*>(data), size);
    const auto r = predictd::decodeBase64(text);
    if (!r.ok()) {
        if (r.error().status != 400 || r.error().code != "invalid_base64" ||
            r.error().message.empty()) {
            fail("error is not 400 invalid_base64 with a message", text);
        }
        return 0;
    }
    const std::string& bytes = r.value();
    if (bytes.empty()) {
        fail("success with no bytes", text);
    }
    if (bytes.size() > size / 4 * 3 + 2) {
        fail("more bytes out than base64 can carry", text);
    }
    const auto again = predictd::decodeBase64(encode(bytes));
    if (!again.ok() || again.value() != bytes) {
        fail("canonical re-encoding does not decode to the same bytes", text);
    }
    return 0;
}
