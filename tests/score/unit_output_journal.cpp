// unit_output_journal.cpp — the rows' text (JSON Lines, CSV), the appending writer, and the
// resume journal: reading rows back, cutting a torn last line, the sorted rewrite.
#include <gtest/gtest.h>

#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "output_writer.hpp"
#include "resume_journal.hpp"
#include "score_temp_dir.hpp"

namespace predictd::score {
namespace {

ScoreRow scored(std::string path) {
    ScoreRow r;
    r.path = std::move(path);
    r.model = "mnist";
    r.version = "1";
    r.top_k = {{"7", 0.99}, {"1", 0.0075}};
    return r;
}

ScoreRow failed(std::string path) {
    ScoreRow r;
    r.path = std::move(path);
    r.model = "mnist";
    r.version = "1";
    r.error = "undecodable_image";
    r.message = "not an image, \"really\"";
    return r;
}

std::string slurp(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    std::ostringstream s;
    s << in.rdbuf();
    return s.str();
}

TEST(ScoreOutputFormat, JsonLinesRows) {
    EXPECT_EQ(formatRow(scored("a/b.png"), OutputFormat::kJsonLines),
              R"({"path":"a/b.png","model":"mnist","version":"1","label":"7","score":0.99,)"
              R"("top_k":[{"label":"7","score":0.99},{"label":"1","score":0.0075}]})"
              "\n");
    EXPECT_EQ(formatRow(failed("x\"y.png"), OutputFormat::kJsonLines),
              R"({"path":"x\"y.png","model":"mnist","version":"1","error":"undecodable_image",)"
              R"("message":"not an image, \"really\""})"
              "\n");
}

TEST(ScoreOutputFormat, CsvRowsAndQuoting) {
    EXPECT_EQ(csvHeader(), "path,model,version,label,score,top_k,error,message\n");
    EXPECT_EQ(formatRow(scored("a,b.png"), OutputFormat::kCsv),
              "\"a,b.png\",mnist,1,7,0.99,7:0.99;1:0.0075,,\n");
    EXPECT_EQ(formatRow(failed("c.png"), OutputFormat::kCsv),
              "c.png,mnist,1,,,,undecodable_image,\"not an image, \"\"really\"\"\"\n");
    EXPECT_EQ(csvField("plain"), "plain");
    EXPECT_EQ(csvField("two\nlines"), "\"two\nlines\"");
    EXPECT_EQ(scoreText(0.1), "0.1");
}

TEST(ScoreOutputFormat, RowsReadBackInBothFormats) {
    for (const OutputFormat f : {OutputFormat::kJsonLines, OutputFormat::kCsv}) {
        for (const std::string path : {"plain.png", "comma,quote\".png", "new\nline.png"}) {
            std::string text = formatRow(failed(path), f) + formatRow(scored(path), f);
            std::size_t complete = 0;
            const auto records = splitRecords(text, f, &complete);
            ASSERT_EQ(records.size(), 2u) << path;
            EXPECT_EQ(complete, text.size());
            OutputRecord r;
            ASSERT_TRUE(readRecord(records[0], f, r));
            EXPECT_EQ(r.path, path);
            EXPECT_TRUE(r.failed);
            ASSERT_TRUE(readRecord(records[1], f, r));
            EXPECT_EQ(r.path, path);
            EXPECT_FALSE(r.failed);
        }
    }
    OutputRecord r;
    EXPECT_FALSE(
        readRecord("path,model,version,label,score,top_k,error,message", OutputFormat::kCsv, r));
    EXPECT_FALSE(readRecord("{\"pa", OutputFormat::kJsonLines, r));
}

TEST_F(ScoreTempDir, WriterAppendsWholeRowsAndTheHeaderOnce) {
    const std::string out = dir_ + "/out.csv";
    {
        OutputWriter w(out, OutputFormat::kCsv, csvHeader());
        EXPECT_TRUE(w.add(scored("a.png")));
        EXPECT_EQ(slurp(out), csvHeader());  // held until a flush
        w.flush();
        EXPECT_EQ(slurp(out), csvHeader() + formatRow(scored("a.png"), OutputFormat::kCsv));
    }
    {
        OutputWriter w(out, OutputFormat::kCsv, csvHeader());
        w.add(failed("b.png"));
        w.close();
        EXPECT_FALSE(w.add(scored("c.png")));  // closed: dropped
    }
    EXPECT_EQ(slurp(out), csvHeader() + formatRow(scored("a.png"), OutputFormat::kCsv) +
                              formatRow(failed("b.png"), OutputFormat::kCsv));
}

