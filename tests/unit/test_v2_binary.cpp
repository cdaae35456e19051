// Unit tests for Triton's binary tensor data extension on the v2 inference route: the byte
// layout (v2_binary), the request parser and response encoder with binary tensors, and the
// handler end to end on the MNIST model. The requests are framed here by hand from
// triton-inference-server/server docs/protocol/extension_binary_data.md (little-endian, BYTES
// elements length-prefixed, the JSON's length in Inference-Header-Content-Length), not with
// predictd's own writers.
#include <gtest/gtest.h>

#include <json/json.h>

#include <cstdint>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include <opencv2/imgcodecs.hpp>

#include "api/v2_binary.hpp"
#include "api/v2_request.hpp"
#include "api/v2_response.hpp"
#include "transport/request_handler.hpp"
#include "unit_test_support.hpp"

namespace predictd {
namespace {

using test_support::readFile;
constexpr auto parse = &test_support::parseJson;
const std::string kSourceDir = PREDICTD_SOURCE_DIR;

// --- the spec's framing, written independently --------------------------------------------

std::string le32(std::uint32_t v) {
    std::string s(4, '\0');
    for (int i = 0; i < 4; ++i) {
        s[static_cast<std::size_t>(i)] = static_cast<char>((v >> (8 * i)) & 0xffu);
    }
    return s;
}

std::string leFloats(const std::vector<float>& values) {
    std::string s;
    for (const float f : values) {
        std::uint32_t bits = 0;
        std::memcpy(&bits, &f, 4);
        s += le32(bits);
    }
    return s;
}

std::vector<float> floatsFrom(std::string_view bytes) {
    std::vector<float> out;
    for (std::size_t at = 0; at + 4 <= bytes.size(); at += 4) {
        std::uint32_t bits = 0;
        for (int i = 3; i >= 0; --i) {
            bits =
                (bits << 8) | static_cast<unsigned char>(bytes[at + static_cast<std::size_t>(i)]);
        }
        float f = 0;
        std::memcpy(&f, &bits, 4);
        out.push_back(f);
    }
    return out;
}

// BYTES tensor data: each element's 4-byte length, then its bytes.
std::string bytesTensor(const std::vector<std::string>& elements) {
    std::string s;
    for (const auto& e : elements) {
        s += le32(static_cast<std::uint32_t>(e.size()));
        s += e;
    }
    return s;
}

std::string digitPng(int label) {
    return readFile(kSourceDir + "/tests/data/samples/digit-" + std::to_string(label) + ".png");
}

// --- the byte layout -----------------------------------------------------------------------

TEST(V2Binary, SplitsTheBodyAtTheHeaderLength) {
    const auto r = splitV2BinaryBody("{\"a\":1}XYZ", "7");
    ASSERT_TRUE(r.ok()) << r.error().message;
    EXPECT_EQ(r.value().json, "{\"a\":1}");
    EXPECT_EQ(r.value().binary, "XYZ");
    EXPECT_EQ(splitV2BinaryBody("{}", "2").value().binary, "");
    for (const char* bad : {"", "x", "-1", "7 ", "+7", "0x7", "11", "99999999999999999999999"}) {
        const auto e = splitV2BinaryBody("{\"a\":1}XYZ", bad);
        ASSERT_FALSE(e.ok()) << bad;
        EXPECT_EQ(e.error().status, 400) << bad;
        EXPECT_NE(e.error().message.find("Inference-Header-Content-Length"), std::string::npos);
    }
}

TEST(V2Binary, ReadsLengthPrefixedBytesElements) {
    const std::string data = bytesTensor({"abc", "", "hello"});
    const auto r = readV2BinaryBytes(data, 3, 100, "inputs[0]");
    ASSERT_TRUE(r.ok()) << r.error().message;
    ASSERT_EQ(r.value().size(), 3u);
    EXPECT_EQ(r.value()[0], "abc");
    EXPECT_EQ(r.value()[1], "");
    EXPECT_EQ(r.value()[2], "hello");
    // Views into the data, not copies.
    EXPECT_EQ(r.value()[2].data(), data.data() + data.size() - 5);

    struct Case {
        std::string data;
        std::size_t count;
        int status;
        const char* says;
    };
    const std::vector<Case> cases = {
        {bytesTensor({"abc"}), 2, 400, "holds 1 elements; shape needs 2"},
        {bytesTensor({"a", "b", "c"}), 2, 400, "more than the shape's 2"},
        {bytesTensor({"abc"}).substr(0, 6), 1, 400, "only 2 remain"},
        {bytesTensor({"abc"}) + "\x01\x00", 2, 400, "4-byte length"},
        {le32(0xffffffffu) + "x", 1, 400, "4294967295 bytes"},
        {bytesTensor({std::string(101, 'z')}), 1, 413, "the limit is 100 bytes"},
    };
    for (const Case& c : cases) {
        const auto e = readV2BinaryBytes(c.data, c.count, 100, "inputs[0]");
        ASSERT_FALSE(e.ok()) << c.says;
        EXPECT_EQ(e.error().status, c.status) << e.error().message;
        EXPECT_NE(e.error().message.find(c.says), std::string::npos) << e.error().message;
    }
}

TEST(V2Binary, ReadsFp32AndUint8Tensors) {
    const auto f = readV2BinaryNumbers(leFloats({1.5f, -2.0f, 0.25f}), "FP32", 3, "inputs[0]");
    ASSERT_TRUE(f.ok()) << f.error().message;
    EXPECT_EQ(f.value(), (std::vector<float>{1.5f, -2.0f, 0.25f}));
    const auto u = readV2BinaryNumbers(std::string("\x00\x7f\xff", 3), "UINT8", 3, "inputs[0]");
    ASSERT_TRUE(u.ok()) << u.error().message;
    EXPECT_EQ(u.value(), (std::vector<float>{0, 127, 255}));
    const auto short_f = readV2BinaryNumbers(leFloats({1, 2}) + "x", "FP32", 2, "inputs[0]");
    ASSERT_FALSE(short_f.ok());
    EXPECT_NE(short_f.error().message.find("binary FP32 data is 9 bytes; shape needs 8"),
              std::string::npos)
        << short_f.error().message;
    EXPECT_FALSE(readV2BinaryNumbers("ab", "UINT8", 3, "inputs[0]").ok());
}

// --- the request ----------------------------------------------------------------------------

TEST(V2BinaryRequest, TheSpecsExampleShape) {
    // extension_binary_data.md's request, with the one input an image model takes (FP32 in
    // place of its UINT32, which predictd does not take) and its "output0" asked for as binary.
    const std::string json =
        R"({"model_name":"mymodel","inputs":[{"name":"input0","shape":[2,2],"datatype":"FP32",)"
        R"("parameters":{"binary_data_size":16}}],"outputs":[{"name":"output0",)"
        R"("parameters":{"binary_data":true}}]})";
    const std::string body = json + leFloats({1, 2, 3, 4});
    const auto r = parseV2InferRequest(body, RequestLimits{}, std::to_string(json.size()));
    ASSERT_TRUE(r.ok()) << r.error().message;
    EXPECT_EQ(r.value().input.values, (std::vector<float>{1, 2, 3, 4}));
    ASSERT_EQ(r.value().outputs.size(), 1u);
    EXPECT_TRUE(r.value().outputs[0].binary);
}

TEST(V2BinaryRequest, BytesElementsAreViewsIntoTheBody) {
    const std::string json = R"({"inputs":[{"name":"input","shape":[2],"datatype":"BYTES",)"
                             R"("parameters":{"binary_data_size":13}}]})";
    const std::string body = json + bytesTensor({"abc", "wxyz"}) + "";
    ASSERT_EQ(body.size() - json.size(), 15u);  // 4+3 + 4+4
    // 13 is wrong (15 follow): refused, then the right size accepted.
    const auto wrong = parseV2InferRequest(body, RequestLimits{}, std::to_string(json.size()));
    ASSERT_FALSE(wrong.ok());
    EXPECT_NE(wrong.error().message.find("is 15 bytes; the inputs' binary_data_size add up to 13"),
              std::string::npos)
        << wrong.error().message;
    std::string fixed_json = json;
    fixed_json.replace(fixed_json.find("13"), 2, "15");
    const std::string fixed = fixed_json + bytesTensor({"abc", "wxyz"});
    const auto r = parseV2InferRequest(fixed, RequestLimits{}, std::to_string(fixed_json.size()));
    ASSERT_TRUE(r.ok()) << r.error().message;
    ASSERT_EQ(r.value().input.raw_elements.size(), 2u);
    EXPECT_TRUE(r.value().input.elements.empty());
    EXPECT_EQ(r.value().input.raw_elements[1], "wxyz");
    EXPECT_EQ(r.value().input.raw_elements[1].data(), fixed.data() + fixed.size() - 4);
}

TEST(V2BinaryRequest, BinaryDataOutputIsTheDefaultAnOutputMayOverride) {
    const std::string body =
        R"({"parameters":{"binary_data_output":true},"inputs":[{"name":"x","shape":[1],)"
        R"("datatype":"UINT8","data":[1]}],"outputs":[{"name":"a"},{"name":"b",)"
        R"("parameters":{"binary_data":false}}]})";
    // No binary input: the header is optional, and with it the binary section is empty.
    for (const bool with_header : {false, true}) {
        const auto r = with_header
                           ? parseV2InferRequest(body, RequestLimits{}, std::to_string(body.size()))
                           : parseV2InferRequest(body, RequestLimits{});
        ASSERT_TRUE(r.ok()) << r.error().message;
        EXPECT_TRUE(r.value().binary_output);
        EXPECT_TRUE(r.value().outputs[0].binary);
        EXPECT_FALSE(r.value().outputs[1].binary);
    }
}

TEST(V2BinaryRequest, BadBinaryRequestsAre400WithAReason) {
    const std::string input =
        R"({"inputs":[{"name":"x","shape":[1,2],"datatype":"FP32","parameters":{"binary_data_size":8})";
    struct Case {
        std::string json;
        std::string binary;
        bool header;
        const char* says;
    };
    const std::vector<Case> cases = {
        {input + "}]}", "", false, "no Inference-Header-Content-Length header"},
        {input + R"(,"data":[1,2]}]})", leFloats({1, 2}), true, "both \"data\" and"},
        {R"({"inputs":[{"name":"x","shape":[1,2],"datatype":"FP32"}]})", "", true,
         "neither \"data\" nor"},
        {input + "}]}", leFloats({1, 2}) + "extra", true, "add up to 8"},
        {input + "}]}", leFloats({1}), true, "add up to 8"},
        {R"({"inputs":[{"name":"x","shape":[1,2],"datatype":"FP32","parameters":{"binary_data_size":-8}}]})",
         "", true, "non-negative integer"},
        {R"({"inputs":[{"name":"x","shape":[1,3],"datatype":"FP32","parameters":{"binary_data_size":8}}]})",
         leFloats({1, 2}), true, "shape needs 12"},
        {input + R"(}],"outputs":[{"name":"y","parameters":{"binary_data":1}}]})", leFloats({1, 2}),
         true, "\"binary_data\" must be true or false"},
        {R"({"parameters":{"binary_data_output":"yes"},)" + input.substr(1) + "}]}",
         leFloats({1, 2}), true, "\"binary_data_output\" must be true or false"},
        {R"({"inputs":[{"name":"x","shape":[1],"datatype":"FP32","data":[1]}]})", "junk", true,
         "add up to 0"},
    };
    for (const Case& c : cases) {
        const std::string body = c.json + c.binary;
        const auto r =
            c.header ? parseV2InferRequest(body, RequestLimits{}, std::to_string(c.json.size()))
                     : parseV2InferRequest(body, RequestLimits{});
        ASSERT_FALSE(r.ok()) << c.says;
        EXPECT_EQ(r.error().status, 400) << r.error().message;
        EXPECT_NE(r.error().message.find(c.says), std::string::npos)
            << c.says << " | " << r.error().message;
    }
    // A binary image larger than the bytes max_base64_bytes of text carry: 413.
    RequestLimits limits;
    limits.max_base64_bytes = 8;  // 6 bytes
    const std::string json =
        R"({"inputs":[{"name":"x","shape":[1],"datatype":"BYTES","parameters":{"binary_data_size":11}}]})";
    const auto big =
        parseV2InferRequest(json + bytesTensor({"1234567"}), limits, std::to_string(json.size()));
    ASSERT_FALSE(big.ok());
    EXPECT_EQ(big.error().status, 413);
    EXPECT_EQ(big.error().code, "image_too_large");
}

// --- the response ---------------------------------------------------------------------------

TEST(V2BinaryResponse, TheSpecsExampleShape) {
    // extension_binary_data.md's answer: "output0", [3,2] FP32, binary_data_size 24, then 24
    // bytes.
    const std::vector<float> values{1.0f, 1.1f, 2.0f, 2.1f, 3.0f, 3.1f};
    V2OutputTensor t{"output0", "FP32", {3, 2}, values, {}, true};
    const V2InferBody b = encodeV2InferResponse("mymodel", "1", std::nullopt, {t});
    ASSERT_GT(b.json_length, 0u);
    ASSERT_EQ(b.body.size(), b.json_length + 24);
    const Json::Value v = parse(b.body.substr(0, b.json_length));
    const Json::Value& o = v["outputs"][0];
    EXPECT_EQ(o["name"].asString(), "output0");
    EXPECT_EQ(o["datatype"].asString(), "FP32");
    EXPECT_EQ(o["shape"][1].asInt(), 2);
    EXPECT_EQ(o["parameters"]["binary_data_size"].asInt(), 24);
    EXPECT_FALSE(o.isMember("data"));
    EXPECT_EQ(floatsFrom(std::string_view(b.body).substr(b.json_length)), values);
}

TEST(V2BinaryResponse, MixedOutputsKeepTheirOrderAndBytesAreLengthPrefixed) {
    V2OutputTensor json_out{"a", "FP32", {1, 2}, {0.5f, 0.25f}, {}, false};
    V2OutputTensor strings{"b", "BYTES", {1, 2}, {}, {"0.9:3:three", "0.1:1"}, true};
    V2OutputTensor floats{"c", "FP32", {1, 1}, {7.0f}, {}, true};
    const V2InferBody b =
        encodeV2InferResponse("m", "1", std::string("x"), {json_out, strings, floats});
    const Json::Value v = parse(b.body.substr(0, b.json_length));
    EXPECT_EQ(v["outputs"][0]["data"].size(), 2u);
    const std::string expect_b = bytesTensor({"0.9:3:three", "0.1:1"});
    EXPECT_EQ(v["outputs"][1]["parameters"]["binary_data_size"].asUInt(), expect_b.size());
    EXPECT_EQ(v["outputs"][2]["parameters"]["binary_data_size"].asUInt(), 4u);
    EXPECT_EQ(b.body.substr(b.json_length), expect_b + leFloats({7.0f}));
    // No binary output: JSON only, no header length.
    EXPECT_EQ(encodeV2InferResponse("m", "1", std::nullopt, {json_out}).json_length, 0u);
}

// --- the handler, end to end on MNIST -------------------------------------------------------

class V2BinaryHandler : public ::testing::Test {
  protected:
    static void SetUpTestSuite() {
        models_ = std::make_unique<ModelRepository>(
            ModelRepository::load({kSourceDir + "/model", "", "mnist"}, RequestLimits{},
                                  BatchingOptions{}, nullptr, [](bool, const std::string&) {}));
        ASSERT_NE(models_->defaultModel(), nullptr);
    }
    static void TearDownTestSuite() { models_.reset(); }

