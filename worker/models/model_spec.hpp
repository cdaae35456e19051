// model_spec.hpp — what a model's config declares: engine, input, preprocessing, outputs,
// versions and its self-check. The contract between a model repository entry and the code that
// loads and serves it.
//
// Owns the config schema (`<repository>/<model>/config.json`, documented in docs/models.md),
// its defaults and its validation. Knows nothing of ONNX files, tensors or HTTP: the input size
// may be left 0 here and filled from the graph when it is static (ImageModel::load).
#pragma once

#include <array>
#include <map>
#include <string>
#include <vector>

#include "api/api_error.hpp"

namespace predictd {

enum class Backend { kOnnxRuntime, kOpenCvDnn };
enum class TensorLayout { kNCHW, kNHWC };
enum class ColorOrder { kGray, kRGB, kBGR };
enum class ResizePolicy {
    kStretch,     // resize to the input size, aspect ratio not kept
    kCenterCrop,  // shorter side to size ÷ crop_fraction, then the centre (torchvision 256 → 224)
    kLetterbox,   // fit inside keeping the aspect ratio, pad with pad_value
    kDigit,       // the MNIST recipe: polarity, crop to the ink, fit 20×20, centre of mass
};
enum class Interpolation { kArea, kLinear, kCubic };
enum class OutputKind {
    kClassification,    // one score per class: argmax, confidence, top_k, labels
    kScores,            // named outputs returned as numbers (regression, embeddings)
    kDistributionMean,  // NIMA: mean of bins 1..N under the predicted distribution
};
enum class VersionPolicy { kLatest, kAll, kSpecific };

const char* backendName(Backend b);
const char* resizePolicyName(ResizePolicy p);
const char* outputKindName(OutputKind k);

struct InputSpec {
    std::string name;  // empty: the graph's first input
    TensorLayout layout = TensorLayout::kNCHW;
    int width = 0;  // 0: read from the graph (must then be static there)
    int height = 0;
    int channels = 0;  // 1 or 3; 0: from the graph
};

struct PreprocessSpec {
    ColorOrder color = ColorOrder::kRGB;  // kGray for one channel
    ResizePolicy resize = ResizePolicy::kStretch;
    Interpolation interpolation = Interpolation::kArea;
    double crop_fraction = 0.875;  // kCenterCrop: 224 / 256
    double pad_value = 0.0;        // kLetterbox: pad in pixel units (0..255)
    // value = (pixel / divisor − mean[c]) / std[c], c in the model's channel order.
    double divisor = 255.0;
    std::array<double, 3> mean{0.0, 0.0, 0.0};
    std::array<double, 3> std{1.0, 1.0, 1.0};
    bool exif_orientation = true;  // apply a JPEG's EXIF orientation (phone photos)
};

struct OutputSpec {
    OutputKind kind = OutputKind::kClassification;
    std::vector<std::string> names;   // graph outputs to read; empty: the first (all for kScores)
    bool apply_softmax = false;       // classification/distribution: softmax not in the graph
    std::vector<std::string> labels;  // class names in output order; empty: the class index
    int top_k = 0;                    // classes listed by default (0: none; a request may ask)
};

struct SelfCheckSpec {
    std::string image;          // file beside config.json; empty: no self-check
    std::string expect_label;   // classification: the expected label (or class index)
    double min_score = -1e300;  // scores/distribution: the first value within [min, max]
    double max_score = 1e300;
};

// ONNX Runtime session options ("onnxruntime" in config.json); ignored by OpenCV DNN.
enum class GraphOptimization { kDisabled, kBasic, kExtended, kAll };

struct OnnxRuntimeOptions {
    GraphOptimization graph_optimization = GraphOptimization::kAll;
    bool memory_arena = true;  // ONNX Runtime's CPU arena allocator
};

struct ModelSpec {
    std::string name;
    Backend backend = Backend::kOnnxRuntime;
    int intra_op_threads = 1;  // workers are the parallelism
    int inter_op_threads = 1;
    OnnxRuntimeOptions onnxruntime;
    VersionPolicy version_policy = VersionPolicy::kLatest;
    std::vector<int> specific_versions;         // kSpecific
    std::map<std::string, int> version_labels;  // "stable" → 1 (TF Serving labels)
    InputSpec input;
    PreprocessSpec preprocess;
    OutputSpec output;
    SelfCheckSpec self_check;
    std::string directory;  // the model's directory in the repository (for relative files)
};

// The spec of the MNIST digit model predictd has always served: input "input" [N,1,28,28],
// the digit recipe, output "probabilities" (softmax in the graph), classes 0..9.
ModelSpec digitModelSpec(const std::string& name);

// Parses `<directory>/config.json` text. Error: 500 invalid_model_config naming the key.
Result<ModelSpec> parseModelSpec(const std::string& json_text, const std::string& name,
                                 const std::string& directory);

// Reads and parses `<directory>/config.json`; a labels file named by "labels" is read too.
Result<ModelSpec> loadModelSpec(const std::string& directory, const std::string& name);

}  // namespace predictd
