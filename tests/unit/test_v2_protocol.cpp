// Unit tests for the Open Inference Protocol v2 (KServe v2 / Triton) routes: the request parser
// (every kind of bad input gets its status and the {"error":"..."} shape), the encoders, and the
// handler end to end on the MNIST model (BYTES images, FP32 / UINT8 tensors, requested outputs,
// the classification extension, id echoed). Expected bodies follow inference_rest.md and
// Triton's extension_classification.md, not our code.
#include <gtest/gtest.h>

#include <Poco/Base64Encoder.h>
#include <json/json.h>

#include <fstream>
#include <iterator>
#include <memory>
#include <sstream>
#include <string>

#include <opencv2/imgcodecs.hpp>

#include "api/v2_request.hpp"
#include "api/v2_response.hpp"
#include "transport/request_handler.hpp"
#include "unit_test_support.hpp"

namespace predictd {
namespace {

using test_support::base64;
using test_support::readFile;
constexpr auto digitB64 = &test_support::sampleDigitB64;
constexpr auto parse = &test_support::parseJson;

const std::string kSourceDir = PREDICTD_SOURCE_DIR;

TEST(V2Request, ParsesTheSpecExampleShape) {
    // inference_rest.md's example, with one input (an image model has one).
    const auto r = parseV2InferRequest(
        R"({"id":"42","inputs":[{"name":"input0","shape":[2,2],"datatype":"UINT8",)"
        R"("data":[1,2,3,4]}],"outputs":[{"name":"output0"}]})",
        RequestLimits{});
    ASSERT_TRUE(r.ok()) << r.error().message;
    EXPECT_EQ(*r.value().id, "42");
    EXPECT_EQ(r.value().input.values, (std::vector<float>{1, 2, 3, 4}));
    ASSERT_EQ(r.value().outputs.size(), 1u);
    EXPECT_EQ(r.value().outputs[0].name, "output0");
}

TEST(V2Request, NestedDataIsFlattenedRowMajor) {
    const auto r = parseV2InferRequest(
        R"({"inputs":[{"name":"x","shape":[2,2],"datatype":"FP32","data":[[1.5,2],[3,4]]}]})",
        RequestLimits{});
    ASSERT_TRUE(r.ok()) << r.error().message;
    EXPECT_EQ(r.value().input.values, (std::vector<float>{1.5f, 2, 3, 4}));
}

TEST(V2Request, ClassificationParameterPerOutputAndPerRequest) {
    const auto r = parseV2InferRequest(
        R"({"parameters":{"classification":3},"inputs":[{"name":"x","shape":[1],)"
        R"("datatype":"BYTES","data":["AAAA"]}],"outputs":[{"name":"p","parameters":)"
        R"({"classification":2}}]})",
        RequestLimits{});
    ASSERT_TRUE(r.ok()) << r.error().message;
    EXPECT_EQ(r.value().classification, 3);
    EXPECT_EQ(r.value().outputs[0].classification, 2);
}

TEST(V2Request, BadInputOfEveryKind) {
    RequestLimits limits;
    limits.max_batch = 4;
    limits.max_base64_bytes = 16;
    limits.max_json_depth = 8;
    struct Case {
        const char* body;
        int status;
        const char* code;
    };
    const Case cases[] = {
        {"", 400, "invalid_json"},
        {"[1]", 400, "invalid_json"},
        {"{\"inputs\":", 400, "invalid_json"},
        {"[[[[[[[[[[[[1]]]]]]]]]]]]", 400, "json_too_deep"},
        {R"({})", 400, "invalid_request"},
        {R"({"inputs":[]})", 400, "invalid_request"},
        {R"({"inputs":{}})", 400, "invalid_request"},
        {R"({"id":7,"inputs":[{"name":"x","shape":[1],"datatype":"BYTES","data":["A"]}]})", 400,
         "invalid_request"},
        {R"({"inputs":[{"name":"x","shape":[1],"datatype":"BYTES","data":["A"]},)"
         R"({"name":"y","shape":[1],"datatype":"BYTES","data":["A"]}]})",
         400, "invalid_request"},
        {R"({"inputs":[{"name":"x","shape":[1],"datatype":"INT64","data":[1]}]})", 400,
         "invalid_request"},
        {R"({"inputs":[{"name":"x","shape":[2],"datatype":"FP32","data":[1]}]})", 400,
         "invalid_request"},
        {R"({"inputs":[{"name":"x","shape":[1],"datatype":"FP32","data":[1,2]}]})", 400,
         "invalid_request"},
        {R"({"inputs":[{"name":"x","shape":[1],"datatype":"FP32","data":["a"]}]})", 400,
         "invalid_request"},
        {R"({"inputs":[{"name":"x","shape":[1],"datatype":"UINT8","data":[256]}]})", 400,
         "invalid_request"},
        {R"({"inputs":[{"name":"x","shape":[1],"datatype":"UINT8","data":[-1]}]})", 400,
         "invalid_request"},
        {R"({"inputs":[{"name":"x","shape":[1],"datatype":"BYTES","data":[1]}]})", 400,
         "invalid_request"},
        {R"({"inputs":[{"name":"x","shape":[-1],"datatype":"FP32","data":[1]}]})", 400,
         "invalid_request"},
        {R"({"inputs":[{"name":"x","shape":[0],"datatype":"FP32","data":[]}]})", 400,
         "invalid_request"},
        {R"({"inputs":[{"name":"x","shape":[1,1099511627776,1099511627776],"datatype":"FP32",)"
         R"("data":[1]}]})",
         400, "invalid_request"},
        {R"({"inputs":[{"name":"x","shape":[5],"datatype":"FP32","data":[1,2,3,4,5]}]})", 413,
         "batch_too_large"},
        {R"({"inputs":[{"name":"x","shape":[1],"datatype":"BYTES","data":["AAAAAAAAAAAAAAAAAAAA"]}]})",
         413, "image_too_large"},
        {R"({"inputs":[{"name":"x","shape":[1],"datatype":"BYTES","data":["A"]}],"outputs":{}})",
         400, "invalid_request"},
        {R"({"inputs":[{"name":"x","shape":[1],"datatype":"BYTES","data":["A"]}],)"
         R"("outputs":[{"name":"p","parameters":{"classification":0}}]})",
         400, "invalid_request"},
        {R"({"inputs":[{"name":"x","shape":[1],"datatype":"BYTES","data":["A"]}],)"
         R"("parameters":{"classification":"two"}})",
         400, "invalid_request"},
    };
    for (const Case& c : cases) {
        SCOPED_TRACE(c.body);
        const auto r = parseV2InferRequest(c.body, limits);
        ASSERT_FALSE(r.ok());
        EXPECT_EQ(r.error().status, c.status) << r.error().message;
        EXPECT_EQ(r.error().code, c.code) << r.error().message;
    }
}

TEST(V2Response, ClassificationStringsAsTritonDocumentsThem) {
    // extension_classification.md: output [1.1, 3.3, 0.5, 2.4], classification 2 →
    // ["3.3:1", "2.4:3"]; with labels "3.3:1:index_1_label".
    const std::vector<float> out = {1.1f, 3.3f, 0.5f, 2.4f};
    EXPECT_EQ(v2Classification(out, 2, {}), (std::vector<std::string>{"3.3:1", "2.4:3"}));
    const std::vector<std::string> labels = {"index_0_label", "index_1_label", "index_2_label",
                                             "index_3_label"};
    EXPECT_EQ(v2Classification(out, 2, labels),
              (std::vector<std::string>{"3.3:1:index_1_label", "2.4:3:index_3_label"}));
    EXPECT_EQ(v2Classification(out, 10, {}).size(), 4u);
}

TEST(V2Response, InferResponseShapeOfTheSpecExample) {
    // inference_rest.md: "output0", shape [3,2], FP32, data [1.0, 1.1, 2.0, 2.1, 3.0, 3.1].
    V2OutputTensor t{"output0", "FP32", {3, 2}, {1.0f, 1.1f, 2.0f, 2.1f, 3.0f, 3.1f}, {}};
    const Json::Value v = parse(encodeV2InferResponse("mymodel", "1", std::string("42"), {t}).body);
    EXPECT_EQ(v["id"].asString(), "42");
    EXPECT_EQ(v["model_name"].asString(), "mymodel");
    const Json::Value& o = v["outputs"][0];
    EXPECT_EQ(o["name"].asString(), "output0");
    EXPECT_EQ(o["datatype"].asString(), "FP32");
    EXPECT_EQ(o["shape"][0].asInt(), 3);
    EXPECT_EQ(o["shape"][1].asInt(), 2);
    ASSERT_EQ(o["data"].size(), 6u);
    EXPECT_FLOAT_EQ(o["data"][1].asFloat(), 1.1f);
    EXPECT_FALSE(parse(encodeV2InferResponse("m", "1", std::nullopt, {}).body).isMember("id"));
}

class V2Handler : public ::testing::Test {
  protected:
    static void SetUpTestSuite() {
        models_ = std::make_unique<ModelRepository>(
            ModelRepository::load({kSourceDir + "/model", "", "mnist"}, RequestLimits{},
                                  BatchingOptions{}, nullptr, [](bool, const std::string&) {}));
        ASSERT_NE(models_->defaultModel(), nullptr);
    }
    static void TearDownTestSuite() { models_.reset(); }

