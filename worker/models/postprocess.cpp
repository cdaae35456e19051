// postprocess.cpp — softmax, argmax, top-k and distribution means over one image's outputs.
#include "models/postprocess.hpp"

#include <algorithm>
#include <cmath>
#include <numeric>

namespace predictd {
namespace {

ApiError bad(const std::string& message) {
    return ApiError{500, "inference_failed", "model output: " + message};
}

// Numerically stable softmax in place.
void softmax(std::vector<float>& v) {
    const float top = *std::max_element(v.begin(), v.end());
    double sum = 0;
    for (float& x : v) {
        x = std::exp(x - top);
        sum += x;
    }
    for (float& x : v) {
        x = static_cast<float>(x / sum);
    }
}

}  // namespace

Result<Answer> postprocess(const Prediction& prediction, const OutputSpec& spec, int top_k) {
    Answer a;
    a.kind = spec.kind;
    if (prediction.outputs.empty()) {
        return bad("the model returned no output");
    }
    if (spec.kind == OutputKind::kScores) {
        a.scores = prediction.outputs;
        return a;
    }
    const OutputValues& out = prediction.outputs.front();
    if (out.values.empty()) {
        return bad("'" + out.name + "' is empty");
    }
    a.probabilities = out.values;
    if (spec.apply_softmax) {
        softmax(a.probabilities);
    }
    if (spec.kind == OutputKind::kDistributionMean) {
        double mean = 0;
        for (std::size_t i = 0; i < a.probabilities.size(); ++i) {
            mean += static_cast<double>(i + 1) * a.probabilities[i];
        }
        a.mean = mean;
        return a;
    }
    if (!spec.labels.empty()) {
        if (spec.labels.size() != a.probabilities.size()) {
            return bad("'" + out.name + "' has " + std::to_string(a.probabilities.size()) +
                       " classes but the config names " + std::to_string(spec.labels.size()));
        }
        a.label_names = &spec.labels;
    }
    const auto best = std::max_element(a.probabilities.begin(), a.probabilities.end());
    a.label = static_cast<int>(std::distance(a.probabilities.begin(), best));
    a.confidence = *best;
    const int k =
        std::min<int>(top_k < 0 ? spec.top_k : top_k, static_cast<int>(a.probabilities.size()));
    if (k > 0) {
        std::vector<int> order(a.probabilities.size());
        std::iota(order.begin(), order.end(), 0);
        std::partial_sort(order.begin(), order.begin() + k, order.end(), [&](int x, int y) {
            const float px = a.probabilities[static_cast<std::size_t>(x)];
            const float py = a.probabilities[static_cast<std::size_t>(y)];
            return px > py || (px == py && x < y);
        });
        for (int i = 0; i < k; ++i) {
            const int c = order[static_cast<std::size_t>(i)];
            a.top_k.push_back({c, a.probabilities[static_cast<std::size_t>(c)]});
        }
    }
    return a;
}

}  // namespace predictd