    static HttpResponse post(const std::string& json, const std::string& binary) {
        RequestHandler h(*models_, RequestLimits{});
        HttpRequest req{"POST", "/v2/models/mnist/infer", "", "application/octet-stream",
                        json + binary};
        req.inference_header_length = std::to_string(json.size());
        return h.handle(req);
    }
    static std::string header(const HttpResponse& r, const std::string& name) {
        for (const auto& [n, v] : r.headers) {
            if (n == name) {
                return v;
            }
        }
        return "";
    }
    static std::unique_ptr<ModelRepository> models_;
};
std::unique_ptr<ModelRepository> V2BinaryHandler::models_;

TEST_F(V2BinaryHandler, EncodedImagesInAndProbabilitiesOutAsBinary) {
    const std::string data = bytesTensor({digitPng(7), digitPng(2), digitPng(9)});
    const std::string json = R"({"id":"b1","inputs":[{"name":"input","shape":[3],)"
                             R"("datatype":"BYTES","parameters":{"binary_data_size":)" +
                             std::to_string(data.size()) +
                             R"(}}],"parameters":{"binary_data_output":true}})";
    const HttpResponse r = post(json, data);
    ASSERT_EQ(r.status, 200) << r.body;
    EXPECT_EQ(r.content_type, "application/octet-stream");
    const std::size_t n = std::stoul(header(r, "Inference-Header-Content-Length"));
    ASSERT_LT(n, r.body.size());
    const Json::Value v = parse(r.body.substr(0, n));
    EXPECT_EQ(v["id"].asString(), "b1");
    const Json::Value& o = v["outputs"][0];
    EXPECT_EQ(o["name"].asString(), "probabilities");
    EXPECT_EQ(o["shape"][0].asInt(), 3);
    EXPECT_EQ(o["shape"][1].asInt(), 10);
    EXPECT_EQ(o["parameters"]["binary_data_size"].asUInt(), 120u);
    const std::vector<float> p = floatsFrom(std::string_view(r.body).substr(n));
    ASSERT_EQ(p.size(), 30u);
    EXPECT_GT(p[7], 0.9f);
    EXPECT_GT(p[10 + 2], 0.9f);
    EXPECT_GT(p[20 + 9], 0.9f);
}

TEST_F(V2BinaryHandler, BinaryInputWithJsonAndClassificationOutputs) {
    const std::string data = bytesTensor({digitPng(4)});
    const std::string json =
        R"({"inputs":[{"name":"input","shape":[1],"datatype":"BYTES","parameters":)"
        R"({"binary_data_size":)" +
        std::to_string(data.size()) +
        R"(}}],"outputs":[{"name":"probabilities","parameters":{"classification":1}}]})";
    const HttpResponse r = post(json, data);
    ASSERT_EQ(r.status, 200) << r.body;
    EXPECT_EQ(r.content_type, "application/json");  // no binary output: plain JSON
    EXPECT_EQ(header(r, "Inference-Header-Content-Length"), "");
    const std::string top = parse(r.body)["outputs"][0]["data"][0].asString();
    EXPECT_EQ(top.substr(top.find(':')), ":4") << top;

    // The same asked for as binary: BYTES elements, length-prefixed.
    std::string json_b = json;
    json_b.replace(json_b.find("{\"classification\":1}"), 20,
                   R"({"classification":1,"binary_data":true})");
    const HttpResponse b = post(json_b, data);
    ASSERT_EQ(b.status, 200) << b.body;
    const std::size_t n = std::stoul(header(b, "Inference-Header-Content-Length"));
    const std::string_view rest = std::string_view(b.body).substr(n);
    ASSERT_GE(rest.size(), 4u);
    const std::string_view label = rest.substr(4);
    EXPECT_EQ(static_cast<unsigned char>(rest[0]), label.size());
    EXPECT_EQ(label.substr(label.find(':')), ":4") << label;
}

TEST_F(V2BinaryHandler, Fp32TensorAsBinaryIsUsedAsIs) {
    const cv::Mat digit =
        cv::imread(kSourceDir + "/tests/data/samples/digit-5.png", cv::IMREAD_GRAYSCALE);
    ASSERT_EQ(digit.rows, 28);
    std::vector<float> values;
    for (int y = 0; y < 28; ++y) {
        for (int x = 0; x < 28; ++x) {
            values.push_back(static_cast<float>(digit.at<unsigned char>(y, x)) / 255.0f);
        }
    }
    const std::string json = R"({"inputs":[{"name":"input","shape":[1,1,28,28],"datatype":"FP32",)"
                             R"("parameters":{"binary_data_size":3136}}]})";
    const HttpResponse r = post(json, leFloats(values));
    ASSERT_EQ(r.status, 200) << r.body;
    EXPECT_GT(parse(r.body)["outputs"][0]["data"][5].asDouble(), 0.9) << r.body;
}

TEST_F(V2BinaryHandler, BadBinaryGetsTheProtocolsErrorShape) {
    const std::string data = bytesTensor({"not an image"});
    const std::string json = R"({"inputs":[{"name":"input","shape":[1],"datatype":"BYTES",)"
                             R"("parameters":{"binary_data_size":)" +
                             std::to_string(data.size()) + "}}]}";
    for (const HttpResponse& r :
         {post(json, data), post(json, data.substr(0, 10)), post(json + "x", data)}) {
        EXPECT_EQ(r.status, 400) << r.body;
        EXPECT_EQ(r.content_type, "application/json");
        EXPECT_TRUE(parse(r.body)["error"].isString()) << r.body;
    }
    // The header longer than the body.
    RequestHandler h(*models_, RequestLimits{});
    const HttpRequest req{"POST", "/v2/models/mnist/infer", "", "application/octet-stream",
                          "{}",   std::string("3")};
    const HttpResponse r = h.handle(req);
    EXPECT_EQ(r.status, 400) << r.body;
    EXPECT_TRUE(parse(r.body)["error"].isString()) << r.body;
}

}  // namespace
}  // namespace predictd
