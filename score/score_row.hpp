// score_row.hpp — one output row of predictd-score: an input path and either its prediction
// (label, score, top-k) or an error (a stable kind and a message).
//
// Owns the value only; writing it (JSON Lines, CSV) is output_writer's job, reading it back
// resume_journal's.
#pragma once

#include <string>
#include <vector>

namespace predictd::score {

struct ScoredClass {
    std::string label;  // the class's label when the model has labels, else its index
    double score = 0.0;
};

struct ScoreRow {
    std::string path;
    std::string model;
    std::string version;
    std::vector<ScoredClass> top_k;  // best first; top_k[0] is the row's label and score
    std::string error;               // empty: scored; else a stable kind (undecodable_image, …)
    std::string message;             // the error's human text

    [[nodiscard]] bool failed() const { return !error.empty(); }
};

}  // namespace predictd::score