TEST_F(ScoreTempDir, WriterFlushesWhenAChunkIsFull) {
    const std::string out = dir_ + "/out.jsonl";
    OutputWriter::Options o;
    o.chunk_bytes = 1;
    OutputWriter w(out, OutputFormat::kJsonLines, "", o);
    w.add(scored("a.png"));
    EXPECT_EQ(slurp(out), formatRow(scored("a.png"), OutputFormat::kJsonLines));
}

TEST_F(ScoreTempDir, JournalCutsATornLastLineAndListsDonePaths) {
    const std::string out = dir_ + "/out.jsonl";
    const std::string whole = formatRow(scored("a.png"), OutputFormat::kJsonLines) +
                              formatRow(failed("b.png"), OutputFormat::kJsonLines);
    std::ofstream(out, std::ios::binary) << whole << R"({"path":"c.png","mod)";
    std::string error;
    const JournalState j = readJournal(out, OutputFormat::kJsonLines, error);
    EXPECT_EQ(error, "");
    EXPECT_EQ(j.rows, 2u);
    EXPECT_EQ(j.torn_bytes, std::string(R"({"path":"c.png","mod)").size());
    EXPECT_EQ(j.done, (std::unordered_set<std::string>{"a.png", "b.png"}));
    EXPECT_EQ(j.failed, (std::unordered_set<std::string>{"b.png"}));
    EXPECT_EQ(slurp(out), whole);  // the torn tail is gone; c.png will be scored again

    const JournalState again = readJournal(out, OutputFormat::kJsonLines, error);
    EXPECT_EQ(again.torn_bytes, 0u);
    EXPECT_EQ(again.rows, 2u);
}

TEST_F(ScoreTempDir, JournalOfCsvSkipsTheHeaderAndKeepsQuotedNewlines) {
    const std::string out = dir_ + "/out.csv";
    std::ofstream(out, std::ios::binary)
        << csvHeader() << formatRow(scored("new\nline.png"), OutputFormat::kCsv) << "\"torn\nrow";
    std::string error;
    const JournalState j = readJournal(out, OutputFormat::kCsv, error);
    EXPECT_EQ(error, "");
    EXPECT_EQ(j.rows, 1u);
    EXPECT_EQ(j.unreadable, 0u);
    EXPECT_EQ(j.done.count("new\nline.png"), 1u);
    EXPECT_EQ(slurp(out), csvHeader() + formatRow(scored("new\nline.png"), OutputFormat::kCsv));
}

TEST_F(ScoreTempDir, JournalRefusesTheOtherFormatAndAcceptsNoFile) {
    std::string error;
    const JournalState none = readJournal(dir_ + "/missing.jsonl", OutputFormat::kJsonLines, error);
    EXPECT_EQ(error, "");
    EXPECT_FALSE(none.exists);
    const std::string out = dir_ + "/out.jsonl";
    std::ofstream(out) << formatRow(scored("a.png"), OutputFormat::kJsonLines);
    readJournal(out, OutputFormat::kCsv, error);
    EXPECT_NE(error.find("JSON Lines"), std::string::npos) << error;
}

TEST_F(ScoreTempDir, SortedRewriteOrdersRowsByPath) {
    const std::string out = dir_ + "/out.csv";
    std::ofstream(out) << csvHeader() << formatRow(scored("c.png"), OutputFormat::kCsv)
                       << formatRow(failed("a.png"), OutputFormat::kCsv)
                       << formatRow(scored("b.png"), OutputFormat::kCsv);
    EXPECT_EQ(sortOutput(out, OutputFormat::kCsv), "");
    EXPECT_EQ(slurp(out), csvHeader() + formatRow(failed("a.png"), OutputFormat::kCsv) +
                              formatRow(scored("b.png"), OutputFormat::kCsv) +
                              formatRow(scored("c.png"), OutputFormat::kCsv));
    EXPECT_FALSE(std::filesystem::exists(out + ".sorting"));
}

}  // namespace
}  // namespace predictd::score
