// Unit tests for json_body: the strict, bounded parse of every protocol's body, and that lifting
// long plain strings past jsoncpp gives exactly the tree (or the error) jsoncpp gives.
#include <gtest/gtest.h>
#include <json/json.h>

#include <cstddef>
#include <functional>
#include <initializer_list>
#include <limits>
#include <random>
#include <string>
#include <string_view>
#include <vector>

#include "api/json_body.hpp"

namespace predictd {
namespace {

const RequestLimits kLimits{};
constexpr std::size_t kNoLifting = std::numeric_limits<std::size_t>::max();

// Lifting every plain string value (threshold 0), lifting at the shipped threshold and lifting
// none must agree on everything: status, code, message, tree.
void expectSameAsJsoncpp(const std::string& body, const RequestLimits& limits = kLimits) {
    const auto plain = parseJsonBody(body, limits, kNoLifting);
    for (const std::size_t threshold : {std::size_t{0}, std::size_t{3}, kLiftedStringBytes}) {
        const auto lifted = parseJsonBody(body, limits, threshold);
        ASSERT_EQ(lifted.ok(), plain.ok()) << "threshold " << threshold << ", body: " << body;
        if (plain.ok()) {
            EXPECT_EQ(lifted.value(), plain.value())
                << "threshold " << threshold << ", body: " << body;
        } else {
            EXPECT_EQ(lifted.error().status, plain.error().status) << body;
            EXPECT_EQ(lifted.error().code, plain.error().code) << body;
            EXPECT_EQ(lifted.error().message, plain.error().message) << body;
        }
    }
}

std::string repeat(char c, std::size_t n) {
    return std::string(n, c);
}

// Concatenation without `"literal" + std::string&&`, on which GCC 12's -Wrestrict misfires in
// Release builds.
std::string join(std::initializer_list<std::string_view> parts) {
    std::string out;
    for (const std::string_view p : parts) {
        out += p;
    }
    return out;
}

TEST(JsonBody, APhotoSizedImageComesBackWhole) {
    std::string image;
    for (std::size_t i = 0; i < 700'000; ++i) {
        image += "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"[i % 64];
    }
    const std::string body = R"({"top_k": 3, "image": ")" + image + R"("})";
    const auto r = parseJsonBody(body, kLimits);
    ASSERT_TRUE(r.ok()) << r.error().message;
    EXPECT_EQ(r.value()["image"].asString(), image);
    EXPECT_EQ(r.value()["top_k"].asInt(), 3);
    expectSameAsJsoncpp(body);
}

TEST(JsonBody, LiftedStringsKeepTheirPlacesInArraysAndObjects) {
    const std::string a = repeat('a', 600);
    const std::string b = repeat('b', 700);
    const std::string c = repeat('c', 800);
    const std::string body = R"({"images": [")" + a + R"(", "short", ")" + b +
                             R"("], "inputs": [{"name": "x", "data": [")" + c + R"("]}]})";
    const auto r = parseJsonBody(body, kLimits);
    ASSERT_TRUE(r.ok()) << r.error().message;
    EXPECT_EQ(r.value()["images"][0].asString(), a);
    EXPECT_EQ(r.value()["images"][1].asString(), "short");
    EXPECT_EQ(r.value()["images"][2].asString(), b);
    EXPECT_EQ(r.value()["inputs"][0]["data"][0].asString(), c);
    expectSameAsJsoncpp(body);
}

TEST(JsonBody, LongKeysAndDuplicateKeysBehaveAsInJsoncpp) {
    const std::string key = repeat('k', 600);
    // Keys are never lifted: two long keys stay two members, a duplicate keeps the last value.
    expectSameAsJsoncpp(join({R"({")", key, R"(": 1, ")", repeat('j', 600), R"(" : 2})"}));
    expectSameAsJsoncpp(join({R"({"image": ")", repeat('x', 600), R"(", "image": "last"})"}));
    expectSameAsJsoncpp(join({R"({"image": "first", "image": ")", repeat('y', 600), R"("})"}));
    // A key whose colon comes after every kind of JSON whitespace.
    expectSameAsJsoncpp(join({"{\"", key, "\" \t\r\n : \"", repeat('v', 600), "\"}"}));
    // A value whose text is the same as another value's: each keeps its own.
    expectSameAsJsoncpp(R"({"a": ")" + key + R"(", "b": ")" + key + R"("})");
}

TEST(JsonBody, EscapedStringsAreLeftToJsoncpp) {
    const std::string body = join({R"({"image": ")", repeat('q', 600), R"(\n\/\u00e9\"end"})"});
    const auto r = parseJsonBody(body, kLimits);
    ASSERT_TRUE(r.ok()) << r.error().message;
    EXPECT_EQ(r.value()["image"].asString(), repeat('q', 600) + "\n/\xc3\xa9\"end");
    expectSameAsJsoncpp(body);
}

