// json_protocol.hpp — predictd-score's fallback for servers without the v2 binary extension:
// predictd's native JSON routes, POST /models/<m>[/versions/<v>]/predict with
// {"images": ["<base64>", ...], "top_k": k} → {"predictions": [...]} (docs/models.md, Answers).
//
// Owns that request's encoding and the answer's reading into classes per image, whatever the
// model's answer kind: a "top_k" list, else "prediction" + "confidence", else "score".
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "http_exchange.hpp"
#include "score_row.hpp"

namespace predictd::score {

struct JsonTarget {
    std::string model;
    std::string version;  // empty: the latest
    int top_k = 1;
    bool legacy = false;  // a server without /models/<m>: POST /predict (its default model)
};

// The latest version in a GET /models/<m> answer ({"versions": [{"version": 1, …}]}); "" if
// none can be read.
std::string latestVersion(const std::string& model_entry_body);

HttpCall encodeJsonBatch(const JsonTarget& target, const std::vector<std::string_view>& images);

struct JsonDecoded {
    std::optional<std::vector<std::vector<ScoredClass>>> images;  // per image, best first
    std::string error;
};
JsonDecoded decodeJsonAnswer(const std::string& body, std::size_t count);

}  // namespace predictd::score
