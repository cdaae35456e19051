// Unit tests for TF Serving's REST API (tensorflow/serving tensorflow_serving/g3doc/api_rest.md):
// the request parsers (every kind of bad input gets its status and the {"error":"..."} shape),
// the encoders on the spec's own examples, and the handler end to end on the shipped models
// (row and columnar predict with {"b64"} images and tensors, classify, status, metadata, version
// labels). Expected bodies follow api_rest.md and TF Serving's http_rest_api_util.cc /
// json_tensor.cc, not our code.
#include <gtest/gtest.h>

#include <Poco/Base64Encoder.h>
#include <json/json.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <memory>
#include <sstream>
#include <string>

#include <unistd.h>

#include <opencv2/imgcodecs.hpp>

#include "api/tfs_request.hpp"
#include "api/tfs_response.hpp"
#include "transport/request_handler.hpp"
#include "unit_test_support.hpp"

namespace predictd {
namespace {

using test_support::base64;
using test_support::readFile;
constexpr auto digitB64 = &test_support::sampleDigitB64;
constexpr auto parse = &test_support::parseJson;

namespace fs = std::filesystem;
const std::string kSourceDir = PREDICTD_SOURCE_DIR;

std::string b64(const std::string& text) {
    return R"({"b64":")" + text + "\"}";
}

// --- the parsers -----------------------------------------------------------------------------

TEST(TfsRequest, RowFormatOfTheSpecExamples) {
    // api_rest.md: "List of 2 tensors each of [1, 2] shape".
    const auto r = parseTfsPredictRequest(R"({"instances": [ [[1, 2]], [[3, 4]] ]})", {});
    ASSERT_TRUE(r.ok()) << r.error().message;
    EXPECT_EQ(r.value().format, TfsFormat::kRow);
    EXPECT_EQ(r.value().input.count, 2u);
    EXPECT_EQ(r.value().input.shape, (std::vector<std::int64_t>{1, 2}));
    EXPECT_EQ(r.value().input.values, (std::vector<float>{1, 2, 3, 4}));
    // "Encoding binary values": {"b64": ...}, bare or as a named input's value.
    const auto bare = parseTfsPredictRequest(
        R"({"signature_name":"serving_default","instances":[{"b64":"aW1hZ2UgYnl0ZXM="},)"
        R"({"b64":"YXdlc29tZSBpbWFnZSBieXRlcw=="}]})",
        {});
    ASSERT_TRUE(bare.ok()) << bare.error().message;
    EXPECT_EQ(bare.value().input.images,
              (std::vector<std::string>{"aW1hZ2UgYnl0ZXM=", "YXdlc29tZSBpbWFnZSBieXRlcw=="}));
    EXPECT_FALSE(bare.value().input.name);
    const auto named =
        parseTfsPredictRequest(R"({"instances":[{"image":{"b64":"aW1hZ2UgYnl0ZXM="}}]})", {});
    ASSERT_TRUE(named.ok()) << named.error().message;
    EXPECT_EQ(*named.value().input.name, "image");
    EXPECT_EQ(named.value().input.count, 1u);
}

TEST(TfsRequest, ColumnarFormat) {
    const auto images =
        parseTfsPredictRequest(R"({"inputs":{"image":[{"b64":"QUFB"},{"b64":"QkJC"}]}})", {});
    ASSERT_TRUE(images.ok()) << images.error().message;
    EXPECT_EQ(images.value().format, TfsFormat::kColumnar);
    EXPECT_EQ(*images.value().input.name, "image");
    EXPECT_EQ(images.value().input.count, 2u);
    const auto one = parseTfsPredictRequest(R"({"inputs":{"b64":"QUFB"}})", {});
    ASSERT_TRUE(one.ok()) << one.error().message;
    EXPECT_EQ(one.value().input.count, 1u);
    // A tensor: the 0-th dimension is the batch.
    const auto tensor = parseTfsPredictRequest(R"({"inputs":[[[1.5,2]],[[3,4]],[[5,6]]]})", {});
    ASSERT_TRUE(tensor.ok()) << tensor.error().message;
    EXPECT_EQ(tensor.value().input.count, 3u);
    EXPECT_EQ(tensor.value().input.shape, (std::vector<std::int64_t>{1, 2}));
    EXPECT_EQ(tensor.value().input.values.front(), 1.5f);
}

TEST(TfsRequest, ClassifyExamplesOfTheSpec) {
    // api_rest.md's classification request, with one feature (an image model has one input).
    const auto r = parseTfsClassifyRequest(
        R"({"signature_name":"serving_default","examples":[{"image":{"b64":"aW1hZ2UgYnl0ZXM="}},)"
        R"({"image":{"b64":"YXdlc29tZSBpbWFnZSBieXRlcw=="}}]})",
        {});
    ASSERT_TRUE(r.ok()) << r.error().message;
    EXPECT_EQ(r.value().count, 2u);
    EXPECT_EQ(r.value().images.size(), 2u);
    const auto numbers = parseTfsClassifyRequest(R"({"examples":[{"x":[[1,2],[3,4]]}]})", {});
    ASSERT_TRUE(numbers.ok()) << numbers.error().message;
    EXPECT_EQ(numbers.value().shape, (std::vector<std::int64_t>{4}));
}

TEST(TfsRequest, BadInputOfEveryKind) {
    RequestLimits limits;
    limits.max_batch = 4;
    limits.max_base64_bytes = 16;
    limits.max_json_depth = 8;
    struct Case {
        const char* body;
        int status;
        const char* code;
    };
    const Case predict[] = {
        {"", 400, "invalid_json"},
        {"[1]", 400, "invalid_json"},
        {"{\"instances\":", 400, "invalid_json"},
        {R"({"instances":[NaN]})", 400, "invalid_json"},
        {"{\"instances\":[[[[[[[[[[[[1]]]]]]]]]]]]}", 400, "json_too_deep"},
        {R"({})", 400, "invalid_request"},
        {R"({"instances":[[1]],"inputs":[[1]]})", 400, "invalid_request"},
        {R"({"signature_name":"classify_objects","instances":[[1]]})", 400, "invalid_request"},
        {R"({"signature_name":7,"instances":[[1]]})", 400, "invalid_request"},
        {R"({"instances":[]})", 400, "invalid_request"},
        {R"({"instances":{}})", 400, "invalid_request"},
        {R"({"instances":"QUFB"})", 400, "invalid_request"},
        {R"({"instances":["QUFB"]})", 400, "invalid_request"},  // a string is not {"b64"}
        {R"({"instances":[{"b64":7}]})", 400, "invalid_request"},
        {R"({"instances":[{"a":{"b64":"QUFB"},"b":{"b64":"QUFB"}}]})", 400, "invalid_request"},
        {R"({"instances":[{"a":{"b64":"QUFB"}},{"b":{"b64":"QUFB"}}]})", 400, "invalid_request"},
        {R"({"instances":[{"a":{"b64":"QUFB"}},{"b64":"QUFB"}]})", 400, "invalid_request"},
        {R"({"instances":[{"b64":"QUFB"},[1,2]]})", 400, "invalid_request"},
        {R"({"instances":[[1,2],{"b64":"QUFB"}]})", 400, "invalid_request"},
        {R"({"instances":[[1,2],[1,2,3]]})", 400, "invalid_request"},
        {R"({"instances":[[[1,2],[3]]]})", 400, "invalid_request"},  // ragged
        {R"({"instances":[[[]]]})", 400, "invalid_request"},
        {R"({"instances":[[1,"2"]]})", 400, "invalid_request"},
        {R"({"instances":[[1,true]]})", 400, "invalid_request"},
        {R"({"instances":[[1,null]]})", 400, "invalid_request"},
        {R"({"instances":[[1,{"b64":"QUFB"}]]})", 400, "invalid_request"},
        {R"({"inputs":{"b64":"QUFB","x":1}})", 400, "invalid_request"},
        {R"({"inputs":7})", 400, "invalid_request"},
        {R"({"inputs":[{"b64":"QUFB"},{"x":1}]})", 400, "invalid_request"},
        {R"({"inputs":[]})", 400, "invalid_request"},
        {R"({"instances":[[1],[2],[3],[4],[5]]})", 413, "batch_too_large"},
        {R"({"inputs":[[1],[2],[3],[4],[5]]})", 413, "batch_too_large"},
        {R"({"inputs":{"x":[{"b64":"QQ=="},{"b64":"QQ=="},{"b64":"QQ=="},{"b64":"QQ=="},)"
         R"({"b64":"QQ=="}]}})",
         413, "batch_too_large"},
        {R"({"instances":[{"b64":"QUFBQUFBQUFBQUFBQUFBQUFB"}]})", 413, "image_too_large"},
        {R"({"inputs":{"b64":"QUFBQUFBQUFBQUFBQUFBQUFB"}})", 413, "image_too_large"},
    };
    for (const Case& c : predict) {
        SCOPED_TRACE(c.body);
        const auto r = parseTfsPredictRequest(c.body, limits);
        ASSERT_FALSE(r.ok());
        EXPECT_EQ(r.error().status, c.status) << r.error().message;
        EXPECT_EQ(r.error().code, c.code) << r.error().message;
    }
    const Case classify[] = {
        {"", 400, "invalid_json"},
        {R"({})", 400, "invalid_request"},
        {R"({"examples":[]})", 400, "invalid_request"},
        {R"({"examples":[{"b64":"QUFB"}]})", 400, "invalid_request"},  // no feature name
        {R"({"examples":[{}]})", 400, "invalid_request"},
        {R"({"examples":[{"a":{"b64":"QUFB"},"b":[1]}]})", 400, "invalid_request"},
        {R"({"examples":[{"a":{"b64":"QUFB"}}],"context":{"c":1}})", 400, "invalid_request"},
        {R"({"examples":[{"a":{"b64":"QUFB"}}],"context":[]})", 400, "invalid_request"},
        {R"({"examples":[{"a":[1,2]},{"a":[1]}]})", 400, "invalid_request"},
        {R"({"examples":[{"a":"text"}]})", 400, "invalid_request"},
        {R"({"signature_name":"tensorflow/serving/regress","examples":[{"a":[1]}]})", 400,
         "invalid_request"},
        {R"({"examples":[{"a":[1]},{"a":[1]},{"a":[1]},{"a":[1]},{"a":[1]}]})", 413,
         "batch_too_large"},
        {R"({"examples":[{"a":{"b64":"QUFBQUFBQUFBQUFBQUFBQUFB"}}]})", 413, "image_too_large"},
    };
    for (const Case& c : classify) {
        SCOPED_TRACE(c.body);
        const auto r = parseTfsClassifyRequest(c.body, limits);
        ASSERT_FALSE(r.ok());
        EXPECT_EQ(r.error().status, c.status) << r.error().message;
        EXPECT_EQ(r.error().code, c.code) << r.error().message;
    }
}

// --- the encoders ----------------------------------------------------------------------------

TEST(TfsResponse, ModelStatusAsTheSpecExampleShowsIt) {
    // api_rest.md: {"model_version_status": [{"version": "123", "state": "AVAILABLE",
    //   "status": {"error_code": "OK", "error_message": ""}}]}
    const Json::Value v = parse(encodeTfsModelStatus({123}));
    ASSERT_EQ(v["model_version_status"].size(), 1u);
    const Json::Value& s = v["model_version_status"][0];
    EXPECT_EQ(s["version"], Json::Value("123"));
    EXPECT_EQ(s["state"], Json::Value("AVAILABLE"));
    EXPECT_EQ(s["status"]["error_code"], Json::Value("OK"));
    EXPECT_EQ(s["status"]["error_message"], Json::Value(""));
}

TEST(TfsResponse, PredictionsRowAndColumnarAsTheSpecShapesThem) {
    // api_rest.md's example: {"instances": [1.0, 2.0, 5.0]} → {"predictions": [3.5, 4.0, 5.5]}
    // (scalar outputs of half_plus_three).
    std::vector<Prediction> scalars;
    for (const float y : {3.5f, 4.0f, 5.5f}) {
        scalars.push_back(Prediction{{OutputValues{"y", {}, {y}}}});
    }
    EXPECT_EQ(encodeTfsPredict(TfsFormat::kRow, scalars), R"({"predictions":[3.5,4,5.5]})");
    EXPECT_EQ(encodeTfsPredict(TfsFormat::kColumnar, scalars), R"({"outputs":[3.5,4,5.5]})");
    // Nested by the output's shape; several outputs: objects keyed by output name (row), an
    // object of batched tensors (columnar).
    const std::vector<Prediction> two = {
        Prediction{{OutputValues{"a", {2, 1}, {1, 2}}, OutputValues{"b", {}, {0.5f}}}},
        Prediction{{OutputValues{"a", {2, 1}, {3, 4}}, OutputValues{"b", {}, {0.25f}}}}};
    EXPECT_EQ(encodeTfsPredict(TfsFormat::kRow, two),
              R"({"predictions":[{"a":[[1],[2]],"b":0.5},{"a":[[3],[4]],"b":0.25}]})");
    EXPECT_EQ(encodeTfsPredict(TfsFormat::kColumnar, two),
              R"({"outputs":{"a":[[[1],[2]],[[3],[4]]],"b":[0.5,0.25]}})");
}

TEST(TfsResponse, ClassifyResultsAsJsonTensorWritesThem) {
    // json_tensor.cc: {"results": [[[<label1>, <score1>], ...], ...]}
    const Json::Value v = parse(encodeTfsClassify({{{"cat", 0.75f}, {"dog", 0.25f}}, {{"", 1}}}));
    ASSERT_EQ(v["results"].size(), 2u);
    EXPECT_EQ(v["results"][0][0][0].asString(), "cat");
    EXPECT_EQ(v["results"][0][0][1].asFloat(), 0.75f);
    EXPECT_EQ(v["results"][0][1][0].asString(), "dog");
    EXPECT_EQ(v["results"][1][0][0].asString(), "");
}

// --- the handler -----------------------------------------------------------------------------

// The shipped models, mnist with the version label "stable" → 1 (docs/models.md), in a
// repository of copies.
std::string labelledRepository() {
    const fs::path dir = fs::temp_directory_path() / ("predictd-tfs-" + std::to_string(::getpid()));
    fs::remove_all(dir);
    fs::create_directories(dir / "mnist" / "1");
    fs::copy_file(kSourceDir + "/model/mnist/1/model.onnx", dir / "mnist" / "1" / "model.onnx");
    fs::copy_file(kSourceDir + "/model/mnist/self_check.png", dir / "mnist" / "self_check.png");
    Json::Value config = parse(readFile(kSourceDir + "/model/mnist/config.json"));
    config["version_labels"]["stable"] = 1;
    std::ofstream(dir / "mnist" / "config.json") << config;
    const fs::path photo = kSourceDir + "/model/nsfw-mobilenetv2";
    fs::create_directories(dir / "nsfw-mobilenetv2" / "1");
    for (const char* file : {"config.json", "labels.txt", "self_check.jpg", "1/model.onnx"}) {
        fs::copy_file(photo / file, dir / "nsfw-mobilenetv2" / file);
    }
    return dir.string();
}

class TfsHandler : public ::testing::Test {
  protected:
    static void SetUpTestSuite() {
        dir_ = labelledRepository();
        models_ = std::make_unique<ModelRepository>(
            ModelRepository::load({dir_, "", "mnist"}, RequestLimits{}, BatchingOptions{}, nullptr,
                                  [](bool, const std::string&) {}));
        ASSERT_NE(models_->find("mnist"), nullptr);
        ASSERT_NE(models_->find("nsfw-mobilenetv2"), nullptr);
    }
    static void TearDownTestSuite() {
        models_.reset();
        fs::remove_all(dir_);
    }

