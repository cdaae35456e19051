// test_predict_api.cpp — the HTTP API through real NGINX and the real supervisor.
#include <gtest/gtest.h>
#include <json/json.h>

#include <opencv2/imgcodecs.hpp>

#include <signal.h>

#include <filesystem>
#include <fstream>
#include <memory>

#include "service_harness.hpp"

namespace predictd::testing {
namespace {

class PredictApi : public ::testing::Test {
  protected:
    static void SetUpTestSuite() {
        service_ = std::make_unique<PredictdService>();
        ASSERT_TRUE(service_->waitReady()) << service_->predictdLog();
    }
    static void TearDownTestSuite() { service_.reset(); }

    // A good request that must still be answered correctly after any bad one.
    static void expectGoodAnswer() {
        HttpResult r = service_->post("/predict", predictBody(samplePng(3)));
        ASSERT_EQ(r.status, 200) << r.body;
        EXPECT_EQ(parseJson(r.body)["prediction"].asInt(), 3);
    }

    static std::unique_ptr<PredictdService> service_;
};
std::unique_ptr<PredictdService> PredictApi::service_;

TEST_F(PredictApi, HealthAndReady) {
    HttpResult h = service_->get("/health");
    EXPECT_EQ(h.status, 200);
    EXPECT_EQ(parseJson(h.body)["status"].asString(), "ok");
    HttpResult r = service_->get("/ready");
    EXPECT_EQ(r.status, 200);
    EXPECT_EQ(parseJson(r.body)["status"].asString(), "ready");
    EXPECT_EQ(parseJson(r.body)["model"].asString(), "mnist");
    EXPECT_EQ(h.headers["content-type"], "application/json");
    EXPECT_EQ(h.headers.count("server") ? h.headers["server"] : "", "nginx");  // no version
}

TEST_F(PredictApi, PredictsEverySampleDigit) {
    for (int digit = 0; digit <= 9; ++digit) {
        HttpResult r = service_->post("/predict", predictBody(samplePng(digit)));
        ASSERT_EQ(r.status, 200) << r.body;
        Json::Value v = parseJson(r.body);
        EXPECT_EQ(v["prediction"].asInt(), digit);
        EXPECT_GT(v["confidence"].asDouble(), 0.9);
        ASSERT_EQ(v["probabilities"].size(), 10u);
        double sum = 0;
        for (const auto& p : v["probabilities"]) {
            sum += p.asDouble();
        }
        EXPECT_NEAR(sum, 1.0, 0.01);
        EXPECT_DOUBLE_EQ(v["probabilities"][digit].asDouble(), v["confidence"].asDouble());
    }
}

TEST_F(PredictApi, BatchAnswersInOrder) {
    std::string body = R"({"images": [)";
    for (int digit = 0; digit <= 9; ++digit) {
        body += (digit ? ",\"" : "\"") + base64(samplePng(digit)) + "\"";
    }
    body += "]}";
    HttpResult r = service_->post("/predict", body);
    ASSERT_EQ(r.status, 200) << r.body;
    Json::Value v = parseJson(r.body);
    ASSERT_EQ(v["predictions"].size(), 10u);
    for (int digit = 0; digit <= 9; ++digit) {
        EXPECT_EQ(v["predictions"][digit]["prediction"].asInt(), digit);
    }
}

// The 1 000 held-out digits, one request each, through NGINX: accuracy floor 98.5 %. The same
// digits in batches of 50 must give exactly the same labels.
TEST_F(PredictApi, HeldOutAccuracyThroughNginx) {
    std::string data = readFile(sourceDir() + "/tests/data/heldout-1000.bin");
    ASSERT_EQ(data.size(), 785'000u);
    int correct = 0;
    std::vector<int> single;
    std::vector<std::string> encoded;
    for (std::size_t i = 0; i < 1000; ++i) {
        const int label = static_cast<unsigned char>(data[i * 785]);
        cv::Mat img(28, 28, CV_8UC1, data.data() + i * 785 + 1);
        std::vector<uchar> png;
        ASSERT_TRUE(cv::imencode(".png", img, png));
        encoded.push_back(base64(std::string(png.begin(), png.end())));
        HttpResult r = service_->post("/predict", R"({"image":")" + encoded.back() + "\"}");
        ASSERT_EQ(r.status, 200) << r.body;
        single.push_back(parseJson(r.body)["prediction"].asInt());
        correct += single.back() == label ? 1 : 0;
    }
    const double accuracy = correct / 1000.0;
    RecordProperty("heldout_accuracy", std::to_string(accuracy));
    std::printf("held-out accuracy through NGINX: %d / 1000 = %.1f %%\n", correct, accuracy * 100);
    EXPECT_GE(accuracy, 0.985);

    for (std::size_t start = 0; start < 1000; start += 50) {
        std::string body = R"({"images":[)";
        for (std::size_t i = start; i < start + 50; ++i) {
            body += (i > start ? ",\"" : "\"") + encoded[i] + "\"";
        }
        body += "]}";
        HttpResult r = service_->post("/predict", body);
        ASSERT_EQ(r.status, 200) << r.body;
        Json::Value v = parseJson(r.body);
        ASSERT_EQ(v["predictions"].size(), 50u);
        for (std::size_t i = 0; i < 50; ++i) {
            EXPECT_EQ(v["predictions"][static_cast<int>(i)]["prediction"].asInt(),
                      single[start + i])
                << "digit " << start + i;
        }
    }
}

struct BadInput {
    const char* name;
    std::string method;
    std::string path;
    std::string body;
    std::string content_type;
    int status;
    std::string code;
};

TEST_F(PredictApi, EveryBadInputGetsItsJsonErrorAndTheNextRequestIsFine) {
    const std::string png = samplePng(5);
    std::string huge_header_png = png;  // IHDR claims 60000 x 60000
    const unsigned char dims[8] = {0, 0, 0xEA, 0x60, 0, 0, 0xEA, 0x60};
    huge_header_png.replace(16, 8, reinterpret_cast<const char*>(dims), 8);
    std::string many = R"({"images":[)";
    for (int i = 0; i < 65; ++i) {
        many += (i ? ",\"" : "\"") + base64(png) + "\"";
    }
    many += "]}";
    const std::string good = base64(png);
    const std::vector<BadInput> cases = {
        {"malformed json", "POST", "/predict", "{\"image\": ", "application/json", 400,
         "invalid_json"},
        {"not an object", "POST", "/predict", "[1,2]", "application/json", 400, "invalid_json"},
        {"empty body", "POST", "/predict", "", "application/json", 400, "invalid_json"},
        {"missing field", "POST", "/predict", R"({"img": "x"})", "application/json", 400,
         "missing_field"},
        {"mistyped field", "POST", "/predict", R"({"image": 42})", "application/json", 400,
         "wrong_type"},
        {"mistyped batch", "POST", "/predict", R"({"images": "abc"})", "application/json", 400,
         "wrong_type"},
        {"bad base64", "POST", "/predict", R"({"image": "@@@not base64@@@"})", "application/json",
         400, "invalid_base64"},
        {"not an image", "POST", "/predict", predictBody("hello, this is not an image"),
         "application/json", 400, "undecodable_image"},
        {"truncated png", "POST", "/predict", predictBody(png.substr(0, 60)), "application/json",
         400, "undecodable_image"},
        {"image too large", "POST", "/predict", predictBody(huge_header_png), "application/json",
         413, "image_too_large"},
        {"batch too large", "POST", "/predict", many, "application/json", 413, "batch_too_large"},
        {"empty batch", "POST", "/predict", R"({"images": []})", "application/json", 400,
         "empty_batch"},
        {"bad member", "POST", "/predict",
         R"({"images": [")" + good + R"(", ")" + good + R"(", 7]})", "application/json", 400,
         "wrong_type"},
        {"json too deep", "POST", "/predict",
         R"({"image": [[[[[[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]]]]]})", "application/json", 400,
         "json_too_deep"},
        {"gif not allowed", "POST", "/predict",
         predictBody(std::string("GIF89a\x1c\x00\x1c\x00\x00\x00\x00;", 14)), "application/json",
         415, "unsupported_image_format"},
        {"wrong content type", "POST", "/predict", predictBody(png), "text/plain", 415,
         "unsupported_media_type"},
        {"wrong method", "GET", "/predict", "", "", 405, "method_not_allowed"},
        {"unknown path", "GET", "/nope", "", "", 404, "not_found"},
        {"post to health", "POST", "/health", "{}", "application/json", 405, "method_not_allowed"},
    };
    for (const BadInput& c : cases) {
        SCOPED_TRACE(c.name);
        HttpResult r = httpRequest(service_->port(), c.method, c.path, c.body, c.content_type);
        EXPECT_EQ(r.status, c.status) << r.body;
        Json::Value v = parseJson(r.body);
        EXPECT_EQ(v["error"]["code"].asString(), c.code) << r.body;
        EXPECT_FALSE(v["error"]["message"].asString().empty());
        if (std::string(c.name) == "bad member") {
            EXPECT_NE(v["error"]["message"].asString().find("images[2]"), std::string::npos);
        }
        if (c.status == 405) {
            EXPECT_FALSE(r.headers["allow"].empty());
        }
        expectGoodAnswer();
    }
}

// NGINX allows each route only the methods it needs and knows the routes: anything else is
// answered there, in the workers' JSON shape, without a worker ever seeing it.
TEST_F(PredictApi, NginxAnswersWrongMethodsAndUnknownPathsWithoutAWorker) {
    struct Case {
        const char* method;
        const char* path;
        int status;
        const char* allow;
    };
    const Case cases[] = {
        {"GET", "/predict", 405, "POST"},
        {"PUT", "/predict", 405, "POST"},
        {"DELETE", "/predict", 405, "POST"},
        {"OPTIONS", "/predict", 405, "POST"},
        {"POST", "/health", 405, "GET, HEAD"},
        {"DELETE", "/ready", 405, "GET, HEAD"},
        {"POST", "/status", 405, "GET, HEAD"},
        {"PUT", "/metrics", 405, "GET, HEAD"},
        {"GET", "/nope", 404, ""},
        {"POST", "/v3/models/x:predict", 404, ""},
        {"GET", "/predict/", 404, ""},
        {"POST", "/", 405, "GET, HEAD"},  // GET / is the page to try it (web/), from NGINX
        {"GET", "/ui/", 404, ""},
        {"GET", "/ui/missing.js", 404, ""},
    };
    const auto accepted = [] {
        return parseJson(service_->get("/status").body)["accepted_conn"].asUInt64();
    };
    const auto before = accepted();
    for (const Case& c : cases) {
        SCOPED_TRACE(std::string(c.method) + " " + c.path);
        HttpResult r = httpRequest(service_->port(), c.method, c.path, "", "");
        EXPECT_EQ(r.status, c.status) << r.body;
        EXPECT_EQ(r.headers["content-type"], "application/json");
        Json::Value v = parseJson(r.body);
        EXPECT_EQ(v["error"]["code"].asString(),
                  c.status == 405 ? "method_not_allowed" : "not_found");
        EXPECT_EQ(r.headers["allow"], c.allow);
        if (c.status == 405) {
            EXPECT_NE(v["error"]["message"].asString().find(std::string("method ") + c.method),
                      std::string::npos)
                << r.body;
        }
    }
    EXPECT_EQ(accepted(), before + 1) << "only the second GET /status may reach a worker";
    EXPECT_EQ(httpRequest(service_->port(), "HEAD", "/health").status, 200);
    expectGoodAnswer();
}

TEST_F(PredictApi, NginxRefusesOversizedBodyWithJson) {
    std::string body = R"({"image": ")" + std::string(9 << 20, 'A') + "\"}";
    HttpResult r = service_->post("/predict", body);
    EXPECT_EQ(r.status, 413);
    EXPECT_EQ(parseJson(r.body)["error"]["code"].asString(), "payload_too_large");
    expectGoodAnswer();
}

TEST_F(PredictApi, AllowedFormatsComeFromTheConfiguration) {
    PredictdService::Options options;
    options.workers = 1;
    options.extra_args = {"--allowed-formats", "png"};
    PredictdService png_only(options);
    ASSERT_TRUE(png_only.waitReady()) << png_only.predictdLog();
    cv::Mat digit =
        cv::imread(sourceDir() + "/tests/data/samples/digit-4.png", cv::IMREAD_GRAYSCALE);
    std::vector<uchar> jpeg;
    ASSERT_TRUE(cv::imencode(".jpg", digit, jpeg));
    HttpResult r = png_only.post("/predict", predictBody(std::string(jpeg.begin(), jpeg.end())));
    EXPECT_EQ(r.status, 415);
    EXPECT_EQ(parseJson(r.body)["error"]["code"].asString(), "unsupported_image_format");
    HttpResult ok = png_only.post("/predict", predictBody(samplePng(4)));
    ASSERT_EQ(ok.status, 200) << ok.body;
    EXPECT_EQ(parseJson(ok.body)["prediction"].asInt(), 4);
    // The same JPEG is fine with the default list.
    HttpResult jpeg_ok =
        service_->post("/predict", predictBody(std::string(jpeg.begin(), jpeg.end())));
    ASSERT_EQ(jpeg_ok.status, 200) << jpeg_ok.body;
    EXPECT_EQ(parseJson(jpeg_ok.body)["prediction"].asInt(), 4);
}

TEST_F(PredictApi, WorkerRefusesBodyOverItsOwnLimit) {
    // The worker's limit is independent of NGINX's: start one with a 64 KiB limit.
    PredictdService::Options options;
    options.workers = 1;
    options.extra_args = {"--max-body-bytes", "65536"};
    PredictdService small(options);
    ASSERT_TRUE(small.waitReady()) << small.predictdLog();
    HttpResult r = small.post("/predict", R"({"image": ")" + std::string(100'000, 'A') + "\"}");
    EXPECT_EQ(r.status, 413);
    EXPECT_EQ(parseJson(r.body)["error"]["code"].asString(), "payload_too_large");
    HttpResult ok = small.post("/predict", predictBody(samplePng(8)));
    ASSERT_EQ(ok.status, 200) << ok.body;
    EXPECT_EQ(parseJson(ok.body)["prediction"].asInt(), 8);
}