TEST(JsonBody, MalformedBodiesGetJsoncppsOwnWords) {
    const std::string big = repeat('z', 600);
    for (const std::string& body : {
             R"({"image": ")" + big + R"(" "x": 1})",            // missing comma
             R"({"image": ")" + big + R"("} trailing)",          // garbage after the object
             R"({"image": ")" + big + R"(", })",                 // dangling comma
             R"({"image": ")" + big,                             // unterminated string
             R"({"image": [")" + big + R"("})",                  // unclosed array
             R"([")" + big + R"("])",                            // not an object
             R"(")" + big + R"(")",                              // a bare string
             R"({")" + big + R"(")",                             // a key that never ends
             R"({"image": ")" + big + "\x01\x7f\xff" + R"("})",  // bytes jsoncpp takes as they are
         }) {
        expectSameAsJsoncpp(body);
    }
    const auto r = parseJsonBody(R"({"image": ")" + big + R"(" "x": 1})", kLimits);
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error().code, "invalid_json");
    // The column in the body sent ("x" after 11 + 600 + 2 characters), not in the skeleton (14).
    EXPECT_NE(r.error().message.find("Column 614"), std::string::npos) << r.error().message;
}

TEST(JsonBody, DepthAndNulAreRefusedBeforeParsing) {
    RequestLimits limits;
    limits.max_json_depth = 2;
    const auto deep = parseJsonBody(join({R"({"a": [[")", repeat('d', 600), R"("]]})"}), limits);
    ASSERT_FALSE(deep.ok());
    EXPECT_EQ(deep.error().code, "json_too_deep");
    std::string nul = join({R"({"image": ")", repeat('n', 600), R"("})"});
    nul[300] = '\0';
    const auto refused = parseJsonBody(nul, kLimits);
    ASSERT_FALSE(refused.ok());
    EXPECT_EQ(refused.error().code, "invalid_json");
    EXPECT_NE(refused.error().message.find("NUL byte at offset 300"), std::string::npos);
}

// Random documents from a small grammar with long and short, plain and escaped strings, keys and
// values, whitespace, and now and then a broken token: lifting never changes the outcome.
TEST(JsonBody, RandomDocumentsParseAsJsoncppParsesThem) {
    std::mt19937 rng(20261207);
    const auto pick = [&](int n) { return static_cast<int>(rng() % static_cast<unsigned>(n)); };
    const auto text = [&] {
        static const std::vector<std::string> pieces = {
            "A", "b9", "+/", "=", "\\n", "\\\"", "\\u0041", " ", "\xc3\xa9", ":", ","};
        std::string s;
        const int n = pick(4) == 0 ? 200 + pick(400) : pick(6);
        for (int i = 0; i < n; ++i) {
            s += pieces[static_cast<std::size_t>(pick(pick(3) == 0 ? 11 : 4))];
        }
        return join({"\"", s, "\""});
    };
    const auto space = [&] {
        static const std::vector<std::string> ws = {"", " ", "\n", "\t ", "\r\n"};
        return ws[static_cast<std::size_t>(pick(5))];
    };
    std::function<std::string(int)> value = [&](int depth) -> std::string {
        switch (depth > 3 ? pick(3) : pick(6)) {
            case 0:
                return text();
            case 1:
                return std::to_string(pick(1000));
            case 2:
                return pick(2) == 0 ? "true" : "null";
            case 3: {
                std::string a = "[";
                const int n = pick(4);
                for (int i = 0; i < n; ++i) {
                    a += join({i > 0 ? "," : "", space(), value(depth + 1), space()});
                }
                return a + "]";
            }
            default: {
                std::string o = "{";
                const int n = pick(4);
                for (int i = 0; i < n; ++i) {
                    o += join({i > 0 ? "," : "", space(), text(), space(), ":", space(),
                               value(depth + 1)});
                }
                return o + "}";
            }
        }
    };
    RequestLimits limits;
    limits.max_json_depth = 64;
    int accepted = 0;
    for (int i = 0; i < 3000; ++i) {
        std::string body = join({"{", space(), text(), ":", value(0), space(), "}"});
        if (pick(8) == 0) {  // break it somewhere
            body.insert(static_cast<std::size_t>(pick(static_cast<int>(body.size()))),
                        std::string(1, "\",:]}{["[pick(7)]));
        }
        const auto plain = parseJsonBody(body, limits, kNoLifting);
        accepted += plain.ok() ? 1 : 0;
        expectSameAsJsoncpp(body, limits);
        if (HasFailure()) {
            break;
        }
    }
    EXPECT_GT(accepted, 1000) << "the generator should mostly write valid JSON";
}

}  // namespace
}  // namespace predictd