    static HttpResponse call(const std::string& method, const std::string& path,
                             const std::string& body = "", RequestLimits limits = {}) {
        RequestHandler h(*models_, limits);
        // No Content-Type check: curl -d sends application/x-www-form-urlencoded, as the
        // spec's own examples do.
        return h.handle(HttpRequest{method, path, "", "application/x-www-form-urlencoded", body});
    }
    static void expectError(const HttpResponse& r, int status) {
        EXPECT_EQ(r.status, status) << r.body;
        const Json::Value v = parse(r.body);
        EXPECT_TRUE(v["error"].isString()) << r.body;  // {"error": "<message>"}
        EXPECT_EQ(v.size(), 1u) << r.body;
    }
    static std::string dir_;
    static std::unique_ptr<ModelRepository> models_;
};
std::string TfsHandler::dir_;
std::unique_ptr<ModelRepository> TfsHandler::models_;

TEST_F(TfsHandler, ModelStatusForTheModelAVersionAndALabel) {
    for (const char* path :
         {"/v1/models/mnist", "/v1/models/mnist/versions/1", "/v1/models/mnist/labels/stable"}) {
        SCOPED_TRACE(path);
        const HttpResponse r = call("GET", path);
        ASSERT_EQ(r.status, 200) << r.body;
        const Json::Value s = parse(r.body)["model_version_status"];
        ASSERT_EQ(s.size(), 1u) << r.body;
        EXPECT_EQ(s[0]["version"].asString(), "1");
        EXPECT_EQ(s[0]["state"].asString(), "AVAILABLE");
        EXPECT_EQ(s[0]["status"]["error_code"].asString(), "OK");
    }
    expectError(call("GET", "/v1/models/nope"), 404);
    expectError(call("GET", "/v1/models/mnist/versions/2"), 404);
    expectError(call("GET", "/v1/models/mnist/labels/canary"), 404);
    expectError(call("POST", "/v1/models/mnist", "{}"), 405);
    expectError(call("GET", "/v1/nothing"), 404);
}

TEST_F(TfsHandler, MetadataIsTheServingDefaultSignature) {
    const HttpResponse r = call("GET", "/v1/models/mnist/metadata");
    ASSERT_EQ(r.status, 200) << r.body;
    const Json::Value m = parse(r.body);
    EXPECT_EQ(m["model_spec"]["name"].asString(), "mnist");
    EXPECT_EQ(m["model_spec"]["version"].asString(), "1");
    const Json::Value& sig = m["metadata"]["signature_def"]["signature_def"]["serving_default"];
    EXPECT_EQ(sig["method_name"].asString(), "tensorflow/serving/predict");
    const Json::Value& in = sig["inputs"]["input"];
    EXPECT_EQ(in["dtype"].asString(), "DT_FLOAT");
    ASSERT_EQ(in["tensor_shape"]["dim"].size(), 4u);
    EXPECT_EQ(in["tensor_shape"]["dim"][0]["size"].asString(), "-1");
    EXPECT_EQ(in["tensor_shape"]["dim"][2]["size"].asString(), "28");
    const Json::Value& out = sig["outputs"]["probabilities"];
    EXPECT_EQ(out["tensor_shape"]["dim"][1]["size"].asString(), "10");
    const Json::Value photo =
        parse(call("GET", "/v1/models/nsfw-mobilenetv2/versions/1/metadata").body);
    EXPECT_EQ(photo["metadata"]["signature_def"]["signature_def"]["serving_default"]["inputs"]
                   ["input"]["tensor_shape"]["dim"][3]["size"]
                       .asString(),
              "3");
    EXPECT_EQ(
        parse(call("GET", "/v1/models/mnist/labels/stable/metadata").body)["model_spec"]["version"]
            .asString(),
        "1");
    expectError(call("GET", "/v1/models/nope/metadata"), 404);
}

TEST_F(TfsHandler, PredictRowFormatWithImages) {
    const HttpResponse r =
        call("POST", "/v1/models/mnist:predict",
             R"({"instances":[)" + b64(digitB64(7)) + "," + b64(digitB64(2)) + "]}");
    ASSERT_EQ(r.status, 200) << r.body;
    const Json::Value p = parse(r.body)["predictions"];
    ASSERT_EQ(p.size(), 2u) << r.body;
    ASSERT_EQ(p[0].size(), 10u);
    EXPECT_GT(p[0][7].asDouble(), 0.9);
    EXPECT_GT(p[1][2].asDouble(), 0.9);
    // Named by the model's input, through a version and a label.
    for (const char* path :
         {"/v1/models/mnist/versions/1:predict", "/v1/models/mnist/labels/stable:predict"}) {
        const HttpResponse n =
            call("POST", path, R"({"instances":[{"input":)" + b64(digitB64(4)) + "}]}");
        ASSERT_EQ(n.status, 200) << n.body;
        EXPECT_GT(parse(n.body)["predictions"][0][4].asDouble(), 0.9) << n.body;
    }
}

TEST_F(TfsHandler, PredictColumnarFormat) {
    const HttpResponse r =
        call("POST", "/v1/models/mnist:predict",
             R"({"inputs":{"input":[)" + b64(digitB64(3)) + "," + b64(digitB64(8)) + "]}}");
    ASSERT_EQ(r.status, 200) << r.body;
    const Json::Value o = parse(r.body)["outputs"];
    ASSERT_EQ(o.size(), 2u) << r.body;
    EXPECT_GT(o[0][3].asDouble(), 0.9);
    EXPECT_GT(o[1][8].asDouble(), 0.9);
    const HttpResponse one =
        call("POST", "/v1/models/mnist:predict", R"({"inputs":)" + b64(digitB64(6)) + "}");
    ASSERT_EQ(one.status, 200) << one.body;
    EXPECT_GT(parse(one.body)["outputs"][0][6].asDouble(), 0.9) << one.body;
}

TEST_F(TfsHandler, NumericTensorOfTheInputShapeIsUsedAsIs) {
    // digit-5 preprocessed by hand (gray, 28×28, ÷255: an MNIST digit is used as is), nested
    // [1][28][28] as the model's NCHW input without the batch dimension.
    const cv::Mat digit =
        cv::imread(kSourceDir + "/tests/data/samples/digit-5.png", cv::IMREAD_GRAYSCALE);
    ASSERT_EQ(digit.rows, 28);
    std::string tensor = "[[";
    for (int y = 0; y < 28; ++y) {
        tensor += y == 0 ? "[" : ",[";
        for (int x = 0; x < 28; ++x) {
            tensor += x == 0 ? "" : ",";  // apart: GCC 12 -Wrestrict (bug 105329)
            tensor += std::to_string(digit.at<unsigned char>(y, x) / 255.0);
        }
        tensor += "]";
    }
    tensor += "]]";
    const HttpResponse row =
        call("POST", "/v1/models/mnist:predict", R"({"instances":[)" + tensor + "]}");
    ASSERT_EQ(row.status, 200) << row.body;
    EXPECT_GT(parse(row.body)["predictions"][0][5].asDouble(), 0.9) << row.body;
    const HttpResponse columnar =
        call("POST", "/v1/models/mnist:predict", R"({"inputs":{"input":[)" + tensor + "]}}");
    ASSERT_EQ(columnar.status, 200) << columnar.body;
    EXPECT_GT(parse(columnar.body)["outputs"][0][5].asDouble(), 0.9) << columnar.body;
    // Another shape is refused, naming the model's.
    const HttpResponse wrong =
        call("POST", "/v1/models/mnist:predict", R"({"instances":[[[1,2],[3,4]]]})");
    expectError(wrong, 400);
    EXPECT_NE(parse(wrong.body)["error"].asString().find("[-1,1,28,28]"), std::string::npos)
        << wrong.body;
}

TEST_F(TfsHandler, ClassifyGivesLabelScorePairs) {
    const std::string photo =
        base64(readFile(kSourceDir + "/model/nsfw-mobilenetv2/self_check.jpg"));
    const HttpResponse r = call("POST", "/v1/models/nsfw-mobilenetv2:classify",
                                R"({"examples":[{"image":)" + b64(photo) + "}]}");
    ASSERT_EQ(r.status, 200) << r.body;
    const Json::Value results = parse(r.body)["results"];
    ASSERT_EQ(results.size(), 1u) << r.body;
    ASSERT_EQ(results[0].size(), 5u) << r.body;  // the model's five classes, in its order
    std::string best;
    double top = -1;
    for (const Json::Value& pair : results[0]) {
        ASSERT_EQ(pair.size(), 2u);
        if (pair[1].asDouble() > top) {
            top = pair[1].asDouble();
            best = pair[0].asString();
        }
    }
    EXPECT_EQ(best, "Neutral") << r.body;
    // Without label names, a class is named by its index.
    const HttpResponse digit = call("POST", "/v1/models/mnist/labels/stable:classify",
                                    R"({"examples":[{"image":)" + b64(digitB64(9)) + "}]}");
    ASSERT_EQ(digit.status, 200) << digit.body;
    const Json::Value pairs = parse(digit.body)["results"][0];
    ASSERT_EQ(pairs.size(), 10u);
    EXPECT_EQ(pairs[9][0].asString(), "9");
    EXPECT_GT(pairs[9][1].asDouble(), 0.9);
}

TEST_F(TfsHandler, BadRequestsGetTheProtocolsErrorShape) {
    const std::string image = b64(digitB64(1));
    expectError(call("POST", "/v1/models/mnist:predict", ""), 400);
    expectError(call("POST", "/v1/models/mnist:predict", "{"), 400);
    expectError(call("POST", "/v1/models/nope:predict", "{}"), 404);
    expectError(call("POST", "/v1/models/mnist/versions/3:predict", "{}"), 404);
    expectError(call("POST", "/v1/models/mnist/labels/canary:classify", "{}"), 404);
    expectError(call("GET", "/v1/models/mnist:predict"), 405);
    // Wrong input name; an undecodable image; a bad signature.
    expectError(call("POST", "/v1/models/mnist:predict", R"({"instances":[{"x":)" + image + "}]}"),
                400);
    expectError(
        call("POST", "/v1/models/mnist:predict", R"({"instances":[{"b64":"bm90IGFuIGltYWdl"}]})"),
        400);
    expectError(call("POST", "/v1/models/mnist:predict",
                     R"({"signature_name":"other","instances":[)" + image + "]}"),
                400);
    expectError(call("POST", "/v1/models/mnist:classify", R"({"examples":[{"x":[1,2]}]})"), 400);
    // Limits: body size, batch and the decode budget apply here as on /predict.
    RequestLimits small;
    small.max_body_bytes = 64;
    expectError(call("POST", "/v1/models/mnist:predict", std::string(100, ' '), small), 413);
    RequestLimits batch;
    batch.max_batch = 1;
    expectError(call("POST", "/v1/models/mnist:predict",
                     R"({"instances":[)" + image + "," + image + "]}", batch),
                413);
    RequestLimits budget;
    budget.max_decode_bytes = 100;
    expectError(
        call("POST", "/v1/models/mnist:predict", R"({"instances":[)" + image + "]}", budget), 413);
}

TEST_F(TfsHandler, DeadlineAppliesAsOnEveryRoute) {
    // Received 60 s ago (waiting for a worker): past limits.request_deadline, abandoned with
    // 503 and Retry-After, in the protocol's shape.
    RequestHandler h(*models_, RequestLimits{});
    HttpRequest req{"POST", "/v1/models/mnist:predict", "", "application/json",
                    R"({"instances":[)" + b64(digitB64(2)) + "]}"};
    req.received = std::chrono::steady_clock::now() - std::chrono::seconds(60);
    const HttpResponse r = h.handle(req);
    expectError(r, 503);
    bool retry_after = false;
    for (const auto& [name, value] : r.headers) {
        retry_after = retry_after || (name == "Retry-After" && value == "1");
    }
    EXPECT_TRUE(retry_after);
}

}  // namespace
}  // namespace predictd
