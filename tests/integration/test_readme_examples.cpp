// test_readme_examples.cpp — the README's curl examples, run as written with real curl against
// real NGINX and the supervisor (only host:port rewritten): each answers 2xx (or the status it
// shows) and the answer it shows has the shape of the real one. Examples added to any ```sh block
// are covered without touching this file (tests/integration/readme_examples.hpp). A second test
// shows the check can fail: a misspelt path and a misspelt key in a copy of the README.
#include <gtest/gtest.h>

#include <algorithm>
#include <memory>
#include <string>

#include "readme_examples.hpp"
#include "service_harness.hpp"

namespace predictd::testing {
namespace {

class ReadmeExamples : public ::testing::Test {
  protected:
    static void SetUpTestSuite() {
        PredictdService::Options options;
        options.workers = 2;
        options.model_repository = sourceDir() + "/model";
        service_ = std::make_unique<PredictdService>(options);
        ASSERT_TRUE(service_->waitReady()) << service_->predictdLog();
    }
    static void TearDownTestSuite() { service_.reset(); }
    static std::unique_ptr<PredictdService> service_;  // one stack for the suite
};
std::unique_ptr<PredictdService> ReadmeExamples::service_;

std::string joined(const std::vector<std::string>& lines) {
    std::string out;
    for (const auto& l : lines) {
        out += l + "\n";
    }
    return out;
}

TEST_F(ReadmeExamples, ExtractionFindsTheApiSections) {
    const auto blocks = readmeCurlBlocks(readFile(sourceDir() + "/README.md"));
    std::string headings;
    int curls = 0;
    for (const auto& b : blocks) {
        headings += b.heading + "\n";
        curls += static_cast<int>(b.statements.size());
    }
    EXPECT_GE(curls, 12) << headings;
    for (const char* section : {"Quick start", "POST /predict", "Other models",
                                "Open Inference Protocol", "TF Serving"}) {
        EXPECT_NE(headings.find(section), std::string::npos) << section << " in\n" << headings;
    }
}

TEST_F(ReadmeExamples, EveryCurlAnswersAsTheReadmeShows) {
    const ExampleRun run =
        runReadmeExamples(readFile(sourceDir() + "/README.md"), service_->port(), service_->dir());
    std::printf("README: %d curl examples, %zu requests\n", run.examples, run.urls.size());
    EXPECT_TRUE(run.problems.empty()) << joined(run.problems);
    EXPECT_GE(run.examples, 12);
    for (const char* prefix : {"/predict", "/models", "/v1/models/", "/v2/", "/status"}) {
        const std::string want = "127.0.0.1:" + std::to_string(service_->port()) + prefix;
        EXPECT_TRUE(std::any_of(run.urls.begin(), run.urls.end(),
                                [&](const std::string& u) { return u.find(want) != u.npos; }))
            << "no example reached " << prefix << ":\n"
            << joined(run.urls);
    }
}

std::string replaceFirst(std::string text, const std::string& from, const std::string& to) {
    const auto pos = text.find(from);
    EXPECT_NE(pos, std::string::npos) << from;
    if (pos != std::string::npos) {
        text.replace(pos, from.size(), to);
    }
    return text;
}

TEST_F(ReadmeExamples, AMisspeltPathOrKeyFails) {
    const std::string readme = readFile(sourceDir() + "/README.md");
    const ExampleRun path = runReadmeExamples(
        replaceFirst(readme, "localhost:8080/v2/models/mnist\n", "localhost:8080/v2/model/mnist\n"),
        service_->port(), service_->dir());
    // The status, then the shape (the 404's {"error"} is not the metadata shown), all for that
    // one example.
    ASSERT_FALSE(path.problems.empty());
    EXPECT_NE(path.problems[0].find("status 404"), std::string::npos) << path.problems[0];
    const std::string line = path.problems[0].substr(0, path.problems[0].find(' '));
    for (const std::string& p : path.problems) {
        EXPECT_EQ(p.substr(0, p.find(' ')), line) << joined(path.problems);
    }

    const ExampleRun key = runReadmeExamples(
        replaceFirst(readme, "# {\"model_version_status\"", "# {\"model_version_statuses\""),
        service_->port(), service_->dir());
    // Shown but absent (and everything under it), and the real key not shown.
    const std::string problems = joined(key.problems);
    EXPECT_NE(problems.find("key 'model_version_statuses' shown at the top level is not in the "
                            "answer"),
              std::string::npos)
        << problems;
    EXPECT_NE(problems.find("the answer has key 'model_version_status' at the top level"),
              std::string::npos)
        << problems;

    // A shown status is what is checked then: the TF Serving error example says HTTP 400.
    const ExampleRun status =
        runReadmeExamples(replaceFirst(readme, "# HTTP 400 {\"error\"", "# {\"error\""),
                          service_->port(), service_->dir());
    ASSERT_EQ(status.problems.size(), 1u) << joined(status.problems);
    EXPECT_NE(status.problems[0].find("status 400 (want 2xx)"), std::string::npos);
}

// Statements: continuation lines, pipes, here-documents, shown answers; blocks without curl and
// other fences skipped.
TEST(ReadmeExtraction, StatementsAndShownAnswers) {
    const std::string md =
        "# Title\n```sh\ntools/run\n```\n## API\n```json\n{\"curl \": 1}\n```\n"
        "```bash\nX=1\ncurl -s \\\n  localhost:8080/a\n# {\"a\":\n# 1}\n\n"
        "printf '{\"b\":\n2}' |\n  curl -d @- localhost:8080/b\n"
        "cat > body.json <<'EOF'\n# not a comment\nEOF\ncurl -s localhost:8080/c <<< x\n"
        "# HTTP 404 {\"error\":\"...\"}\n```\n";
    const auto blocks = readmeCurlBlocks(md);
    ASSERT_EQ(blocks.size(), 1u);
    EXPECT_EQ(blocks[0].heading, "## API");
    const auto& s = blocks[0].statements;
    ASSERT_EQ(s.size(), 5u);
    EXPECT_EQ(s[0].command, "X=1");
    EXPECT_EQ(s[1].command, "curl -s \\\n  localhost:8080/a");
    EXPECT_EQ(s[1].shown, "{\"a\":\n1}");
    EXPECT_EQ(s[2].line, 16);
    EXPECT_EQ(s[2].shown, "");
    EXPECT_EQ(s[3].command, "cat > body.json <<'EOF'\n# not a comment\nEOF");
    EXPECT_EQ(s[4].command, "curl -s localhost:8080/c <<< x");
    EXPECT_EQ(s[4].shown, "HTTP 404 {\"error\":\"...\"}");
}

// The shape comparison itself, on texts with the README's elisions.
TEST(ReadmeShapes, ElisionsAndKeys) {
    EXPECT_TRUE(compareShapes(R"({"a":1,"b":[...]})", R"({"a":2,"b":[1,2]})").empty());
    EXPECT_EQ(compareShapes(R"({"a":1})", R"({"a":2,"b":3})").size(), 1u);
    EXPECT_TRUE(compareShapes(R"({"a":1,...})", R"({"a":2,"b":3})").empty());
    EXPECT_TRUE(compareShapes(R"({"o":{...}})", R"({"o":{"x":{"y":1}}})").empty());
    EXPECT_EQ(compareShapes(R"({"l":[{"k":1},...]})", R"({"l":[{"j":1}]})").size(), 2u);
    EXPECT_TRUE(compareShapes(R"({"s":"a...b"})", R"({"s":"x"} trailing {"z":1})").empty());
    EXPECT_EQ(compareShapes(R"({"a":1})", "not json").size(), 1u);
}

}  // namespace
}  // namespace predictd::testing
