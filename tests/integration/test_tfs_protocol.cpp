// TF Serving's REST API through NGINX and the real supervisor, spoken by a small client written
// from the specification (tensorflow/serving tensorflow_serving/g3doc/api_rest.md), not from
// predictd's code: both shipped models (mnist, with a version label; nsfw-mobilenetv2, with
// class labels), row and columnar predict, classify, status and metadata, errors as
// {"error": "..."} from the workers and from NGINX alike.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "service_harness.hpp"

namespace predictd::testing {
namespace {

namespace fs = std::filesystem;

// The client: URLs and bodies as api_rest.md gives them. Bodies are sent as the spec's curl
// examples send them (curl -d: application/x-www-form-urlencoded).
class TfServingClient {
  public:
    explicit TfServingClient(int port) : port_(port) {}

    // GET /v1/models/${MODEL_NAME}[/versions/${MODEL_VERSION}|/labels/${LABEL}]
    [[nodiscard]] HttpResult status(const std::string& model, const std::string& at = "") const {
        return httpRequest(port_, "GET", "/v1/models/" + model + at);
    }
    [[nodiscard]] HttpResult metadata(const std::string& model, const std::string& at = "") const {
        return httpRequest(port_, "GET", "/v1/models/" + model + at + "/metadata");
    }
    // POST /v1/models/${MODEL_NAME}[...]:predict with {"instances": [...]} (row format).
    [[nodiscard]] HttpResult predictRows(const std::string& model, const Json::Value& instances,
                                         const std::string& at = "") const {
        Json::Value body(Json::objectValue);
        body["instances"] = instances;
        return post("/v1/models/" + model + at + ":predict", body);
    }
    // ... with {"inputs": ...} (columnar format).
    [[nodiscard]] HttpResult predictColumns(const std::string& model,
                                            const Json::Value& inputs) const {
        Json::Value body(Json::objectValue);
        body["inputs"] = inputs;
        return post("/v1/models/" + model + ":predict", body);
    }
    // POST ...:classify with {"examples": [...]}.
    [[nodiscard]] HttpResult classify(const std::string& model, const Json::Value& examples,
                                      const std::string& at = "") const {
        Json::Value body(Json::objectValue);
        body["signature_name"] = "serving_default";
        body["examples"] = examples;
        return post("/v1/models/" + model + at + ":classify", body);
    }
    // "Encoding binary values": { "b64": <base64 encoded string> }
    static Json::Value binary(const std::string& bytes) {
        Json::Value v(Json::objectValue);
        v["b64"] = base64(bytes);
        return v;
    }

