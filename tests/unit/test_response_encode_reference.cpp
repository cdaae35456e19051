// test_response_encode_reference.cpp — the hand-written prediction encoder writes exactly what
// jsoncpp would, for many values, including the rounding edges.
#include <gtest/gtest.h>

#include <limits>
#include <random>

#include "api/response_encode.hpp"

namespace predictd {
namespace {

Answer tenClasses() {
    Answer a;
    a.probabilities.resize(10);
    return a;
}

Answer withValues(std::mt19937& rng, const std::vector<float>& specials) {
    std::uniform_real_distribution<float> uniform(0.0f, 1.0f);
    std::uniform_int_distribution<std::size_t> pick(0, specials.size() - 1);
    Answer p = tenClasses();
    p.label = static_cast<int>(rng() % 10);
    for (float& q : p.probabilities) {
        q = (rng() % 3 == 0) ? specials[pick(rng)] : uniform(rng);
    }
    p.confidence = p.probabilities[static_cast<std::size_t>(p.label)];
    return p;
}

TEST(ResponseEncodeReference, MatchesJsoncppByteForByte) {
    const std::vector<float> specials = {0.0f,     1.0f,     0.5f,     0.00005f, 0.00004999f,
                                         0.99995f, 0.99994f, 0.12345f, 0.00015f, 1e-9f,
                                         0.1f,     0.9999f,  0.00001f, 0.0001f,  0.25f};
    std::mt19937 rng(20261125);
    for (int i = 0; i < 20000; ++i) {
        const Answer p = withValues(rng, specials);
        ASSERT_EQ(encodeAnswer(p), encodeAnswerWithJsoncpp(p)) << "case " << i;
    }
}

// NaN is null in both; for infinity jsoncpp writes 1e+9999, which strict JSON parsers refuse,
// so ours writes null there too (a softmax never gives either; this is about never emitting
// invalid JSON).
TEST(ResponseEncodeReference, NonFiniteNumbersBecomeNull) {
    Answer p = tenClasses();
    p.label = 1;
    p.probabilities[1] = std::numeric_limits<float>::quiet_NaN();
    p.probabilities[2] = std::numeric_limits<float>::infinity();
    p.confidence = p.probabilities[1];
    EXPECT_EQ(encodeAnswer(p),
              R"({"confidence":null,"prediction":1,"probabilities":[0.0,null,null,0.0,0.0,0.0,)"
              R"(0.0,0.0,0.0,0.0]})");
}

TEST(ResponseEncodeReference, BatchIsTheListOfPredictions) {
    Answer a = tenClasses();
    a.label = 3;
    a.confidence = 0.75f;
    a.probabilities[3] = 0.75f;
    EXPECT_EQ(encodeBatch({a, a}),
              "{\"predictions\":[" + encodeAnswer(a) + "," + encodeAnswer(a) + "]}");
}

}  // namespace
}  // namespace predictd
