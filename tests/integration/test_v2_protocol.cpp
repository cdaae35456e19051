// The Open Inference Protocol v2 through NGINX and the real supervisor, spoken by a small client
// written from the specification (kserve/open-inference-protocol inference_rest.md and Triton's
// extension_classification.md and extension_binary_data.md), not from predictd's code: both
// shipped models reachable, the spec's request/answer shapes, binary tensor data both ways,
// errors as {"error": "..."}.
#include <gtest/gtest.h>

#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include "service_harness.hpp"

namespace predictd::testing {
namespace {

// The client: paths, verbs and bodies as inference_rest.md lists them.
class V2Client {
  public:
    explicit V2Client(int port) : port_(port) {}
    [[nodiscard]] bool live() const { return get("/v2/health/live").status == 200; }
    [[nodiscard]] bool ready() const { return get("/v2/health/ready").status == 200; }
    [[nodiscard]] HttpResult serverMetadata() const { return get("/v2"); }
    [[nodiscard]] HttpResult modelMetadata(const std::string& model) const {
        return get("/v2/models/" + model);
    }
    [[nodiscard]] bool modelReady(const std::string& model, const std::string& version) const {
        return get("/v2/models/" + model + "/versions/" + version + "/ready").status == 200;
    }
    // One BYTES input of encoded images; optionally one requested output with a classification
    // count (Triton's extension).
    [[nodiscard]] HttpResult inferImages(const std::string& model, const std::string& input,
                                         const std::vector<std::string>& images,
                                         const std::string& id, const std::string& output = "",
                                         int classification = 0) const {
        Json::Value req(Json::objectValue);
        req["id"] = id;
        Json::Value in(Json::objectValue);
        in["name"] = input;
        in["datatype"] = "BYTES";
        in["shape"].append(static_cast<Json::UInt>(images.size()));
        for (const auto& image : images) {
            in["data"].append(base64(image));
        }
        req["inputs"].append(in);
        if (!output.empty()) {
            Json::Value out(Json::objectValue);
            out["name"] = output;
            if (classification > 0) {
                out["parameters"]["classification"] = classification;
            }
            req["outputs"].append(out);
        }
        return httpRequest(port_, "POST", "/v2/models/" + model + "/infer",
                           Json::writeString(Json::StreamWriterBuilder(), req));
    }

    // Triton's binary tensor data extension: the JSON request object, then the BYTES tensor's
    // data (each element a 4-byte little-endian length and its bytes); its length in
    // Inference-Header-Content-Length. Outputs asked for as binary with "binary_data_output".
    [[nodiscard]] HttpResult inferImagesBinary(const std::string& model, const std::string& input,
                                               const std::vector<std::string>& images,
                                               bool binary_output) const {
        std::string data;
        for (const auto& image : images) {
            const auto n = static_cast<std::uint32_t>(image.size());
            for (int i = 0; i < 4; ++i) {
                data += static_cast<char>((n >> (8 * i)) & 0xffu);
            }
            data += image;
        }
        Json::Value req(Json::objectValue);
        Json::Value in(Json::objectValue);
        in["name"] = input;
        in["datatype"] = "BYTES";
        in["shape"].append(static_cast<Json::UInt>(images.size()));
        in["parameters"]["binary_data_size"] = static_cast<Json::UInt64>(data.size());
        req["inputs"].append(in);
        req["parameters"]["binary_data_output"] = binary_output;
        const std::string json = Json::writeString(Json::StreamWriterBuilder(), req);
        return httpRequest(port_, "POST", "/v2/models/" + model + "/infer", json + data,
                           "application/octet-stream",
                           {{"Inference-Header-Content-Length", std::to_string(json.size())}});
    }

