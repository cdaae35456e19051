// unit_progress_options.cpp — the progress bar, lines and summary text, and the command line.
#include <gtest/gtest.h>

#include <sstream>

#include "progress_display.hpp"
#include "score_options.hpp"

namespace predictd::score {
namespace {

TEST(ScoreProgress, Clock) {
    EXPECT_EQ(clockText(0), "0:00");
    EXPECT_EQ(clockText(75), "1:15");
    EXPECT_EQ(clockText(3723), "1:02:03");
    EXPECT_EQ(clockText(-1), "--:--");
}

TEST(ScoreProgress, BarShowsDoneTotalRateEtaAndErrors) {
    const std::string bar = progressBar(250, 1000, 10.0, 3, 100);
    EXPECT_EQ(bar.find("[##########..............................]"), 0u) << bar;
    EXPECT_NE(bar.find("  250/1000  25.0%  25 img/s  ETA 0:30  errors 3"), std::string::npos)
        << bar;
    EXPECT_LE(bar.size(), 100u);
    EXPECT_LE(progressBar(250, 1000, 10.0, 3, 40).size(), 40u);
    EXPECT_NE(progressBar(1000, 1000, 4.0, 0, 100).find("1000/1000  100.0%"), std::string::npos);
    EXPECT_NE(progressBar(0, 10, 0.0, 0, 100).find("ETA --:--"), std::string::npos);
}

TEST(ScoreProgress, LineAndSummary) {
    EXPECT_EQ(progressLine(5, 10, 5.0, 1),
              "predictd-score: 5/10 (50.0%) 1 img/s ETA 0:05 errors 1");
    TallySnapshot t;
    t.done = 10;
    t.errors = 2;
    t.retries = 4;
    t.labels = {{"7", 3}, {"1", 5}};
    t.error_kinds = {{"undecodable_image", 1}, {"unreadable", 1}};
    EXPECT_EQ(summaryText(t, 10, 5, 4.0),
              "predictd-score: 10 of 10 images in 4.0 s (2.5 images/s), 8 scored, 2 errors, 5 "
              "already in the output, 4 requests retried\n"
              "  labels: 1=5 7=3\n"
              "  errors: undecodable_image=1 unreadable=1\n");
}

TEST(ScoreProgress, TallyCountsRowsByLabelAndErrorKind) {
    ScoreTally tally;
    ScoreRow ok;
    ok.top_k = {{"7", 1.0}};
    ScoreRow bad;
    bad.error = "unreadable";
    tally.record(ok);
    tally.record(ok);
    tally.record(bad);
    const TallySnapshot s = tally.snapshot();
    EXPECT_EQ(s.done, 3u);
    EXPECT_EQ(s.errors, 1u);
    EXPECT_EQ(s.labels.at("7"), 2u);
    EXPECT_EQ(s.error_kinds.at("unreadable"), 1u);
}

TEST(ScoreProgress, DisplayModes) {
    ScoreTally tally;
    std::ostringstream bar;
    ProgressDisplay(bar, ProgressMode::kBar, 0, std::chrono::seconds(10), 80).finish(tally);
    EXPECT_EQ(bar.str().front(), '\r');
    EXPECT_EQ(bar.str().back(), '\n');
    EXPECT_NE(bar.str().find("0/0"), std::string::npos);
    std::ostringstream none;
    ProgressDisplay(none, ProgressMode::kNone, 5, std::chrono::seconds(10), 80).finish(tally);
    EXPECT_EQ(none.str(), "");
}

TEST(ScoreOptions, ParsesAFullCommandLine) {
    const ParsedOptions p = parseScoreOptions(
        {"--model",    "mnist",        "--version=2", "-o",        "out.csv",      "--format",
         "csv",        "--url",        "http://a:1",  "--url",     "http://b:2/x", "--batch",
         "32",         "-c",           "4",           "--include", "*.png",        "--exclude",
         "*/tmp/*",    "--files-from", "-",           "--sorted",  "--top-k",      "5",
         "dir1",       "f.png",        "--protocol",  "json",      "--retries",    "3",
         "--progress", "lines"});
    ASSERT_TRUE(p.options) << p.error;
    const ScoreOptions& o = *p.options;
    EXPECT_EQ(o.model, "mnist");
    EXPECT_EQ(o.version, "2");
    EXPECT_EQ(o.output, "out.csv");
    EXPECT_EQ(o.format, OutputFormat::kCsv);
    EXPECT_EQ(o.urls, (std::vector<std::string>{"http://a:1", "http://b:2/x"}));
    EXPECT_EQ(o.batch, 32u);
    EXPECT_EQ(o.concurrency, 4);
    EXPECT_EQ(o.inputs.include, (std::vector<std::string>{"*.png"}));
    EXPECT_EQ(o.inputs.exclude, (std::vector<std::string>{"*/tmp/*"}));
    EXPECT_EQ(o.inputs.files_from, (std::vector<std::string>{"-"}));
    EXPECT_EQ(o.inputs.paths, (std::vector<std::string>{"dir1", "f.png"}));
    EXPECT_TRUE(o.sorted);
    EXPECT_EQ(o.top_k, 5);
    EXPECT_EQ(o.protocol, Protocol::kJson);
    EXPECT_EQ(o.retries, 3);
    EXPECT_EQ(o.progress, "lines");
}

TEST(ScoreOptions, DefaultsAndUsageErrors) {
    const ParsedOptions p = parseScoreOptions({"-m", "mnist", "-o", "out.jsonl", "dir"});
    ASSERT_TRUE(p.options) << p.error;
    EXPECT_EQ(p.options->urls, (std::vector<std::string>{"http://127.0.0.1:8080"}));
    EXPECT_EQ(p.options->format, OutputFormat::kJsonLines);
    EXPECT_EQ(p.options->batch, 32u);

    EXPECT_FALSE(parseScoreOptions({"-o", "out", "dir"}).options);          // no model
    EXPECT_FALSE(parseScoreOptions({"-m", "mnist", "dir"}).options);        // no output
    EXPECT_FALSE(parseScoreOptions({"-m", "mnist", "-o", "out"}).options);  // no input
    EXPECT_FALSE(parseScoreOptions({"-m", "m", "-o", "o", "--batch", "0", "d"}).options);
    EXPECT_FALSE(parseScoreOptions({"-m", "m", "-o", "o", "--format", "xml", "d"}).options);
    EXPECT_FALSE(parseScoreOptions({"-m", "m", "-o", "o", "--bogus", "d"}).options);
    EXPECT_TRUE(parseScoreOptions({"--help"}).options->help);
    EXPECT_NE(scoreUsage().find("--concurrency"), std::string::npos);
}

}  // namespace
}  // namespace predictd::score