    static HttpResponse call(const std::string& method, const std::string& path,
                             const std::string& body = "", RequestLimits limits = {}) {
        RequestHandler h(*models_, limits);
        return h.handle(HttpRequest{method, path, "", "application/json", body});
    }
    static void expectError(const HttpResponse& r, int status) {
        EXPECT_EQ(r.status, status) << r.body;
        const Json::Value v = parse(r.body);
        EXPECT_TRUE(v["error"].isString()) << r.body;  // {"error": "<message>"}
    }
    static std::unique_ptr<ModelRepository> models_;
};
std::unique_ptr<ModelRepository> V2Handler::models_;

TEST_F(V2Handler, HealthAndServerMetadata) {
    EXPECT_EQ(parse(call("GET", "/v2/health/live").body)["live"].asBool(), true);
    EXPECT_EQ(parse(call("GET", "/v2/health/ready").body)["ready"].asBool(), true);
    const Json::Value meta = parse(call("GET", "/v2").body);
    EXPECT_EQ(meta["name"].asString(), "predictd");
    EXPECT_TRUE(meta["version"].isString());
    ASSERT_TRUE(meta["extensions"].isArray());
}

TEST_F(V2Handler, ModelMetadataAndReadiness) {
    const Json::Value m = parse(call("GET", "/v2/models/mnist").body);
    EXPECT_EQ(m["name"].asString(), "mnist");
    EXPECT_EQ(m["versions"][0].asString(), "1");
    EXPECT_EQ(m["inputs"][0]["name"].asString(), "input");
    EXPECT_EQ(m["inputs"][0]["datatype"].asString(), "FP32");
    EXPECT_EQ(Json::writeString(Json::StreamWriterBuilder(), m["inputs"][0]["shape"]),
              "[\n\t-1,\n\t1,\n\t28,\n\t28\n]");
    EXPECT_EQ(m["outputs"][0]["name"].asString(), "probabilities");
    EXPECT_EQ(m["outputs"][0]["shape"][1].asInt(), 10);
    const Json::Value photo = parse(call("GET", "/v2/models/nsfw-mobilenetv2/versions/1").body);
    EXPECT_EQ(photo["inputs"][0]["shape"][3].asInt(), 3);
    const Json::Value ready = parse(call("GET", "/v2/models/mnist/versions/1/ready").body);
    EXPECT_EQ(ready["name"].asString(), "mnist");
    EXPECT_TRUE(ready["ready"].asBool());
    expectError(call("GET", "/v2/models/nope"), 404);
    expectError(call("GET", "/v2/models/mnist/versions/9/ready"), 404);
    expectError(call("GET", "/v2/models/mnist/versions/x"), 404);
    expectError(call("POST", "/v2/models/mnist"), 405);
    expectError(call("GET", "/v2/nothing"), 404);
}

TEST_F(V2Handler, InfersEncodedImagesAndEchoesTheId) {
    const std::string body = R"({"id":"req-7","inputs":[{"name":"input","shape":[2],)"
                             R"("datatype":"BYTES","data":[")" +
                             digitB64(7) + "\",\"" + digitB64(2) + "\"]}]}";
    const HttpResponse r = call("POST", "/v2/models/mnist/infer", body);
    ASSERT_EQ(r.status, 200) << r.body;
    const Json::Value v = parse(r.body);
    EXPECT_EQ(v["id"].asString(), "req-7");
    EXPECT_EQ(v["model_name"].asString(), "mnist");
    EXPECT_EQ(v["model_version"].asString(), "1");
    const Json::Value& o = v["outputs"][0];
    EXPECT_EQ(o["name"].asString(), "probabilities");
    EXPECT_EQ(o["datatype"].asString(), "FP32");
    EXPECT_EQ(o["shape"][0].asInt(), 2);
    EXPECT_EQ(o["shape"][1].asInt(), 10);
    ASSERT_EQ(o["data"].size(), 20u);
    EXPECT_GT(o["data"][7].asDouble(), 0.9);
    EXPECT_GT(o["data"][12].asDouble(), 0.9);
}

TEST_F(V2Handler, ClassificationExtensionOnTheRequestedOutput) {
    const std::string body = R"({"inputs":[{"name":"input","shape":[1,1],"datatype":"BYTES",)"
                             R"("data":[")" +
                             digitB64(3) +
                             R"("]}],"outputs":[{"name":"probabilities","parameters":)"
                             R"({"classification":2}}]})";
    const HttpResponse r = call("POST", "/v2/models/mnist/versions/1/infer", body);
    ASSERT_EQ(r.status, 200) << r.body;
    const Json::Value o = parse(r.body)["outputs"][0];
    EXPECT_EQ(o["datatype"].asString(), "BYTES");
    EXPECT_EQ(o["shape"][0].asInt(), 1);
    EXPECT_EQ(o["shape"][1].asInt(), 2);
    const std::string top = o["data"][0].asString();
    EXPECT_EQ(top.substr(top.find(':')), ":3") << top;
}

