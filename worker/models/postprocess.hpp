// postprocess.hpp — one image's raw outputs → its answer, as the model's config declares:
// classification (softmax if the graph has none, argmax, confidence, top-k, labels), scores
// (named outputs as numbers), or a distribution's mean (NIMA: bins 1..N).
//
// Owns the meaning of outputs. Knows nothing of JSON (response_encode renders an Answer).
#pragma once

#include <string>
#include <vector>

#include "api/api_error.hpp"
#include "models/model_spec.hpp"
#include "models/prediction.hpp"

namespace predictd {

struct ClassScore {
    int index = 0;
    float score = 0.f;
};

struct Answer {
    OutputKind kind = OutputKind::kClassification;
    // Classification: the argmax class, its probability, every probability; the model's label
    // names (nullptr or empty: classes are named by their index).
    int label = -1;
    float confidence = 0.f;
    std::vector<float> probabilities;  // also the distribution of kDistributionMean
    const std::vector<std::string>* label_names = nullptr;
    std::vector<ClassScore> top_k;  // best first, when asked for
    // kScores: the named outputs.
    std::vector<OutputValues> scores;
    // kDistributionMean: Σ (i + 1) · p_i.
    double mean = 0.0;
};

// `top_k` < 0: the config's default. Error: 500 inference_failed when the output does not fit
// the declared kind (no values, or label count ≠ class count).
Result<Answer> postprocess(const Prediction& prediction, const OutputSpec& spec, int top_k = -1);

}  // namespace predictd