// Runs last in this suite: nothing above may have cost a worker its life (a respawn would hide
// a crash from every other assertion).
TEST_F(PredictApi, NoWorkerDiedAnsweringAnyOfTheAbove) {
    HttpResult r = service_->get("/status");
    ASSERT_EQ(r.status, 200);
    Json::Value v = parseJson(r.body);
    EXPECT_EQ(v["restarts"]["crash"].asUInt64(), 0u) << service_->predictdLog();
    EXPECT_EQ(v["restarts"]["killed"].asUInt64(), 0u);
    EXPECT_EQ(service_->predictdLog().find(" died"), std::string::npos) << service_->predictdLog();
}

}  // namespace
}  // namespace predictd::testing

namespace predictd::testing {
namespace {

// A model repository as a user lays it out: the shipped mnist entry, plus a model whose file is
// garbage. The broken one is reported and not served; mnist serves on every route.
class ModelRepositoryApi : public ::testing::Test {
  protected:
    void SetUp() override {
        repo_ = makeTempDir() + "/models";
        std::filesystem::create_directories(repo_ + "/mnist/1");
        std::filesystem::create_directories(repo_ + "/broken/1");
        const std::string src = sourceDir() + "/model/mnist";
        for (const char* f : {"config.json", "self_check.png", "1/model.onnx"}) {
            std::filesystem::copy_file(src + "/" + f, repo_ + "/mnist/" + f);
        }
        std::filesystem::copy_file(src + "/config.json", repo_ + "/broken/config.json");
        std::ofstream(repo_ + "/broken/1/model.onnx") << "not an ONNX file";
    }
    void TearDown() override { std::filesystem::remove_all(repo_ + "/.."); }
    std::string repo_;
};

TEST_F(ModelRepositoryApi, RoutesPerModelAndVersionAndABrokenModelIsNotServed) {
    PredictdService::Options o;
    o.model_repository = repo_;
    PredictdService s(o);
    ASSERT_TRUE(s.waitReady()) << s.predictdLog();

    const Json::Value list = parseJson(s.get("/models").body);
    EXPECT_EQ(list["default"].asString(), "mnist");
    ASSERT_EQ(list["models"].size(), 2u) << list;
    EXPECT_EQ(list["models"][0]["name"].asString(), "broken");
    EXPECT_EQ(list["models"][0]["state"].asString(), "unavailable");
    EXPECT_EQ(list["models"][0]["problems"].size(), 1u);
    EXPECT_EQ(list["models"][1]["name"].asString(), "mnist");
    EXPECT_EQ(list["models"][1]["state"].asString(), "ready");
    EXPECT_EQ(list["models"][1]["versions"][0]["version"].asInt(), 1);
    EXPECT_EQ(list["models"][1]["input"]["resize"].asString(), "digit");

    const Json::Value one = parseJson(s.get("/models/mnist").body);
    EXPECT_EQ(one["backend"].asString(), "onnxruntime");
    EXPECT_EQ(one["versions"][0]["sha256"].asString().size(), 64u);

    std::string body = predictBody(samplePng(3));
    body.insert(body.size() - 1, ",\"top_k\":3");
    for (const std::string path : {"/models/mnist/predict", "/models/mnist/versions/1/predict"}) {
        HttpResult r = s.post(path, body);
        ASSERT_EQ(r.status, 200) << path << " " << r.body;
        const Json::Value v = parseJson(r.body);
        EXPECT_EQ(v["prediction"].asInt(), 3) << r.body;
        ASSERT_EQ(v["top_k"].size(), 3u) << r.body;
        EXPECT_EQ(v["top_k"][0]["label"].asInt(), 3);
        EXPECT_GE(v["top_k"][0]["score"].asDouble(), v["top_k"][1]["score"].asDouble());
    }
    // /predict keeps the seed's shape exactly: three keys, no top_k unless asked.
    const Json::Value seed = parseJson(s.post("/predict", predictBody(samplePng(5))).body);
    EXPECT_EQ(seed.getMemberNames(),
              (std::vector<std::string>{"confidence", "prediction", "probabilities"}));
    EXPECT_EQ(seed["prediction"].asInt(), 5);

    const auto code = [](const HttpResult& r) {
        return std::to_string(r.status) + " " + parseJson(r.body)["error"]["code"].asString();
    };
    EXPECT_EQ(code(s.post("/models/mnist/versions/2/predict", body)),
              "404 model_version_not_found");
    EXPECT_EQ(code(s.post("/models/broken/predict", body)), "404 model_not_found");
    EXPECT_EQ(code(s.post("/models/nope/predict", body)), "404 model_not_found");
    const HttpResult wrong = s.get("/models/mnist/predict");
    EXPECT_EQ(code(wrong), "405 method_not_allowed");
    EXPECT_EQ(wrong.headers.at("allow"), "POST");
    EXPECT_EQ(code(s.post("/models", "{}")), "405 method_not_allowed");
}

}  // namespace
}  // namespace predictd::testing

