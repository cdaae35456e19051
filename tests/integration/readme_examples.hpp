// readme_examples.hpp — the README's shell examples as runnable checks: extraction of every
// ```sh / ```bash block that calls curl, running it with real curl and bash against a running
// NGINX, and comparing each answer with what the README shows after it.
//
// Conventions read from the README (so new examples are covered without touching the test):
// - a statement spans the lines joined by a trailing `\`, `|`, `&&` or `||`, an open quote, or
//   a here-document (to its closing word);
// - the `# …` lines right after a statement are what it prints; `# HTTP 404 {…}` says it answers
//   that status (otherwise every curl of the statement must get a 2xx);
// - a shown answer starting with `{` or `[` is compared by shape: every key it shows must be in
//   the answer at the same place, and an object shown without `...`/`…` inside must have no
//   other keys; values are not compared (they depend on the model and the machine);
// - host:port (`localhost:8080`, `127.0.0.1:8080`, any port) is rewritten to the test NGINX; the
//   commands run in a scratch directory whose entries link to the repository's top-level ones,
//   so relative sample paths (tests/data/samples/…, model/…) work and written files land there.
// Owns no process: the caller starts the service (tests/integration/test_readme_examples.cpp).
#pragma once

#include <map>
#include <set>
#include <string>
#include <vector>

namespace predictd::testing {

struct ReadmeStatement {
    int line = 0;         // 1-based line of its first line in the README
    std::string command;  // as written (continuation lines included)
    std::string shown;    // the `# ` lines after it, joined by '\n', without the "# "
};

struct ReadmeBlock {
    int line = 0;         // the opening fence's line
    std::string heading;  // the last Markdown heading above it
    std::vector<ReadmeStatement> statements;
};

// Every ```sh / ```bash block with at least one curl, its statements in order.
std::vector<ReadmeBlock> readmeCurlBlocks(const std::string& markdown);

// The shape of a JSON text, tolerant of `...` / `…` elisions: for each container path ("" the
// root, ".key" into an object, "[]" into an array, merged over array elements) its kind, its keys
// and whether it was shown elided. Reads only the first JSON value (from the first `{` or `[`).
struct JsonShapeNode {
    char kind = '{';  // '{' or '['
    std::set<std::string> keys;
    bool elided = false;
};
std::map<std::string, JsonShapeNode> jsonShape(const std::string& text);

// Problems of `actual` against `shown` (empty: the same shape as far as shown).
std::vector<std::string> compareShapes(const std::string& shown, const std::string& actual);

struct ExampleRun {
    int examples = 0;                   // statements with a curl that ran
    std::vector<std::string> urls;      // every URL the examples reached (after the rewrite)
    std::vector<std::string> problems;  // empty: every example answered as the README says
};

// Runs every block of `markdown` against NGINX on 127.0.0.1:`port` (each block one bash script,
// its statements in order; each curl bounded by --max-time), in `scratch_dir`.
ExampleRun runReadmeExamples(const std::string& markdown, int port, const std::string& scratch_dir);

}  // namespace predictd::testing
