// v2_binary.cpp — the binary tensor data layout: little-endian lengths and numbers, read and
// written byte by byte (memcpy of a host float is little-endian on every platform predictd
// builds for; the static_assert keeps it so).
#include "api/v2_binary.hpp"

#include <bit>
#include <charconv>
#include <cstdint>
#include <cstring>

namespace predictd {
namespace {

static_assert(std::endian::native == std::endian::little,
              "the binary tensor data extension is little-endian; add byte swapping");

ApiError invalid(std::string message) {
    return ApiError{400, "invalid_request", std::move(message)};
}

std::uint32_t readLength(std::string_view data, std::size_t at) {
    std::uint32_t v = 0;
    for (int i = 3; i >= 0; --i) {
        v = (v << 8) | static_cast<unsigned char>(data[at + static_cast<std::size_t>(i)]);
    }
    return v;
}

void appendLength(std::string& out, std::uint32_t v) {
    for (int i = 0; i < 4; ++i) {
        out += static_cast<char>((v >> (8 * i)) & 0xff);
    }
}

}  // namespace

Result<V2BinaryBody> splitV2BinaryBody(std::string_view body, std::string_view header_length) {
    std::size_t n = 0;
    const char* end = header_length.data() + header_length.size();
    const auto [ptr, ec] = std::from_chars(header_length.data(), end, n);
    if (header_length.empty() || ec != std::errc() || ptr != end) {
        std::string message = "Inference-Header-Content-Length must be a number of bytes, got '";
        message += header_length.substr(0, 32);
        message += '\'';
        return invalid(std::move(message));
    }
    if (n > body.size()) {
        std::string message = "Inference-Header-Content-Length is ";
        message += std::to_string(n);
        message += " but the body has only ";
        message += std::to_string(body.size());
        message += " bytes";
        return invalid(std::move(message));
    }
    return V2BinaryBody{body.substr(0, n), body.substr(n)};
}

Result<std::vector<std::string_view>> readV2BinaryBytes(std::string_view data, std::size_t count,
                                                        std::size_t max_element_bytes,
                                                        const std::string& where) {
    std::vector<std::string_view> elements;
    elements.reserve(count);
    std::size_t at = 0;
    while (at < data.size()) {
        if (data.size() - at < 4) {
            return invalid(where + ": binary BYTES data ends inside an element's 4-byte length");
        }
        const std::uint32_t length = readLength(data, at);
        at += 4;
        if (length > data.size() - at) {
            return invalid(where + ": binary BYTES element " + std::to_string(elements.size()) +
                           " says " + std::to_string(length) + " bytes; only " +
                           std::to_string(data.size() - at) + " remain");
        }
        if (length > max_element_bytes) {
            return ApiError{413, "image_too_large",
                            where + "[" + std::to_string(elements.size()) + "]: image is " +
                                std::to_string(length) + " bytes; the limit is " +
                                std::to_string(max_element_bytes) + " bytes"};
        }
        if (elements.size() == count) {
            return invalid(where + ": binary BYTES data holds more than the shape's " +
                           std::to_string(count) + " elements");
        }
        elements.push_back(data.substr(at, length));
        at += length;
    }
    if (elements.size() != count) {
        return invalid(where + ": binary BYTES data holds " + std::to_string(elements.size()) +
                       " elements; shape needs " + std::to_string(count));
    }
    return elements;
}

Result<std::vector<float>> readV2BinaryNumbers(std::string_view data, std::string_view datatype,
                                               std::size_t count, const std::string& where) {
    const std::size_t size = datatype == "FP32" ? sizeof(float) : 1;
    if (data.size() / size != count || data.size() % size != 0) {
        std::string message = where;
        message += ": binary ";
        message += datatype;
        message += " data is ";
        message += std::to_string(data.size());
        message += " bytes; shape needs ";
        message += std::to_string(count * size);
        return invalid(std::move(message));
    }
    std::vector<float> values(count);
    if (size == sizeof(float)) {
        std::memcpy(values.data(), data.data(), data.size());
    } else {
        for (std::size_t i = 0; i < count; ++i) {
            values[i] = static_cast<float>(static_cast<unsigned char>(data[i]));
        }
    }
    return values;
}

std::size_t appendV2BinaryFloats(std::string& out, const std::vector<float>& values) {
    const std::size_t bytes = values.size() * sizeof(float);
    const std::size_t at = out.size();
    out.resize(at + bytes);
    std::memcpy(out.data() + at, values.data(), bytes);
    return bytes;
}

std::size_t appendV2BinaryBytes(std::string& out, const std::vector<std::string>& elements) {
    std::size_t bytes = 0;
    for (const std::string& e : elements) {
        appendLength(out, static_cast<std::uint32_t>(e.size()));
        out += e;
        bytes += 4 + e.size();
    }
    return bytes;
}

}  // namespace predictd
