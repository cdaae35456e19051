// Unit tests for base64_decode: every accepted variant and every rejection.
#include <gtest/gtest.h>

#include <Poco/Base64Encoder.h>

#include <random>
#include <sstream>
#include <string>

#include "codecs/base64_decode.hpp"

namespace predictd {
namespace {

std::string decodeOk(std::string_view text) {
    const auto r = decodeBase64(text);
    EXPECT_TRUE(r.ok()) << "input: " << text << " error: " << (r.ok() ? "" : r.error().message);
    return r.ok() ? r.value() : std::string();
}

void expectInvalid(std::string_view text, const std::string& message) {
    const auto r = decodeBase64(text);
    ASSERT_FALSE(r.ok()) << "input: " << text;
    EXPECT_EQ(r.error().status, 400);
    EXPECT_EQ(r.error().code, "invalid_base64");
    EXPECT_EQ(r.error().message, message);
}

std::string pocoEncode(const std::string& bytes, int lineLength) {
    std::ostringstream out;
    Poco::Base64Encoder enc(out);
    enc.rdbuf()->setLineLength(lineLength);
    enc << bytes;
    enc.close();
    return out.str();
}

TEST(Base64Decode, StandardWithPadding) {
    EXPECT_EQ(decodeOk("SGVsbG8="), "Hello");
    EXPECT_EQ(decodeOk("SGVsbA=="), "Hell");
    EXPECT_EQ(decodeOk("SGVs"), "Hel");
}

TEST(Base64Decode, MissingPadding) {
    EXPECT_EQ(decodeOk("SGVsbG8"), "Hello");
    EXPECT_EQ(decodeOk("SGVsbA"), "Hell");
    EXPECT_EQ(decodeOk("QQ"), "A");
}

TEST(Base64Decode, UrlSafeAlphabet) {
    EXPECT_EQ(decodeOk("++++"), "\xFB\xEF\xBE");
    EXPECT_EQ(decodeOk("----"), "\xFB\xEF\xBE");
    EXPECT_EQ(decodeOk("////"), "\xFF\xFF\xFF");
    EXPECT_EQ(decodeOk("____"), "\xFF\xFF\xFF");
    EXPECT_EQ(decodeOk("-_8"), "\xFB\xFF");  // URL-safe and unpadded together
}

TEST(Base64Decode, EmbeddedWhitespaceAndLineWrapping) {
    EXPECT_EQ(decodeOk("SGVs\nbG8="), "Hello");
    EXPECT_EQ(decodeOk(" S G V s\r\n b G 8 = \n"), "Hello");
    EXPECT_EQ(decodeOk("SGVsbG8=\n"), "Hello");
    EXPECT_EQ(decodeOk("SGVsbA=\n="), "Hell");  // a wrapped line may split the padding

    std::string bytes;
    for (int i = 0; i < 300; ++i) {
        bytes.push_back(static_cast<char>(i * 7));
    }
    const std::string wrapped = pocoEncode(bytes, 76);  // like base64(1)
    ASSERT_NE(wrapped.find('\n'), std::string::npos);
    EXPECT_EQ(decodeOk(wrapped), bytes);
}

TEST(Base64Decode, DataUrlPrefix) {
    EXPECT_EQ(decodeOk("data:image/png;base64,SGVsbG8="), "Hello");
    EXPECT_EQ(decodeOk("data:image/jpeg;base64,SGVsbG8"), "Hello");
    EXPECT_EQ(decodeOk("DATA:image/png;BASE64,SGVsbG8="), "Hello");
    EXPECT_EQ(decodeOk("data:application/octet-stream;base64,SGVsbG8="), "Hello");
    EXPECT_EQ(decodeOk("data:;base64,SGVsbG8="), "Hello");
    EXPECT_EQ(decodeOk("data:image/png;name=a.png;base64,SGVs\nbG8="), "Hello");
}

TEST(Base64Decode, RoundTripsEveryLength) {
    std::mt19937 rng(42);
    for (int len = 1; len < 200; ++len) {
        std::string bytes(static_cast<std::size_t>(len), '\0');
        for (char& c : bytes) {
            c = static_cast<char>(rng() & 0xFF);
        }
        const std::string standard = pocoEncode(bytes, 0);
        EXPECT_EQ(decodeOk(standard), bytes);
        std::string url = standard;
        for (char& c : url) {
            c = c == '+' ? '-' : c == '/' ? '_' : c;
        }
        while (!url.empty() && url.back() == '=') {
            url.pop_back();
        }
        EXPECT_EQ(decodeOk(url), bytes);
    }
}

TEST(Base64Decode, RejectsIllegalCharacterWithOffset) {
    expectInvalid("SGV*bG8=", "invalid base64: illegal character '*' at offset 3");
    expectInvalid("SGVsbG8.", "invalid base64: illegal character '.' at offset 7");
    expectInvalid("\xC3\xA9SGVs", "invalid base64: illegal character 0xC3 at offset 0");
    expectInvalid(std::string_view("SG\0s", 4),
                  "invalid base64: illegal character 0x00 at offset 2");
    // Offsets count from the start of the text, data: prefix included.
    expectInvalid("data:image/png;base64,SG!s",
                  "invalid base64: illegal character '!' at offset 24");
}

TEST(Base64Decode, RejectsImpossibleLength) {
    expectInvalid("SGVsb",
                  "invalid base64: bad length: 5 symbols (a multiple of 4, or 2 or 3 more, is "
                  "required)");
    expectInvalid("Q",
                  "invalid base64: bad length: 1 symbols (a multiple of 4, or 2 or 3 more, is "
                  "required)");
}

TEST(Base64Decode, RejectsBadPadding) {
    expectInvalid("QQ=", "invalid base64: bad padding: 1 '=' after 2 symbols");
    expectInvalid("QUJD=", "invalid base64: bad padding: 1 '=' after 4 symbols");
    expectInvalid("QUI==", "invalid base64: bad padding: 2 '=' after 3 symbols");
    expectInvalid("QQ===", "invalid base64: too much '=' padding at offset 4");
    expectInvalid("QQ==QQ==", "invalid base64: data after '=' padding at offset 4");
}

TEST(Base64Decode, RejectsEmpty) {
    expectInvalid("", "invalid base64: empty image");
    expectInvalid(" \n\t", "invalid base64: empty image");
    expectInvalid("data:image/png;base64,", "invalid base64: empty image");
}

TEST(Base64Decode, RejectsDataUrlThatIsNotBase64) {
    expectInvalid("data:image/png,SGVsbG8=",
                  "invalid base64: data: URL is not base64-encoded (no ';base64' before ',')");
    expectInvalid("data:image/png;base64SGVsbG8=",
                  "invalid base64: data: URL without a ',' before the payload");
}

}  // namespace
}  // namespace predictd
