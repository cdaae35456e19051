// Unit tests for response_encode: exact output, 4-decimal rounding, and valid JSON round trips.
#include <gtest/gtest.h>

#include <json/json.h>

#include <memory>
#include <string>

#include "api/response_encode.hpp"

namespace predictd {
namespace {

Answer tenClasses() {
    Answer a;
    a.probabilities.resize(10);
    return a;
}

Json::Value parse(const std::string& text) {
    Json::CharReaderBuilder b;
    Json::CharReaderBuilder::strictMode(&b.settings_);
    const std::unique_ptr<Json::CharReader> reader(b.newCharReader());
    Json::Value v;
    std::string errors;
    EXPECT_TRUE(reader->parse(text.data(), text.data() + text.size(), &v, &errors))
        << errors << " in " << text;
    return v;
}

Answer sample() {
    Answer p = tenClasses();
    p.label = 7;
    p.confidence = 0.99812f;
    p.probabilities = {0.0f,     0.001f,  1e-9f,    0.5f,     0.25f,
                       0.12345f, 0.0002f, 0.99812f, 0.00005f, 1.0f};
    return p;
}

TEST(ResponseEncode, PredictionExactText) {
    // jsoncpp writes object keys in sorted order.
    EXPECT_EQ(encodeAnswer(sample()), R"({"confidence":0.9981,"prediction":7,"probabilities":)"
                                      R"([0.0,0.001,0.0,0.5,0.25,0.1235,0.0002,0.9981,0.0,1.0]})");
}

TEST(ResponseEncode, PredictionRoundTrips) {
    const Json::Value v = parse(encodeAnswer(sample()));
    EXPECT_EQ(v["prediction"].asInt(), 7);
    EXPECT_DOUBLE_EQ(v["confidence"].asDouble(), 0.9981);
    ASSERT_EQ(v["probabilities"].size(), 10u);
    EXPECT_DOUBLE_EQ(v["probabilities"][5].asDouble(), 0.1235);
    EXPECT_EQ(v.size(), 3u);
}

TEST(ResponseEncode, BatchExactTextAndRoundTrip) {
    Answer a = sample();
    Answer b = tenClasses();
    b.label = 0;
    b.confidence = 0.5f;
    b.probabilities = {0.5f, 0.5f, 0, 0, 0, 0, 0, 0, 0, 0};
    const std::string text = encodeBatch({a, b});
    EXPECT_EQ(text, R"({"predictions":[)"
                    R"({"confidence":0.9981,"prediction":7,"probabilities":)"
                    R"([0.0,0.001,0.0,0.5,0.25,0.1235,0.0002,0.9981,0.0,1.0]},)"
                    R"({"confidence":0.5,"prediction":0,"probabilities":)"
                    R"([0.5,0.5,0.0,0.0,0.0,0.0,0.0,0.0,0.0,0.0]}]})");
    const Json::Value v = parse(text);
    ASSERT_EQ(v["predictions"].size(), 2u);
    EXPECT_EQ(v["predictions"][0]["prediction"].asInt(), 7);
    EXPECT_EQ(v["predictions"][1]["prediction"].asInt(), 0);
}

TEST(ResponseEncode, EmptyBatch) {
    EXPECT_EQ(encodeBatch({}), R"({"predictions":[]})");
}

TEST(ResponseEncode, ErrorExactText) {
    EXPECT_EQ(encodeError(ApiError{400, "invalid_json", "bad body"}),
              R"({"error":{"code":"invalid_json","message":"bad body"}})");
}

TEST(ResponseEncode, ErrorEscapesAndRoundTrips) {
    const std::string message = "quote \" backslash \\ newline \n tab \t ctrl \x01 utf8 \xC3\xA9";
    const std::string text = encodeError(ApiError{413, "image_too_large", message});
    EXPECT_EQ(text.find('\n'), std::string::npos);
    const Json::Value v = parse(text);
    EXPECT_EQ(v["error"]["code"].asString(), "image_too_large");
    EXPECT_EQ(v["error"]["message"].asString(), message);
}

}  // namespace
}  // namespace predictd

namespace predictd {
namespace {

TEST(ResponseEncode, LabelledAnswerWithTopK) {
    const std::vector<std::string> labels = {"cat", "dog", "owl"};
    Answer a;
    a.label = 1;
    a.confidence = 0.7f;
    a.probabilities = {0.2f, 0.7f, 0.1f};
    a.label_names = &labels;
    a.top_k = {{1, 0.7f}, {0, 0.2f}};
    EXPECT_EQ(encodeAnswer(a),
              R"({"confidence":0.7,"prediction":"dog","probabilities":[0.2,0.7,0.1],)"
              R"("top_k":[{"label":"dog","score":0.7},{"label":"cat","score":0.2}]})");
}

TEST(ResponseEncode, TopKWithoutLabelsNamesClassIndices) {
    Answer a;
    a.label = 2;
    a.confidence = 0.6f;
    a.probabilities = {0.1f, 0.3f, 0.6f};
    a.top_k = {{2, 0.6f}};
    EXPECT_EQ(encodeAnswer(a), R"({"confidence":0.6,"prediction":2,"probabilities":[0.1,0.3,0.6],)"
                               R"("top_k":[{"label":2,"score":0.6}]})");
}

TEST(ResponseEncode, ScoresAndDistributionMean) {
    Answer s;
    s.kind = OutputKind::kScores;
    s.scores = {{"attractiveness", {1}, {0.625f}}, {"embedding", {3}, {1.f, 2.f, 3.f}}};
    EXPECT_EQ(encodeAnswer(s), R"({"scores":{"attractiveness":0.625,"embedding":[1.0,2.0,3.0]}})");
    Answer d;
    d.kind = OutputKind::kDistributionMean;
    d.probabilities = {0.25f, 0.5f, 0.25f};
    d.mean = 2.0;
    EXPECT_EQ(encodeAnswer(d), R"({"distribution":[0.25,0.5,0.25],"score":2.0})");
}

}  // namespace
}  // namespace predictd