  private:
    [[nodiscard]] HttpResult post(const std::string& path, const Json::Value& body) const {
        return httpRequest(port_, "POST", path,
                           Json::writeString(Json::StreamWriterBuilder(), body),
                           "application/x-www-form-urlencoded");
    }
    int port_;
};

int argmax(const Json::Value& scores) {
    int best = 0;
    for (Json::ArrayIndex k = 1; k < scores.size(); ++k) {
        if (scores[k].asDouble() > scores[best].asDouble()) {
            best = static_cast<int>(k);
        }
    }
    return best;
}

// The shipped models, mnist with "version_labels": {"stable": 1} (docs/models.md), as copies.
std::string labelledRepository() {
    const fs::path dir = makeTempDir();
    const fs::path src = sourceDir() + "/model";
    fs::create_directories(dir / "mnist" / "1");
    fs::copy_file(src / "mnist/1/model.onnx", dir / "mnist/1/model.onnx");
    fs::copy_file(src / "mnist/self_check.png", dir / "mnist/self_check.png");
    Json::Value config = parseJson(readFile(src / "mnist/config.json"));
    config["version_labels"]["stable"] = 1;
    std::ofstream(dir / "mnist/config.json") << config;
    fs::create_directories(dir / "nsfw-mobilenetv2" / "1");
    for (const char* file : {"config.json", "labels.txt", "self_check.jpg", "1/model.onnx"}) {
        fs::copy_file(src / "nsfw-mobilenetv2" / file, dir / "nsfw-mobilenetv2" / file);
    }
    return dir.string();
}

class TfsProtocol : public ::testing::Test {
  protected:
    static void SetUpTestSuite() {
        repository_ = labelledRepository();
        PredictdService::Options o;
        o.workers = 2;
        o.model_repository = repository_;
        service_ = new PredictdService(o);
        ASSERT_TRUE(service_->waitReady()) << service_->predictdLog();
    }
    static void TearDownTestSuite() {
        delete service_;
        service_ = nullptr;
        fs::remove_all(repository_);
    }
    static void expectError(const HttpResult& r, int status) {
        EXPECT_EQ(r.status, status) << r.body;
        const Json::Value v = parseJson(r.body);
        EXPECT_TRUE(v["error"].isString()) << r.body;
    }
    static std::string repository_;
    static PredictdService* service_;
};
std::string TfsProtocol::repository_;
PredictdService* TfsProtocol::service_ = nullptr;

TEST_F(TfsProtocol, StatusAndMetadataOfBothModels) {
    TfServingClient client(service_->port());
    for (const char* model : {"mnist", "nsfw-mobilenetv2"}) {
        SCOPED_TRACE(model);
        const HttpResult r = client.status(model);
        ASSERT_EQ(r.status, 200) << r.body;
        const Json::Value s = parseJson(r.body)["model_version_status"][0];
        EXPECT_EQ(s["version"].asString(), "1");
        EXPECT_EQ(s["state"].asString(), "AVAILABLE");
        EXPECT_EQ(s["status"]["error_code"].asString(), "OK");
        const HttpResult m = client.metadata(model, "/versions/1");
        ASSERT_EQ(m.status, 200) << m.body;
        const Json::Value sig =
            parseJson(m.body)["metadata"]["signature_def"]["signature_def"]["serving_default"];
        const Json::Value dims = sig["inputs"]["input"]["tensor_shape"]["dim"];
        ASSERT_EQ(dims.size(), 4u) << m.body;
        EXPECT_EQ(dims[0]["size"].asString(), "-1");
        EXPECT_EQ(sig["inputs"]["input"]["dtype"].asString(), "DT_FLOAT");
    }
    EXPECT_EQ(client.status("mnist", "/labels/stable").status, 200);
    expectError(client.status("mnist", "/labels/canary"), 404);
    expectError(client.status("mnist", "/versions/2"), 404);
    expectError(client.status("half_plus_three"), 404);
}

TEST_F(TfsProtocol, MnistDigitsInRowAndColumnarFormat) {
    TfServingClient client(service_->port());
    Json::Value images(Json::arrayValue);
    for (int d = 0; d < 10; ++d) {
        images.append(TfServingClient::binary(samplePng(d)));
    }
    const HttpResult rows = client.predictRows("mnist", images);
    ASSERT_EQ(rows.status, 200) << rows.body;
    const Json::Value predictions = parseJson(rows.body)["predictions"];
    ASSERT_EQ(predictions.size(), 10u) << rows.body;
    for (int d = 0; d < 10; ++d) {
        EXPECT_EQ(argmax(predictions[d]), d);
    }
    Json::Value named(Json::objectValue);
    named["input"] = images;
    const HttpResult columns = client.predictColumns("mnist", named);
    ASSERT_EQ(columns.status, 200) << columns.body;
    const Json::Value outputs = parseJson(columns.body)["outputs"];
    ASSERT_EQ(outputs.size(), 10u) << columns.body;
    for (int d = 0; d < 10; ++d) {
        EXPECT_EQ(argmax(outputs[d]), d);
    }
    // Through the version label and the version.
    Json::Value one(Json::arrayValue);
    Json::Value instance(Json::objectValue);
    instance["input"] = TfServingClient::binary(samplePng(6));
    one.append(instance);
    for (const char* at : {"/labels/stable", "/versions/1"}) {
        const HttpResult r = client.predictRows("mnist", one, at);
        ASSERT_EQ(r.status, 200) << r.body;
        EXPECT_EQ(argmax(parseJson(r.body)["predictions"][0]), 6);
    }
}

TEST_F(TfsProtocol, PhotoModelPredictAndClassify) {
    TfServingClient client(service_->port());
    const std::string photo = readFile(sourceDir() + "/model/nsfw-mobilenetv2/self_check.jpg");
    Json::Value images(Json::arrayValue);
    images.append(TfServingClient::binary(photo));
    const HttpResult p = client.predictRows("nsfw-mobilenetv2", images);
    ASSERT_EQ(p.status, 200) << p.body;
    const Json::Value scores = parseJson(p.body)["predictions"][0];
    ASSERT_EQ(scores.size(), 5u) << p.body;
    Json::Value examples(Json::arrayValue);
    Json::Value example(Json::objectValue);
    example["image"] = TfServingClient::binary(photo);
    examples.append(example);
    const HttpResult c = client.classify("nsfw-mobilenetv2", examples);
    ASSERT_EQ(c.status, 200) << c.body;
    const Json::Value pairs = parseJson(c.body)["results"][0];
    ASSERT_EQ(pairs.size(), 5u) << c.body;
    // [label, score] in the model's class order: the predicted class is the photo's label.
    const Json::Value& best = pairs[argmax(scores)];
    EXPECT_EQ(best[0].asString(), "Neutral") << c.body;
    EXPECT_NEAR(best[1].asDouble(), scores[argmax(scores)].asDouble(), 1e-6);
}

TEST_F(TfsProtocol, ErrorsInTheSpecsShapeFromWorkersAndNginx) {
    TfServingClient client(service_->port());
    Json::Value bad(Json::arrayValue);
    bad.append(TfServingClient::binary("not an image"));
    expectError(client.predictRows("mnist", bad), 400);
    expectError(client.predictRows("half", bad), 404);  // the spec's own example of an error
    const int port = service_->port();
    expectError(httpRequest(port, "POST", "/v1/models/mnist:predict", "{\"instances\":"), 400);
    // NGINX's own answers: 405 with Allow, 404, 413, all {"error": "..."}.
    const HttpResult get_predict = httpRequest(port, "GET", "/v1/models/mnist:predict");
    expectError(get_predict, 405);
    ASSERT_TRUE(get_predict.headers.contains("allow"));
    EXPECT_EQ(get_predict.headers.at("allow"), "POST");
    expectError(httpRequest(port, "DELETE", "/v1/models/mnist"), 405);
    expectError(httpRequest(port, "GET", "/v1/models"), 404);
    expectError(httpRequest(port, "GET", "/v1/models/mnist/versions/1/labels/stable"), 404);
    expectError(httpRequest(port, "POST", "/v1/models/mnist:predict", std::string(9 << 20, ' ')),
                413);
    // The workers serve on.
    Json::Value good(Json::arrayValue);
    good.append(TfServingClient::binary(samplePng(4)));
    const HttpResult after = client.predictRows("mnist", good);
    ASSERT_EQ(after.status, 200) << after.body;
    EXPECT_EQ(argmax(parseJson(after.body)["predictions"][0]), 4);
}

TEST_F(TfsProtocol, EveryBadInputGetsItsErrorAndTheNextRequestIsFine) {
    const std::string png = samplePng(5);
    std::string quoted_b64 = "\"";  // built apart: GCC 12 -Wrestrict (bug 105329)
    quoted_b64 += base64(png);
    quoted_b64 += "\"";
    std::string huge_header_png = png;  // IHDR claims 60000 x 60000
    const unsigned char dims[8] = {0, 0, 0xEA, 0x60, 0, 0, 0xEA, 0x60};
    huge_header_png.replace(16, 8, reinterpret_cast<const char*>(dims), 8);
    const auto image = [](const std::string& bytes) {
        return R"({"b64":")" + base64(bytes) + "\"}";
    };
    const auto rows = [&](const std::string& instance) {
        return R"({"instances":[)" + instance + "]}";
    };
    std::string many = R"({"instances":[)";
    for (int i = 0; i < 65; ++i) {
        many += i ? "," : "";  // apart: GCC 12 -Wrestrict (bug 105329)
        many += image(png);
    }
    many += "]}";
    struct Case {
        const char* name;
        const char* method;
        std::string path;
        std::string body;
        int status;
    };
    const std::string predict = "/v1/models/mnist:predict";
    const std::vector<Case> cases = {
        {"malformed json", "POST", predict, "{\"instances\": ", 400},
        {"not an object", "POST", predict, "[1,2]", 400},
        {"empty body", "POST", predict, "", 400},
        {"neither instances nor inputs", "POST", predict, R"({"examples":[]})", 400},
        {"both formats", "POST", predict,
         R"({"instances":[)" + image(png) + R"(],"inputs":[)" + image(png) + "]}", 400},
        {"unknown signature", "POST", predict,
         R"({"signature_name":"predict_images","instances":[)" + image(png) + "]}", 400},
        {"string, not b64", "POST", predict, rows(quoted_b64), 400},
        {"bad base64", "POST", predict, rows(R"({"b64":"@@@not base64@@@"})"), 400},
        {"not an image", "POST", predict, rows(image("hello, this is not an image")), 400},
        {"truncated png", "POST", predict, rows(image(png.substr(0, 60))), 400},
        {"image too large", "POST", predict, rows(image(huge_header_png)), 413},
        {"batch too large", "POST", predict, many, 413},
        {"ragged tensor", "POST", predict, rows("[[[1,2],[3]]]"), 400},
        {"tensor of another shape", "POST", predict, rows("[[1,2],[3,4]]"), 400},
        {"json too deep", "POST", predict, rows("[[[[[[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]]]]]"), 400},
        {"gif not allowed", "POST", predict,
         rows(image(std::string("GIF89a\x1c\x00\x1c\x00\x00\x00\x00;", 14))), 415},
        {"unknown input name", "POST", predict, rows(R"({"pixels":)" + image(png) + "}"), 400},
        {"classify with context", "POST", "/v1/models/mnist:classify",
         R"({"context":{"x":1},"examples":[{"image":)" + image(png) + "}]}", 400},
        {"unknown model", "POST", "/v1/models/nope:predict", rows(image(png)), 404},
        {"unknown version", "POST", "/v1/models/mnist/versions/7:predict", rows(image(png)), 404},
        {"unknown label", "GET", "/v1/models/nsfw-mobilenetv2/labels/stable/metadata", "", 404},
        {"wrong method", "PUT", predict, rows(image(png)), 405},
    };
    Json::Value good(Json::arrayValue);
    good.append(TfServingClient::binary(samplePng(8)));
    TfServingClient client(service_->port());
    for (const Case& c : cases) {
        SCOPED_TRACE(c.name);
        expectError(httpRequest(service_->port(), c.method, c.path, c.body), c.status);
        const HttpResult next = client.predictRows("mnist", good);
        ASSERT_EQ(next.status, 200) << next.body;
        EXPECT_EQ(argmax(parseJson(next.body)["predictions"][0]), 8);
    }
}

}  // namespace
}  // namespace predictd::testing