TEST_F(V2Handler, FloatTensorOfTheInputShapeIsUsedAsIs) {
    // digit-5 preprocessed by hand (gray, 28×28, ÷255: an MNIST digit is used as is).
    const cv::Mat digit =
        cv::imread(kSourceDir + "/tests/data/samples/digit-5.png", cv::IMREAD_GRAYSCALE);
    ASSERT_EQ(digit.rows, 28);
    std::string data;
    std::string bytes;
    for (int y = 0; y < 28; ++y) {
        for (int x = 0; x < 28; ++x) {
            const int p = digit.at<unsigned char>(y, x);
            data += data.empty() ? "" : ",";  // apart: GCC 12 -Wrestrict (bug 105329)
            data += std::to_string(p / 255.0);
            bytes += bytes.empty() ? "" : ",";
            bytes += std::to_string(p);
        }
    }
    const HttpResponse r =
        call("POST", "/v2/models/mnist/infer",
             R"({"inputs":[{"name":"input","shape":[1,1,28,28],"datatype":"FP32","data":[)" + data +
                 "]}]}");
    ASSERT_EQ(r.status, 200) << r.body;
    const Json::Value o = parse(r.body)["outputs"][0];
    EXPECT_GT(o["data"][5].asDouble(), 0.9) << r.body;
    // UINT8 is used as is too (the values the model sees are 0..255: the answer differs, but it
    // is served).
    const HttpResponse u =
        call("POST", "/v2/models/mnist/infer",
             R"({"inputs":[{"name":"input","shape":[1,1,28,28],"datatype":"UINT8","data":[)" +
                 bytes + "]}]}");
    EXPECT_EQ(u.status, 200) << u.body;
}

