// test_shipped_models.cpp — the shipped model repository (model/) served for real: both models
// ready, the photo model answering real photographs (from Debian's python3-sklearn, placed by
// tools/fetch-models) with its labels, and its answers equal to an independent reference: the
// config's preprocessing re-written in Python and the Keras model run by a numpy forward pass
// (model/nsfw-mobilenetv2/reference_forward.py), within 1e-4.
#include <gtest/gtest.h>
#include <json/json.h>

#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "service_harness.hpp"

namespace predictd::testing {
namespace {

const std::string kPhotoModel = "nsfw-mobilenetv2";

std::string photoPath(const std::string& name) {
    return sourceDir() + "/model/" + kPhotoModel + "/samples/" + name;
}

// {"photo path": [p_Drawing, ..., p_Sexy]} from the reference, full precision.
Json::Value referenceProbabilities(const std::vector<std::string>& photos,
                                   const std::string& out_path) {
    const std::string dir = sourceDir() + "/model/" + kPhotoModel;
    std::string cmd = "cd " + dir +
                      " && /usr/bin/python3 -c '"
                      "import json, sys\n"
                      "import cv2, numpy as np\n"
                      "from convert_nsfwjs import load_nsfwjs\n"
                      "from reference_forward import forward\n"
                      "_, topology, weights = load_nsfwjs(\".cache/npm/nsfwjs-4.4.0.tgz\")\n"
                      "out = {}\n"
                      "for path in sys.argv[2:]:\n"
                      // config.json: rgb, stretch to 224x224 with area interpolation, / 255
                      "    bgr = cv2.imread(path, cv2.IMREAD_COLOR)\n"
                      "    rgb = cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)\n"
                      "    x = cv2.resize(rgb, (224, 224), interpolation=cv2.INTER_AREA)\n"
                      "    p = forward(topology, weights, (x.astype(np.float32) / 255)[None])[0]\n"
                      "    out[path] = [float(v) for v in p]\n"
                      "json.dump(out, open(sys.argv[1], \"w\"))\n"
                      "' " +
                      out_path;
    for (const auto& p : photos) {
        cmd += " " + p;
    }
    EXPECT_EQ(std::system(cmd.c_str()), 0) << cmd;
    return parseJson(readFile(out_path));
}

TEST(ShippedModels, PhotoModelAnswersRealPhotosAsTheReferenceDoes) {
    const std::vector<std::string> photos = {photoPath("china.jpg"), photoPath("flower.jpg")};
    for (const auto& p : photos) {
        ASSERT_TRUE(std::filesystem::exists(p)) << p << ": run tools/fetch-models";
    }
    PredictdService::Options o;
    o.model_repository = sourceDir() + "/model";
    PredictdService s(o);
    ASSERT_TRUE(s.waitReady()) << s.predictdLog();

    const Json::Value list = parseJson(s.get("/models").body);
    ASSERT_EQ(list["models"].size(), 2u) << list;
    EXPECT_EQ(list["models"][0]["name"].asString(), "mnist");
    EXPECT_EQ(list["models"][1]["name"].asString(), kPhotoModel);
    for (const auto& m : list["models"]) {
        EXPECT_EQ(m["state"].asString(), "ready") << m;
    }
    const Json::Value& photo = list["models"][1];
    EXPECT_EQ(photo["input"]["width"].asInt(), 224);
    EXPECT_EQ(photo["input"]["channels"].asInt(), 3);
    EXPECT_EQ(photo["output"]["labels"].size(), 5u);
    // The digit model still answers /predict, in the seed's shape.
    EXPECT_EQ(s.predictDigit(6), 6);

    const Json::Value ref = referenceProbabilities(photos, s.dir() + "/reference.json");
    const std::vector<std::string> labels = {"Drawing", "Hentai", "Neutral", "Porn", "Sexy"};
    for (const auto& p : photos) {
        std::string body = predictBody(readFile(p));
        body.insert(body.size() - 1, ",\"top_k\":2");
        HttpResult r = s.post("/models/" + kPhotoModel + "/predict", body);
        ASSERT_EQ(r.status, 200) << r.body;
        const Json::Value v = parseJson(r.body);
        EXPECT_EQ(v["prediction"].asString(), "Neutral") << p << " " << r.body;
        ASSERT_EQ(v["probabilities"].size(), 5u);
        ASSERT_EQ(v["top_k"].size(), 2u);
        EXPECT_EQ(v["top_k"][0]["label"].asString(), v["prediction"].asString());
        const Json::Value& want = ref[p];
        ASSERT_EQ(want.size(), 5u) << ref;
        for (Json::ArrayIndex k = 0; k < 5; ++k) {
            // The answer has 4 decimals: equal within rounding plus 1e-4.
            EXPECT_NEAR(v["probabilities"][k].asDouble(), want[k].asDouble(), 1.5e-4)
                << p << " " << labels[k];
        }
    }
}

// Proportional set size of a process, in MiB (/proc/PID/smaps_rollup).
long pssMiB(pid_t pid) {
    std::ifstream in("/proc/" + std::to_string(pid) + "/smaps_rollup");
    std::string key;
    long kib = 0;
    while (in >> key) {
        if (key == "Pss:") {
            in >> kib;
            return kib / 1024;
        }
        in.ignore(1 << 20, '\n');
    }
    return -1;
}

// ONNX Runtime's arena keeps what a forward pass took: one 64-photo batch left a worker at
// ~675 MiB for good (from ~35). A batch above 16 images now gives that memory back at the end of
// its run (onnxruntime_backend.cpp).
TEST(ShippedModels, ALargeBatchGivesItsMemoryBack) {
    ASSERT_TRUE(std::filesystem::exists(photoPath("china.jpg"))) << "run tools/fetch-models";
    // A small JPEG: the tensors (64 x 3 x 224 x 224 and the activations) are what takes memory,
    // whatever the photo's size; small keeps the body under NGINX's limit.
    cv::Mat small;
    cv::resize(cv::imread(photoPath("china.jpg")), small, cv::Size(320, 240), 0, 0, cv::INTER_AREA);
    std::vector<unsigned char> jpeg;
    ASSERT_TRUE(cv::imencode(".jpg", small, jpeg));
    const std::string image = base64(std::string(jpeg.begin(), jpeg.end()));

    PredictdService::Options o;
    o.model_repository = sourceDir() + "/model";
    o.workers = 1;
    PredictdService s(o);
    ASSERT_TRUE(s.waitReady()) << s.predictdLog();
    const auto workers = s.workers();
    ASSERT_EQ(workers.size(), 1u);
    const std::string path = "/models/" + kPhotoModel + "/predict";
    for (int i = 0; i < 3; ++i) {
        ASSERT_EQ(s.post(path, "{\"image\":\"" + image + "\"}").status, 200);
    }
    const long before = pssMiB(workers[0]);
    ASSERT_GT(before, 0);

    std::string batch = "{\"images\":[";
    for (int i = 0; i < 64; ++i) {
        batch += i == 0 ? "\"" : ",\"";
        batch += image;
        batch += "\"";
    }
    batch += "]}";
    const HttpResult r = s.post(path, batch);
    ASSERT_EQ(r.status, 200) << r.body.substr(0, 300);
    EXPECT_EQ(parseJson(r.body)["predictions"].size(), 64u);
    ASSERT_EQ(s.workers(), workers) << "the worker must have survived the batch";
    const long after = pssMiB(workers[0]);
    // Kept for good, the batch's arena is ~640 MiB; given back, ~50 MiB remain.
    EXPECT_LT(after - before, 200) << "before " << before << " MiB, after " << after << " MiB";
}

}  // namespace
}  // namespace predictd::testing
