// Unit tests for model_spec (config.json → ModelSpec) and postprocess (outputs → answers).
#include <gtest/gtest.h>

#include <cmath>
#include <string>

#include "models/model_spec.hpp"
#include "models/postprocess.hpp"

namespace predictd {
namespace {

Result<ModelSpec> parse(const std::string& json) {
    return parseModelSpec(json, "m", "/nonexistent");
}

TEST(ModelSpec, EmptyConfigGivesTheDefaults) {
    const auto s = parse("{}");
    ASSERT_TRUE(s.ok()) << s.error().message;
    EXPECT_EQ(s.value().backend, Backend::kOnnxRuntime);
    EXPECT_EQ(s.value().intra_op_threads, 1);
    EXPECT_EQ(s.value().onnxruntime.graph_optimization, GraphOptimization::kAll);
    EXPECT_TRUE(s.value().onnxruntime.memory_arena);
    EXPECT_EQ(s.value().version_policy, VersionPolicy::kLatest);
    EXPECT_EQ(s.value().preprocess.resize, ResizePolicy::kStretch);
    EXPECT_EQ(s.value().preprocess.color, ColorOrder::kRGB);
    EXPECT_EQ(s.value().output.kind, OutputKind::kClassification);
}

TEST(ModelSpec, EveryKeyIsRead) {
    const auto s = parse(R"({
      // comments are allowed
      "backend": "opencv", "threads": {"intra_op": 2, "inter_op": 1},
      "onnxruntime": {"graph_optimization": "extended", "memory_arena": false},
      "version_policy": {"specific": [1, 3]}, "version_labels": {"stable": 1, "canary": 3},
      "input": {"name": "x", "layout": "NHWC", "width": 224, "height": 160, "channels": 3},
      "preprocess": {"color": "bgr", "resize": "center_crop", "interpolation": "linear",
                     "crop_fraction": 0.875, "pad_value": 114, "divisor": 1,
                     "mean": [103.939, 116.779, 123.68], "std": 1, "exif_orientation": false},
      "output": {"kind": "classification", "names": ["logits"], "softmax": true,
                 "labels": ["a", "b"], "top_k": 2},
      "self_check": {"image": "x.jpg", "expect_label": "a"}})");
    ASSERT_TRUE(s.ok()) << s.error().message;
    const ModelSpec& m = s.value();
    EXPECT_EQ(m.backend, Backend::kOpenCvDnn);
    EXPECT_EQ(m.intra_op_threads, 2);
    EXPECT_EQ(m.onnxruntime.graph_optimization, GraphOptimization::kExtended);
    EXPECT_FALSE(m.onnxruntime.memory_arena);
    EXPECT_EQ(m.specific_versions, (std::vector<int>{1, 3}));
    EXPECT_EQ(m.version_labels.at("canary"), 3);
    EXPECT_EQ(m.input.layout, TensorLayout::kNHWC);
    EXPECT_EQ(m.input.height, 160);
    EXPECT_EQ(m.preprocess.color, ColorOrder::kBGR);
    EXPECT_EQ(m.preprocess.resize, ResizePolicy::kCenterCrop);
    EXPECT_DOUBLE_EQ(m.preprocess.mean[2], 123.68);
    EXPECT_DOUBLE_EQ(m.preprocess.std[1], 1.0);
    EXPECT_FALSE(m.preprocess.exif_orientation);
    EXPECT_TRUE(m.output.apply_softmax);
    EXPECT_EQ(m.output.labels, (std::vector<std::string>{"a", "b"}));
    EXPECT_EQ(m.self_check.expect_label, "a");
}

TEST(ModelSpec, MistakesNameTheKey) {
    const std::vector<std::pair<std::string, std::string>> cases = {
        {R"({"backend": "tensorflow"})", "backend"},
        {R"({"inptu": {}})", "unknown key inptu"},
        {R"({"input": {"layout": "HWC"}})", "input.layout"},
        {R"({"input": {"channels": 2}})", "input.channels"},
        {R"({"preprocess": {"std": [1, 0, 1]}})", "preprocess.std"},
        {R"({"preprocess": {"resize": "digit"}})", "needs preprocess.color"},
        {R"({"preprocess": {"mean": [1, 2]}})", "preprocess.mean"},
        {R"({"output": {"kind": "detection"}})", "output.kind"},
        {R"({"output": {"labels": "missing.txt"}})", "cannot read labels file"},
        {R"({"version_policy": "newest"})", "version_policy"},
        {R"({"onnxruntime": {"graph_optimization": "max"}})", "onnxruntime.graph_optimization"},
        {R"({"onnxruntime": {"memory_arena": 1}})", "onnxruntime.memory_arena"},
        {R"({"onnxruntime": {"arena": true}})", "unknown key onnxruntime.arena"},
        {R"({"onnxruntime": []})", "onnxruntime must be an object"},
        {R"({"self_check": {"expect_label": "a"}})", "self_check.image"},
        {R"([1, 2])", "must be a JSON object"},
        {R"({"backend": })", "not valid JSON"},
    };
    for (const auto& [json, expected] : cases) {
        const auto s = parse(json);
        ASSERT_FALSE(s.ok()) << json;
        EXPECT_EQ(s.error().code, "invalid_model_config");
        EXPECT_NE(s.error().message.find(expected), std::string::npos)
            << json << " → " << s.error().message;
    }
}

Prediction one(std::vector<float> values) {
    return Prediction{{OutputValues{"out", {static_cast<std::int64_t>(values.size())}, values}}};
}

TEST(Postprocess, ClassificationArgmaxTopKAndLabels) {
    OutputSpec spec;
    spec.labels = {"cat", "dog", "owl"};
    const auto a = postprocess(one({0.2f, 0.5f, 0.3f}), spec, 2);
    ASSERT_TRUE(a.ok());
    EXPECT_EQ(a.value().label, 1);
    EXPECT_FLOAT_EQ(a.value().confidence, 0.5f);
    ASSERT_EQ(a.value().top_k.size(), 2u);
    EXPECT_EQ(a.value().top_k[0].index, 1);
    EXPECT_EQ(a.value().top_k[1].index, 2);
    EXPECT_EQ(a.value().label_names, &spec.labels);
    spec.top_k = 3;  // the config's default when the request does not say
    EXPECT_EQ(postprocess(one({0.2f, 0.5f, 0.3f}), spec).value().top_k.size(), 3u);
    spec.labels = {"cat"};
    EXPECT_FALSE(postprocess(one({0.2f, 0.5f, 0.3f}), spec).ok());  // labels ≠ classes
}

TEST(Postprocess, SoftmaxWhenTheGraphHasNone) {
    OutputSpec spec;
    spec.apply_softmax = true;
    const auto a = postprocess(one({0.0f, std::log(3.0f)}), spec);
    ASSERT_TRUE(a.ok());
    EXPECT_NEAR(a.value().probabilities[0], 0.25f, 1e-6);
    EXPECT_NEAR(a.value().probabilities[1], 0.75f, 1e-6);
    EXPECT_EQ(a.value().label, 1);
}

TEST(Postprocess, DistributionMeanIsNimasScore) {
    OutputSpec spec;
    spec.kind = OutputKind::kDistributionMean;
    // NIMA: bins 1..10; all the mass on 3 and 5 equally → 4.
    std::vector<float> p(10, 0.0f);
    p[2] = 0.5f;
    p[4] = 0.5f;
    const auto a = postprocess(one(p), spec);
    ASSERT_TRUE(a.ok());
    EXPECT_DOUBLE_EQ(a.value().mean, 4.0);
    EXPECT_EQ(a.value().probabilities, p);
}

TEST(Postprocess, ScoresPassThrough) {
    OutputSpec spec;
    spec.kind = OutputKind::kScores;
    const auto a = postprocess(one({1.5f}), spec);
    ASSERT_TRUE(a.ok());
    ASSERT_EQ(a.value().scores.size(), 1u);
    EXPECT_EQ(a.value().scores[0].values, std::vector<float>{1.5f});
    EXPECT_FALSE(postprocess(Prediction{}, spec).ok());
}

}  // namespace
}  // namespace predictd