TEST_F(V2Handler, BadRequestsGetTheProtocolsErrorShape) {
    const std::string image = digitB64(1);
    expectError(call("POST", "/v2/models/mnist/infer", ""), 400);
    expectError(call("POST", "/v2/models/mnist/infer", "{"), 400);
    expectError(call("POST", "/v2/models/nope/infer", "{}"), 404);
    expectError(call("POST", "/v2/models/mnist/versions/3/infer", "{}"), 404);
    // Wrong input name, shape, output name; an undecodable image; a tensor of another shape.
    expectError(call("POST", "/v2/models/mnist/infer",
                     R"({"inputs":[{"name":"x","shape":[1],"datatype":"BYTES","data":[")" + image +
                         "\"]}]}"),
                400);
    expectError(call("POST", "/v2/models/mnist/infer",
                     R"({"inputs":[{"name":"input","shape":[1,2],"datatype":"BYTES","data":[")" +
                         image + "\",\"" + image + "\"]}]}"),
                400);
    expectError(call("POST", "/v2/models/mnist/infer",
                     R"({"inputs":[{"name":"input","shape":[1],"datatype":"BYTES","data":[")" +
                         image + R"("]}],"outputs":[{"name":"nope"}]})"),
                400);
    expectError(call("POST", "/v2/models/mnist/infer",
                     R"({"inputs":[{"name":"input","shape":[1],"datatype":"BYTES",)"
                     R"("data":["bm90IGFuIGltYWdl"]}]})"),
                400);
    expectError(call("POST", "/v2/models/mnist/infer",
                     R"({"inputs":[{"name":"input","shape":[1,2],"datatype":"FP32",)"
                     R"("data":[1,2]}]})"),
                400);
    // Limits: body size and the decode budget apply here as on /predict.
    RequestLimits small;
    small.max_body_bytes = 64;
    expectError(call("POST", "/v2/models/mnist/infer", std::string(100, ' '), small), 413);
    RequestLimits budget;
    budget.max_decode_bytes = 100;
    expectError(call("POST", "/v2/models/mnist/infer",
                     R"({"inputs":[{"name":"input","shape":[1],"datatype":"BYTES","data":[")" +
                         image + "\"]}]}",
                     budget),
                413);
}

}  // namespace
}  // namespace predictd
