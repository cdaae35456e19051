// unit_v2_protocol.cpp — predictd-score's v2 binary batch against the server's own parser and
// encoder (worker/api/v2_request, v2_response): what the client sends is what predictd accepts,
// and what predictd answers is what the client reads. Also the error-answer reader.
#include <gtest/gtest.h>

#include "api/v2_request.hpp"
#include "api/v2_response.hpp"
#include "http_exchange.hpp"
#include "v2_protocol.hpp"

namespace predictd::score {
namespace {

V2Target mnist() {
    return V2Target{"mnist", "", "input", "probabilities", 3};
}

TEST(ScoreV2Protocol, BatchIsWhatTheServerParses) {
    const std::string a = "\x89PNG first image";
    const std::string b("second\0image", 12);
    const HttpCall call = encodeV2Batch(mnist(), {a, b});
    EXPECT_EQ(call.method, "POST");
    EXPECT_EQ(call.path, "/v2/models/mnist/infer");
    EXPECT_EQ(call.content_type, "application/octet-stream");
    ASSERT_EQ(call.headers.size(), 1u);
    EXPECT_EQ(call.headers[0].first, "Inference-Header-Content-Length");
    const std::string header_length = call.headers[0].second;
    EXPECT_EQ(call.body.size(), std::stoul(header_length) + 4 + a.size() + 4 + b.size());

    const auto parsed = predictd::parseV2InferRequest(call.body, RequestLimits{}, header_length);
    ASSERT_TRUE(parsed.ok()) << parsed.error().message;
    const V2InferRequest& r = parsed.value();
    EXPECT_EQ(r.input.name, "input");
    EXPECT_EQ(r.input.datatype, "BYTES");
    EXPECT_EQ(r.input.shape, (std::vector<std::int64_t>{2}));
    ASSERT_EQ(r.input.raw_elements.size(), 2u);
    EXPECT_EQ(r.input.raw_elements[0], a);
    EXPECT_EQ(r.input.raw_elements[1], b);
    ASSERT_EQ(r.outputs.size(), 1u);
    EXPECT_EQ(r.outputs[0].name, "probabilities");
    EXPECT_EQ(r.outputs[0].classification, 3);
    EXPECT_TRUE(r.outputs[0].binary);
}

TEST(ScoreV2Protocol, VersionAndNamesArePercentEncoded) {
    V2Target t = mnist();
    t.model = "my model";
    t.version = "2";
    EXPECT_EQ(encodeV2Batch(t, {"x"}).path, "/v2/models/my%20model/versions/2/infer");
    EXPECT_EQ(v2ModelPath("mnist", ""), "/v2/models/mnist");
}

HttpReply serverAnswer(bool binary, const std::vector<std::string>& strings, std::int64_t n,
                       std::int64_t k) {
    V2OutputTensor t;
    t.name = "probabilities";
    t.datatype = "BYTES";
    t.shape = {n, k};
    t.strings = strings;
    t.binary = binary;
    const V2InferBody body = encodeV2InferResponse("mnist", "1", std::nullopt, {t});
    HttpReply reply;
    reply.status = 200;
    reply.body = body.body;
    if (body.json_length != 0) {
        reply.inference_header_length = std::to_string(body.json_length);
    }
    return reply;
}

TEST(ScoreV2Protocol, ReadsTheServersBinaryClassification) {
    const HttpReply reply =
        serverAnswer(true, {"0.9:7", "0.05:1", "0.5:2:Neutral", "0.25:0:Drawing"}, 2, 2);
    ASSERT_FALSE(reply.inference_header_length.empty());
    const V2Decoded d = decodeV2Answer(reply, 2);
    ASSERT_TRUE(d.answer) << d.error;
    EXPECT_EQ(d.answer->version, "1");
    ASSERT_EQ(d.answer->images.size(), 2u);
    ASSERT_EQ(d.answer->images[0].size(), 2u);
    EXPECT_EQ(d.answer->images[0][0].label, "7");
    EXPECT_DOUBLE_EQ(d.answer->images[0][0].score, 0.9);
    EXPECT_EQ(d.answer->images[0][1].label, "1");
    EXPECT_EQ(d.answer->images[1][0].label, "Neutral");
    EXPECT_DOUBLE_EQ(d.answer->images[1][1].score, 0.25);
}

TEST(ScoreV2Protocol, ReadsJsonClassificationData) {
    const V2Decoded d = decodeV2Answer(serverAnswer(false, {"0.75:3", "1:4"}, 2, 1), 2);
    ASSERT_TRUE(d.answer) << d.error;
    EXPECT_EQ(d.answer->images[0][0].label, "3");
    EXPECT_EQ(d.answer->images[1][0].label, "4");
    EXPECT_DOUBLE_EQ(d.answer->images[1][0].score, 1.0);
}

TEST(ScoreV2Protocol, RefusesAnswersThatDoNotFit) {
    EXPECT_FALSE(decodeV2Answer(serverAnswer(true, {"0.9:7", "0.1:1", "0.2:2"}, 3, 1), 2).answer);
    HttpReply cut = serverAnswer(true, {"0.9:7"}, 1, 1);
    cut.body.pop_back();
    EXPECT_FALSE(decodeV2Answer(cut, 1).answer);
    HttpReply bad_header = serverAnswer(true, {"0.9:7"}, 1, 1);
    bad_header.inference_header_length = "99999";
    EXPECT_FALSE(decodeV2Answer(bad_header, 1).answer);
    HttpReply not_json;
    not_json.body = "<html>";
    EXPECT_FALSE(decodeV2Answer(not_json, 1).answer);
    EXPECT_FALSE(decodeV2Answer(serverAnswer(false, {"nonsense"}, 1, 1), 1).answer);
}

TEST(ScoreV2Protocol, ClassificationStrings) {
    auto c = parseClassification("0.5:2:Neutral");
    ASSERT_TRUE(c);
    EXPECT_EQ(c->label, "Neutral");
    EXPECT_DOUBLE_EQ(c->score, 0.5);
    c = parseClassification("1e-05:9");
    ASSERT_TRUE(c);
    EXPECT_EQ(c->label, "9");
    EXPECT_DOUBLE_EQ(c->score, 1e-05);
    EXPECT_FALSE(parseClassification("0.5"));
    EXPECT_FALSE(parseClassification("x:1"));
    EXPECT_FALSE(parseClassification("0.5:"));
}

TEST(ScoreV2Protocol, ServerAndModelMetadata) {
    EXPECT_TRUE(v2OffersBinary(
        R"({"name":"predictd","version":"0.1.0","extensions":["classification","binary_tensor_data"]})"));
    EXPECT_FALSE(v2OffersBinary(R"({"name":"x","extensions":["classification"]})"));
    EXPECT_FALSE(v2OffersBinary("not json"));
    const auto io = v2ModelIo(
        R"({"inputs":[{"datatype":"FP32","name":"input","shape":[-1,1,28,28]}],"name":"mnist","outputs":[{"datatype":"FP32","name":"probabilities","shape":[-1,10]}]})");
    ASSERT_TRUE(io);
    EXPECT_EQ(io->input, "input");
    EXPECT_EQ(io->output, "probabilities");
    EXPECT_FALSE(v2ModelIo(R"({"inputs":[],"outputs":[]})"));
}

TEST(ScoreV2Protocol, ErrorAnswersOfBothShapes) {
    std::string code;
    EXPECT_EQ(errorMessage(R"({"error":"inputs[0].data[1]: not an image"})", &code),
              "inputs[0].data[1]: not an image");
    EXPECT_EQ(code, "");
    EXPECT_EQ(errorMessage(R"({"error":{"code":"undecodable_image","message":"corrupt"}})", &code),
              "corrupt");
    EXPECT_EQ(code, "undecodable_image");
    EXPECT_EQ(errorMessage("<html>bad gateway</html>"), "<html>bad gateway</html>");
}

}  // namespace
}  // namespace predictd::score