namespace predictd::testing {
namespace {

using std::chrono::seconds;

int occurrences(const std::string& text, const std::string& what) {
    int n = 0;
    for (auto pos = text.find(what); pos != std::string::npos; pos = text.find(what, pos + 1)) {
        ++n;
    }
    return n;
}

// SIGHUP (the rolling reload) picks up a new version; a newer version that does not load never
// replaces the one serving (version policy "latest" falls back to the newest that works).
// /status lists each model the answering worker serves, with versions, sha256 and memory.
TEST_F(ModelRepositoryApi, SighupServesANewVersionAndABrokenNewerOneNeverReplacesIt) {
    PredictdService::Options o;
    o.model_repository = repo_;
    PredictdService s(o);
    ASSERT_TRUE(s.waitReady()) << s.predictdLog();
    const Json::Value status = statusOf(s);
    ASSERT_EQ(status["models"].size(), 2u) << status;
    EXPECT_EQ(status["models"][1]["name"].asString(), "mnist");
    EXPECT_TRUE(status["models"][1]["versions"][0].isMember("memory_bytes"));
    EXPECT_EQ(status["models"][1]["versions"][0]["bytes"].asUInt64(),
              std::filesystem::file_size(repo_ + "/mnist/1/model.onnx"));

    const auto servedVersion = [&] {
        return parseJson(s.get("/models/mnist").body)["versions"][0]["version"].asInt();
    };
    const auto reloadsDone = [&] { return occurrences(s.predictdLog(), "reload complete"); };
    EXPECT_EQ(servedVersion(), 1);

    std::filesystem::create_directories(repo_ + "/mnist/2");
    std::filesystem::copy_file(repo_ + "/mnist/1/model.onnx", repo_ + "/mnist/2/model.onnx");
    s.supervisor().signal(SIGHUP);
    ASSERT_TRUE(eventually([&] { return reloadsDone() == 1; }, seconds(30))) << s.predictdLog();
    EXPECT_TRUE(eventually([&] { return servedVersion() == 2; }, seconds(10)));

    std::filesystem::create_directories(repo_ + "/mnist/3");
    std::ofstream(repo_ + "/mnist/3/model.onnx") << "a broken upload";
    s.supervisor().signal(SIGHUP);
    ASSERT_TRUE(eventually([&] { return reloadsDone() == 2; }, seconds(30))) << s.predictdLog();
    const Json::Value mnist = parseJson(s.get("/models/mnist").body);
    EXPECT_EQ(mnist["state"].asString(), "ready");
    EXPECT_EQ(mnist["versions"].size(), 1u);
    EXPECT_EQ(mnist["versions"][0]["version"].asInt(), 2) << mnist;
    ASSERT_EQ(mnist["problems"].size(), 1u) << mnist;
    EXPECT_NE(mnist["problems"][0].asString().find("version 3"), std::string::npos) << mnist;
    EXPECT_EQ(s.post("/models/mnist/versions/2/predict", predictBody(samplePng(8))).status, 200);
    EXPECT_EQ(s.predictDigit(8), 8);
}

}  // namespace
}  // namespace predictd::testing
