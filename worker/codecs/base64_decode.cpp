// base64_decode.cpp — lenient base64 decoded in one table-driven pass.
//
// Hand-written on purpose: Poco::Base64Decoder (the kept library's decoder) reads the standard
// alphabet only, reports no position on error, and is a std::istream that decodes one character
// per virtual call: profiled on photo uploads (about 1 MB of base64 each) it took 20 % of the
// worker's CPU, with the normalising pass it needed another 8 %. This pass validates (exact
// offsets in messages), accepts both alphabets, skips whitespace and decodes at once.
#include "codecs/base64_decode.hpp"

#include <array>
#include <cctype>
#include <cstdint>
#include <exception>

namespace predictd {
namespace {

ApiError invalidBase64(std::string message) {
    return ApiError{400, "invalid_base64", "invalid base64: " + std::move(message)};
}

bool isBase64Space(char c) {
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}

// Each byte's meaning: 0..63 a symbol of either alphabet, or one of these.
constexpr std::uint8_t kSpace = 64;
constexpr std::uint8_t kPad = 65;
constexpr std::uint8_t kIllegal = 66;

constexpr std::array<std::uint8_t, 256> kSymbolValues = [] {
    std::array<std::uint8_t, 256> t{};
    t.fill(kIllegal);
    for (int i = 0; i < 26; ++i) {
        t[static_cast<std::size_t>('A' + i)] = static_cast<std::uint8_t>(i);
        t[static_cast<std::size_t>('a' + i)] = static_cast<std::uint8_t>(26 + i);
    }
    for (int i = 0; i < 10; ++i) {
        t[static_cast<std::size_t>('0' + i)] = static_cast<std::uint8_t>(52 + i);
    }
    t['+'] = t['-'] = 62;  // standard and URL-safe alphabets, even mixed
    t['/'] = t['_'] = 63;
    for (const char c : {' ', '\t', '\n', '\r', '\f', '\v'}) {
        t[static_cast<unsigned char>(c)] = kSpace;
    }
    t['='] = kPad;
    return t;
}();

// A printable rendering of an offending byte: never copy raw non-ASCII input into a message.
std::string describeChar(char c) {
    const auto u = static_cast<unsigned char>(c);
    if (u >= 0x21 && u < 0x7f) {
        return std::string{'\'', c, '\''};
    }
    constexpr std::string_view kHex = "0123456789ABCDEF";
    return std::string{'0', 'x', kHex[u >> 4], kHex[u & 0xF]};
}

bool startsWithNoCase(std::string_view s, std::string_view prefix) {
    if (s.size() < prefix.size()) {
        return false;
    }
    for (std::size_t i = 0; i < prefix.size(); ++i) {
        if (std::tolower(static_cast<unsigned char>(s[i])) !=
            std::tolower(static_cast<unsigned char>(prefix[i]))) {
            return false;
        }
    }
    return true;
}

bool endsWithNoCase(std::string_view s, std::string_view suffix) {
    return s.size() >= suffix.size() &&
           startsWithNoCase(s.substr(s.size() - suffix.size()), suffix);
}

// Offset where the base64 payload starts: 0, or just after the ',' of a leading
// `data:[<mime>][;params];base64,` prefix.
Result<std::size_t> payloadStart(std::string_view text) {
    std::size_t first = 0;
    while (first < text.size() && isBase64Space(text[first])) {
        ++first;
    }
    if (!startsWithNoCase(text.substr(first), "data:")) {
        return std::size_t{0};
    }
    const std::size_t comma = text.find(',', first);
    if (comma == std::string_view::npos) {
        return invalidBase64("data: URL without a ',' before the payload");
    }
    if (!endsWithNoCase(text.substr(first, comma - first), ";base64")) {
        return invalidBase64("data: URL is not base64-encoded (no ';base64' before ',')");
    }
    return comma + 1;
}

Result<std::string> decodeUnchecked(std::string_view text) {
    const auto start = payloadStart(text);
    if (!start.ok()) {
        return start.error();
    }
    std::string bytes((text.size() - start.value()) / 4 * 3 + 3, '\0');
    char* out = bytes.data();
    std::uint32_t quantum = 0;  // the symbols of the current group of four, 6 bits each
    std::size_t in_quantum = 0;
    std::size_t symbols = 0;
    std::size_t padding = 0;
    for (std::size_t i = start.value(); i < text.size(); ++i) {
        const std::uint8_t v = kSymbolValues[static_cast<unsigned char>(text[i])];
        if (v < 64) {
            if (padding > 0) {
                return invalidBase64("data after '=' padding at offset " + std::to_string(i));
            }
            quantum = (quantum << 6) | v;
            ++symbols;
            if (++in_quantum == 4) {
                *out++ = static_cast<char>(quantum >> 16);
                *out++ = static_cast<char>(quantum >> 8);
                *out++ = static_cast<char>(quantum);
                quantum = 0;
                in_quantum = 0;
            }
        } else if (v == kPad) {
            if (++padding > 2) {
                return invalidBase64("too much '=' padding at offset " + std::to_string(i));
            }
        } else if (v != kSpace) {
            return invalidBase64("illegal character " + describeChar(text[i]) + " at offset " +
                                 std::to_string(i));
        }
    }
    // Length: 4k+1 symbols can never be valid; explicit padding must complete a quantum.
    const std::size_t rem = symbols % 4;
    if (rem == 1) {
        return invalidBase64("bad length: " + std::to_string(symbols) +
                             " symbols (a multiple of 4, or 2 or 3 more, is required)");
    }
    if (padding > 0 && (rem == 0 || rem + padding != 4)) {
        return invalidBase64("bad padding: " + std::to_string(padding) + " '=' after " +
                             std::to_string(symbols) + " symbols");
    }
    if (symbols == 0) {
        return invalidBase64("empty image");
    }
    // A last group of 2 or 3 symbols carries 1 or 2 bytes (its spare low bits are ignored).
    if (rem == 2) {
        *out++ = static_cast<char>(quantum >> 4);
    } else if (rem == 3) {
        *out++ = static_cast<char>(quantum >> 10);
        *out++ = static_cast<char>(quantum >> 2);
    }
    bytes.resize(static_cast<std::size_t>(out - bytes.data()));
    return bytes;
}

}  // namespace

Result<std::string> decodeBase64(std::string_view text) {
    // The stages below only throw on allocation failure; keep even that from escaping.
    try {
        return decodeUnchecked(text);
    } catch (const std::exception& e) {
        return invalidBase64(std::string("cannot decode: ") + e.what());
    }
}

}  // namespace predictd