  private:
    [[nodiscard]] HttpResult get(const std::string& path) const {
        return httpRequest(port_, "GET", path, "");
    }
    int port_;
};

class V2Protocol : public ::testing::Test {
  protected:
    static void SetUpTestSuite() {
        PredictdService::Options o;
        o.workers = 2;
        o.model_repository = sourceDir() + "/model";
        service_ = new PredictdService(o);
        ASSERT_TRUE(service_->waitReady()) << service_->predictdLog();
    }
    static void TearDownTestSuite() {
        delete service_;
        service_ = nullptr;
    }
    static PredictdService* service_;
};
PredictdService* V2Protocol::service_ = nullptr;

TEST_F(V2Protocol, HealthMetadataAndReadiness) {
    V2Client client(service_->port());
    EXPECT_TRUE(client.live());
    EXPECT_TRUE(client.ready());
    const Json::Value server = parseJson(client.serverMetadata().body);
    EXPECT_EQ(server["name"].asString(), "predictd");
    // Only the extensions that work are listed.
    ASSERT_EQ(server["extensions"].size(), 2u) << server;
    EXPECT_EQ(server["extensions"][0].asString(), "classification");
    EXPECT_EQ(server["extensions"][1].asString(), "binary_tensor_data");
    for (const char* model : {"mnist", "nsfw-mobilenetv2"}) {
        SCOPED_TRACE(model);
        const HttpResult r = client.modelMetadata(model);
        ASSERT_EQ(r.status, 200) << r.body;
        const Json::Value m = parseJson(r.body);
        EXPECT_EQ(m["name"].asString(), model);
        EXPECT_EQ(m["inputs"].size(), 1u);
        EXPECT_EQ(m["inputs"][0]["shape"].size(), 4u);
        EXPECT_EQ(m["inputs"][0]["shape"][0].asInt(), -1);
        EXPECT_TRUE(client.modelReady(model, "1"));
    }
    EXPECT_FALSE(client.modelReady("mnist", "2"));
    const HttpResult missing = client.modelMetadata("nope");
    EXPECT_EQ(missing.status, 404);
    EXPECT_TRUE(parseJson(missing.body)["error"].isString()) << missing.body;
}

TEST_F(V2Protocol, MnistDigitsAsEncodedImages) {
    V2Client client(service_->port());
    std::vector<std::string> digits;
    for (int d = 0; d < 10; ++d) {
        digits.push_back(samplePng(d));
    }
    const HttpResult r = client.inferImages("mnist", "input", digits, "batch-1");
    ASSERT_EQ(r.status, 200) << r.body;
    const Json::Value v = parseJson(r.body);
    EXPECT_EQ(v["id"].asString(), "batch-1");
    EXPECT_EQ(v["model_name"].asString(), "mnist");
    const Json::Value& out = v["outputs"][0];
    EXPECT_EQ(out["datatype"].asString(), "FP32");
    ASSERT_EQ(out["shape"][0].asInt(), 10);
    ASSERT_EQ(out["shape"][1].asInt(), 10);
    for (int d = 0; d < 10; ++d) {
        int best = 0;
        for (int k = 1; k < 10; ++k) {
            if (out["data"][d * 10 + k].asDouble() > out["data"][d * 10 + best].asDouble()) {
                best = k;
            }
        }
        EXPECT_EQ(best, d);
    }
}

TEST_F(V2Protocol, PhotoModelWithTheClassificationExtension) {
    V2Client client(service_->port());
    const std::string photo = readFile(sourceDir() + "/model/nsfw-mobilenetv2/self_check.jpg");
    const HttpResult r =
        client.inferImages("nsfw-mobilenetv2", "input", {photo}, "p", "probabilities", 2);
    ASSERT_EQ(r.status, 200) << r.body;
    const Json::Value out = parseJson(r.body)["outputs"][0];
    EXPECT_EQ(out["datatype"].asString(), "BYTES");
    ASSERT_EQ(out["data"].size(), 2u);
    // "value:index:label", best first: the photo's self-check label.
    const std::string top = out["data"][0].asString();
    EXPECT_NE(top.find(":Neutral"), std::string::npos) << top;
}

// The binary answer's FP32 tensor: little-endian floats after the JSON.
std::vector<float> binaryFloats(const HttpResult& r, std::size_t json_length) {
    std::vector<float> out;
    for (std::size_t at = json_length; at + 4 <= r.body.size(); at += 4) {
        std::uint32_t bits = 0;
        for (int i = 3; i >= 0; --i) {
            bits =
                (bits << 8) | static_cast<unsigned char>(r.body[at + static_cast<std::size_t>(i)]);
        }
        float f = 0;
        std::memcpy(&f, &bits, 4);
        out.push_back(f);
    }
    return out;
}

TEST_F(V2Protocol, BinaryTensorDataBothWaysMatchesTheJsonAnswer) {
    V2Client client(service_->port());
    const std::vector<std::string> photos = {
        readFile(sourceDir() + "/model/nsfw-mobilenetv2/self_check.jpg"),
        readFile(sourceDir() + "/model/nsfw-mobilenetv2/samples/flower.jpg"),
        readFile(sourceDir() + "/model/nsfw-mobilenetv2/samples/china.jpg")};
    const HttpResult json = client.inferImages("nsfw-mobilenetv2", "input", photos, "j");
    ASSERT_EQ(json.status, 200) << json.body;
    const Json::Value expected = parseJson(json.body)["outputs"][0]["data"];
    ASSERT_EQ(expected.size(), 15u);

    const HttpResult bin = client.inferImagesBinary("nsfw-mobilenetv2", "input", photos, true);
    ASSERT_EQ(bin.status, 200) << bin.body;
    EXPECT_EQ(bin.headers.at("content-type"), "application/octet-stream");
    ASSERT_EQ(bin.headers.count("inference-header-content-length"), 1u);
    const std::size_t n = std::stoul(bin.headers.at("inference-header-content-length"));
    ASSERT_LT(n, bin.body.size());
    const Json::Value head = parseJson(bin.body.substr(0, n));
    const Json::Value& out = head["outputs"][0];
    EXPECT_EQ(out["name"].asString(), "probabilities");
    EXPECT_EQ(out["datatype"].asString(), "FP32");
    EXPECT_EQ(out["shape"][0].asInt(), 3);
    EXPECT_EQ(out["shape"][1].asInt(), 5);
    EXPECT_EQ(out["parameters"]["binary_data_size"].asUInt(), 60u);
    EXPECT_FALSE(out.isMember("data"));
    EXPECT_EQ(bin.body.size(), n + 60);
    const std::vector<float> got = binaryFloats(bin, n);
    ASSERT_EQ(got.size(), 15u);
    for (Json::ArrayIndex i = 0; i < 15; ++i) {
        // JSON floats are the shortest text that reads back as the same float32.
        EXPECT_EQ(got[i], expected[i].asFloat()) << i;
    }

    // Binary in, JSON out: a plain JSON answer with the same numbers.
    const HttpResult mixed = client.inferImagesBinary("nsfw-mobilenetv2", "input", photos, false);
    ASSERT_EQ(mixed.status, 200) << mixed.body;
    EXPECT_EQ(mixed.headers.count("inference-header-content-length"), 0u);
    EXPECT_EQ(parseJson(mixed.body)["outputs"][0]["data"], expected);

    // A binary section that disagrees with its header: the protocol's 400, and the worker
    // serves on.
    const HttpResult torn =
        httpRequest(service_->port(), "POST", "/v2/models/mnist/infer", R"({"inputs":[]})",
                    "application/octet-stream", {{"Inference-Header-Content-Length", "99"}});
    EXPECT_EQ(torn.status, 400);
    EXPECT_TRUE(parseJson(torn.body)["error"].isString()) << torn.body;
    EXPECT_EQ(client.inferImagesBinary("mnist", "input", {samplePng(6)}, false).status, 200);
}

TEST_F(V2Protocol, ErrorsInTheSpecsShapeAndTheWorkerServesOn) {
    V2Client client(service_->port());
    const HttpResult bad = client.inferImages("mnist", "input", {"not an image"}, "x");
    EXPECT_EQ(bad.status, 400);
    EXPECT_TRUE(parseJson(bad.body)["error"].isString()) << bad.body;
    const HttpResult wrong_input = client.inferImages("mnist", "pixels", {samplePng(1)}, "x");
    EXPECT_EQ(wrong_input.status, 400);
    const HttpResult not_json =
        httpRequest(service_->port(), "POST", "/v2/models/mnist/infer", "{\"inputs\":");
    EXPECT_EQ(not_json.status, 400);
    EXPECT_TRUE(parseJson(not_json.body)["error"].isString()) << not_json.body;
    const HttpResult get_infer = httpRequest(service_->port(), "GET", "/v2/models/mnist/infer");
    EXPECT_EQ(get_infer.status, 405);
    EXPECT_EQ(get_infer.headers.at("allow"), "POST");
    EXPECT_TRUE(parseJson(get_infer.body)["error"].isString()) << get_infer.body;
    const HttpResult good = client.inferImages("mnist", "input", {samplePng(4)}, "after");
    EXPECT_EQ(good.status, 200) << good.body;
}

}  // namespace
}  // namespace predictd::testing
