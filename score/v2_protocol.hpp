// v2_protocol.hpp — predictd-score's fast path: the Open Inference Protocol v2 inference request
// with Triton's binary tensor data extension (docs/protocol/extension_binary_data.md), as
// predictd accepts it (worker/api/v2_request.cpp, v2_binary.cpp; README "Binary tensor data").
//
// Owns encoding a batch of encoded image files as one BYTES input ([N], each element a 4-byte
// little-endian length then the file's bytes, after the JSON header whose length goes in
// Inference-Header-Content-Length), asking for one output as the classification extension's
// top-k strings ("value:index[:label]") in binary; decoding that answer into classes per image;
// reading server and model metadata (GET /v2, GET /v2/models/{m}[/versions/{v}]).
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "http_exchange.hpp"
#include "score_row.hpp"

namespace predictd::score {

struct V2Target {
    std::string model;
    std::string version;  // empty: the latest
    std::string input;    // the model's input name (from its metadata)
    std::string output;   // the output to classify (the metadata's first)
    int top_k = 1;
};

// "/v2/models/{m}[/versions/{v}]" + `suffix` (model and version percent-encoded).
std::string v2ModelPath(const std::string& model, const std::string& version,
                        const std::string& suffix = "");

HttpCall encodeV2Batch(const V2Target& target, const std::vector<std::string_view>& images);

struct V2Answer {
    std::string version;                           // model_version as answered
    std::vector<std::vector<ScoredClass>> images;  // per image, best first
};

// The answer to encodeV2Batch for `count` images; an error text when it does not fit.
struct V2Decoded {
    std::optional<V2Answer> answer;
    std::string error;
};
V2Decoded decodeV2Answer(const HttpReply& reply, std::size_t count);

// One classification string "value:index[:label]" → a class (label: the label, else the index).
std::optional<ScoredClass> parseClassification(std::string_view text);

// GET /v2: whether the server lists the binary_tensor_data extension.
bool v2OffersBinary(const std::string& server_metadata_body);

// GET /v2/models/{m}: the input's and the first output's names; nullopt if unreadable.
struct V2ModelIo {
    std::string input;
    std::string output;
};
std::optional<V2ModelIo> v2ModelIo(const std::string& model_metadata_body);

}  // namespace predictd::score
