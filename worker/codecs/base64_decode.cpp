// base64_decode.cpp — normalises lenient base64 and decodes it with Poco::Base64Decoder.
//
// Poco decodes only the standard alphabet with correct padding and gives no useful position
// on error, so we first validate and normalise by hand (strip a data: prefix and whitespace,
// map URL-safe '-' '_' to '+' '/', re-pad), reporting the exact offending offset, then let Poco
// do the actual decoding.
#include "codecs/base64_decode.hpp"

#include <Poco/Base64Decoder.h>

#include <cctype>
#include <exception>
#include <iterator>
#include <sstream>

namespace predictd {
namespace {

ApiError invalidBase64(std::string message) {
    return ApiError{400, "invalid_base64", "invalid base64: " + std::move(message)};
}

bool isBase64Space(char c) {
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}

bool isStandardSymbol(char c) {
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '+' ||
           c == '/';
}

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

struct Normalised {
    std::string symbols;      // standard alphabet, no whitespace, no padding
    std::size_t padding = 0;  // number of '=' seen at the end
};

// Drops whitespace, maps the URL-safe alphabet to the standard one and checks every character,
// reporting offsets relative to the whole text.
Result<Normalised> normalise(std::string_view text, std::size_t start) {
    Normalised out;
    out.symbols.reserve(text.size() - start);
    for (std::size_t i = start; i < text.size(); ++i) {
        const char c = text[i];
        if (isBase64Space(c)) {
            continue;
        }
        if (c == '=') {
            if (++out.padding > 2) {
                return invalidBase64("too much '=' padding at offset " + std::to_string(i));
            }
            continue;
        }
        if (out.padding > 0) {
            return invalidBase64("data after '=' padding at offset " + std::to_string(i));
        }
        if (isStandardSymbol(c)) {
            out.symbols.push_back(c);
        } else if (c == '-' || c == '_') {
            out.symbols.push_back(c == '-' ? '+' : '/');
        } else {
            return invalidBase64("illegal character " + describeChar(c) + " at offset " +
                                 std::to_string(i));
        }
    }
    return out;
}

Result<std::string> decodeUnchecked(std::string_view text) {
    const auto start = payloadStart(text);
    if (!start.ok()) {
        return start.error();
    }
    auto normalised = normalise(text, start.value());
    if (!normalised.ok()) {
        return normalised.error();
    }
    std::string normal = std::move(normalised.value().symbols);
    const std::size_t padding = normalised.value().padding;

    // Length: 4k+1 symbols can never be valid; explicit padding must complete a quantum.
    const std::size_t rem = normal.size() % 4;
    if (rem == 1) {
        return invalidBase64("bad length: " + std::to_string(normal.size()) +
                             " symbols (a multiple of 4, or 2 or 3 more, is required)");
    }
    if (padding > 0 && (rem == 0 || rem + padding != 4)) {
        return invalidBase64("bad padding: " + std::to_string(padding) + " '=' after " +
                             std::to_string(normal.size()) + " symbols");
    }
    if (normal.empty()) {
        return invalidBase64("empty image");
    }
    if (rem != 0) {
        normal.append(4 - rem, '=');
    }

    // Decode.
    std::string bytes;
    try {
        std::istringstream in(normal);
        Poco::Base64Decoder decoder(in);
        bytes.reserve(normal.size() / 4 * 3);
        bytes.assign(std::istreambuf_iterator<char>(decoder), std::istreambuf_iterator<char>());
        if (decoder.bad()) {
            return invalidBase64("decoder failed");
        }
    } catch (const std::exception& e) {
        return invalidBase64(e.what());
    }
    if (bytes.empty()) {
        return invalidBase64("empty image");
    }
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
