// Unit tests for predict_request: the JSON contract of POST /predict and its error codes.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "api/predict_request.hpp"

namespace predictd {
namespace {

const RequestLimits kLimits{};

void expectError(std::string_view body, int status, const std::string& code,
                 const std::string& messagePart = "", const RequestLimits& limits = kLimits) {
    const auto r = parsePredictRequest(body, limits);
    ASSERT_FALSE(r.ok()) << "body: " << body;
    EXPECT_EQ(r.error().status, status) << "body: " << body;
    EXPECT_EQ(r.error().code, code) << "body: " << body;
    if (!messagePart.empty()) {
        EXPECT_NE(r.error().message.find(messagePart), std::string::npos)
            << "message: " << r.error().message;
    }
}

TEST(PredictRequest, SingleImage) {
    const auto r = parsePredictRequest(R"({"image": "SGVsbG8="})", kLimits);
    ASSERT_TRUE(r.ok());
    EXPECT_FALSE(r.value().batch);
    ASSERT_EQ(r.value().images.size(), 1u);
    EXPECT_EQ(r.value().images[0], "SGVsbG8=");
}

TEST(PredictRequest, BatchKeepsOrder) {
    const auto r = parsePredictRequest(R"({"images": ["a", "bb", "ccc"]})", kLimits);
    ASSERT_TRUE(r.ok());
    EXPECT_TRUE(r.value().batch);
    EXPECT_EQ(r.value().images, (std::vector<std::string>{"a", "bb", "ccc"}));
}

TEST(PredictRequest, BatchOfOneIsStillABatch) {
    const auto r = parsePredictRequest(R"({"images": ["a"]})", kLimits);
    ASSERT_TRUE(r.ok());
    EXPECT_TRUE(r.value().batch);
    EXPECT_EQ(r.value().images.size(), 1u);
}

TEST(PredictRequest, UnknownFieldsAndDuplicateKeysAreAccepted) {
    const auto r = parsePredictRequest(R"({"image": "x", "image": "y", "model": "v1"})", kLimits);
    ASSERT_TRUE(r.ok());
    EXPECT_EQ(r.value().images, (std::vector<std::string>{"y"}));  // last one wins
}

TEST(PredictRequest, BatchAtTheLimitIsAccepted) {
    RequestLimits limits;
    limits.max_batch = 3;
    EXPECT_TRUE(parsePredictRequest(R"({"images": ["a","b","c"]})", limits).ok());
}

TEST(PredictRequest, MalformedJson) {
    expectError("", 400, "invalid_json");
    expectError("{", 400, "invalid_json");
    expectError(R"({"image": "x",})", 400, "invalid_json");
    expectError(R"({'image': 'x'})", 400, "invalid_json");
    expectError(R"({"image": "x"} // comment)", 400, "invalid_json");
    expectError("{\"image\": \"x\"}\x01", 400, "invalid_json");
}

TEST(PredictRequest, DeepNestingIsRejectedNotACrash) {
    const std::string deep = std::string(100000, '[') + std::string(100000, ']');
    expectError(deep, 400, "json_too_deep", "JSON nesting deeper than 16 levels at offset 16");
    const std::string deepObject = R"({"image": )" + deep + "}";
    expectError(deepObject, 400, "json_too_deep", "at offset 25");
    // Unterminated: the depth check comes first, before the syntax check.
    expectError(std::string(100000, '{'), 400, "json_too_deep");
}

// {"image": [[...]]} with `arrays` nested arrays: depth arrays + 1.
std::string nested(std::size_t arrays) {
    return R"({"image": )" + std::string(arrays, '[') + std::string(arrays, ']') + "}";
}

TEST(PredictRequest, DepthLimitIsInclusive) {
    expectError(nested(15), 400, "wrong_type");  // depth 16: parsed, then the schema complains
    expectError(nested(16), 400, "json_too_deep", "deeper than 16 levels");
    RequestLimits limits;
    limits.max_json_depth = 2;
    EXPECT_TRUE(parsePredictRequest(R"({"images": ["a"]})", limits).ok());
    expectError(R"({"images": [["a"]]})", 400, "json_too_deep", "deeper than 2 levels at offset 12",
                limits);
    limits.max_json_depth = 1;
    expectError(R"({"images": ["a"]})", 400, "json_too_deep", "", limits);
    EXPECT_TRUE(parsePredictRequest(R"({"image": "a"})", limits).ok());
}

TEST(PredictRequest, BracketsInStringsDoNotCount) {
    RequestLimits limits;
    limits.max_json_depth = 1;
    const auto r = parsePredictRequest(R"({"image": "[[[{{{\"[[[{{{\\", "x[": "{{"})", limits);
    ASSERT_TRUE(r.ok()) << r.error().message;
    EXPECT_EQ(r.value().images[0], R"([[[{{{"[[[{{{\)");
    // Closing brackets in excess do not lower the count below zero.
    expectError("]]]]]]{[[]]}", 400, "json_too_deep", "", limits);
}

TEST(PredictRequest, Base64LengthLimitIsInclusive) {
    RequestLimits limits;
    limits.max_base64_bytes = 8;
    EXPECT_TRUE(parsePredictRequest(R"({"image": "12345678"})", limits).ok());
    expectError(R"({"image": "123456789"})", 413, "image_too_large",
                "image is 9 bytes of base64 text; the limit is 8 bytes", limits);
    EXPECT_TRUE(parsePredictRequest(R"({"images": ["1234", "12345678"]})", limits).ok());
    expectError(R"({"images": ["1234", "123456789"]})", 413, "image_too_large",
                "images[1]: image is 9 bytes", limits);
}

TEST(PredictRequest, DefaultLimits) {
    const RequestLimits limits;
    EXPECT_EQ(limits.max_json_depth, 16u);
    EXPECT_EQ(limits.max_base64_bytes, 4u << 20);
    EXPECT_EQ(limits.allowed_formats,
              (std::vector<std::string>{"png", "jpeg", "bmp", "webp", "tiff", "pnm"}));
}

// Found by fuzz_predict_request: jsoncpp takes a NUL byte as the end of the input.
TEST(PredictRequest, NulBytesAreRejected) {
    using namespace std::string_literals;
    expectError("{\"image\": \"QQ==\"}\0garbage"s, 400, "invalid_json", "NUL byte at offset 17");
    expectError("{\"image\": \"Q\0Q==\"}"s, 400, "invalid_json", "NUL byte at offset 12");
    expectError("{\"image\": \"Q\\\0Q==\"}"s, 400, "invalid_json", "NUL byte at offset 13");
    expectError("\0"s, 400, "invalid_json", "NUL byte at offset 0");
}

TEST(PredictRequest, TrailingGarbageIsRejected) {
    expectError(R"({"image": "x"} {"image": "y"})", 400, "invalid_json");
    expectError(R"({"image": "x"}garbage)", 400, "invalid_json");
}

TEST(PredictRequest, BodyMustBeAnObject) {
    expectError(R"(["x"])", 400, "invalid_json", "must be a JSON object");
    expectError(R"("x")", 400, "invalid_json");
    expectError("42", 400, "invalid_json");
    expectError("null", 400, "invalid_json");
}

TEST(PredictRequest, MissingField) {
    expectError("{}", 400, "missing_field", "\"image\"");
    expectError(R"({"img": "x"})", 400, "missing_field");
}

TEST(PredictRequest, BothKeys) {
    expectError(R"({"image": "x", "images": ["y"]})", 400, "invalid_request");
}

TEST(PredictRequest, WrongTypes) {
    expectError(R"({"image": 42})", 400, "wrong_type", "\"image\" must be a base64 string");
    expectError(R"({"image": null})", 400, "wrong_type");
    expectError(R"({"image": ["x"]})", 400, "wrong_type");
    expectError(R"({"images": "x"})", 400, "wrong_type", "\"images\" must be an array");
    expectError(R"({"images": {"0": "x"}})", 400, "wrong_type");
}

TEST(PredictRequest, WrongMemberTypeNamesTheIndex) {
    const auto r = parsePredictRequest(R"({"images": ["a", "b", "c", 7, "e"]})", kLimits);
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error().status, 400);
    EXPECT_EQ(r.error().code, "wrong_type");
    EXPECT_EQ(r.error().message, "images[3] must be a base64 string");
    expectError(R"({"images": [null]})", 400, "wrong_type", "images[0]");
}

TEST(PredictRequest, EmptyBatch) {
    expectError(R"({"images": []})", 400, "empty_batch");
}

TEST(PredictRequest, BatchTooLarge) {
    RequestLimits limits;
    limits.max_batch = 2;
    const auto r = parsePredictRequest(R"({"images": ["a","b","c"]})", limits);
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error().status, 413);
    EXPECT_EQ(r.error().code, "batch_too_large");
    EXPECT_EQ(r.error().message, "batch of 3 images exceeds the limit of 2");
}

}  // namespace
}  // namespace predictd
