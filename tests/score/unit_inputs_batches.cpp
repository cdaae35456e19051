// unit_inputs_batches.cpp — what gets scored (directory walks, lists, include / exclude globs)
// and how it is read and packed into batches (file errors as rows, count and byte limits).
#include <gtest/gtest.h>

#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <sstream>

#include "batch_reader.hpp"
#include "input_listing.hpp"
#include "score_temp_dir.hpp"
#include "text.hpp"  // concat: GCC 12 -Wrestrict (bug 105329)

namespace predictd::score {
namespace {

TEST(ScoreInputs, Patterns) {
    EXPECT_TRUE(matchesPattern("*.png", "photos/2024/a.png"));
    EXPECT_FALSE(matchesPattern("*.png", "photos/2024/a.jpg"));
    EXPECT_TRUE(matchesPattern("[ab]?.jp*g", "dir/b1.jpeg"));
    EXPECT_TRUE(matchesPattern("photos/*/a.png", "photos/2024/a.png"));
    EXPECT_TRUE(matchesPattern("*/thumbs/*", "photos/thumbs/x.png"));
    EXPECT_FALSE(matchesPattern("thumbs", "photos/thumbs/x.png"));

    InputSpec spec;
    EXPECT_TRUE(selected(spec, "any/thing"));
    spec.include = {"*.png", "*.jpg"};
    spec.exclude = {"*/thumbs/*", "skip-*"};
    EXPECT_TRUE(selected(spec, "a/b.png"));
    EXPECT_TRUE(selected(spec, "a/b.jpg"));
    EXPECT_FALSE(selected(spec, "a/b.gif"));
    EXPECT_FALSE(selected(spec, "a/thumbs/b.png"));
    EXPECT_FALSE(selected(spec, "a/skip-b.png"));
}

TEST(ScoreInputs, PathLists) {
    std::istringstream in("a.png\r\n\nb/c.png\nlast.png");
    EXPECT_EQ(readPathList(in), (std::vector<std::string>{"a.png", "b/c.png", "last.png"}));
}

class ScoreFiles : public ScoreTempDir {};

TEST_F(ScoreFiles, WalksDirectoriesListsAndDeduplicates) {
    const std::string a = put("x/a.png", "A");
    const std::string b = put("x/y/z/b.png", "B");
    put("x/y/notes.txt", "T");
    const std::string c = put("c.png", "C");
    const std::string list = put("list.txt", c + "\n" + a + "\n");
    InputSpec spec;
    spec.paths = {dir_ + "/x", a};
    spec.files_from = {list, "-"};
    spec.include = {"*.png"};
    std::istringstream stdin_list(b + "\n");
    const InputListing got = listInputs(spec, stdin_list);
    EXPECT_TRUE(got.errors.empty());
    std::vector<std::string> want{a, b, c};
    std::sort(want.begin(), want.end());
    EXPECT_EQ(got.files, want);
}

TEST_F(ScoreFiles, MissingInputsAreReported) {
    InputSpec spec;
    spec.paths = {dir_ + "/nope"};
    spec.files_from = {dir_ + "/no-list.txt"};
    std::istringstream none;
    const InputListing got = listInputs(spec, none);
    EXPECT_TRUE(got.files.empty());
    EXPECT_EQ(got.errors.size(), 2u);
}

TEST_F(ScoreFiles, FileErrorsBecomeRowKinds) {
    EXPECT_EQ(readImageFile(dir_ + "/missing.png", 100).error, "unreadable");
    EXPECT_EQ(readImageFile(put("empty.png", ""), 100).error, "empty_file");
    EXPECT_EQ(readImageFile(put("big.png", std::string(101, 'x')), 100).error, "file_too_large");
    EXPECT_EQ(readImageFile(dir_, 100).error, "unreadable");
    const FileRead ok = readImageFile(put("ok.png", "bytes"), 100);
    ASSERT_TRUE(ok.file);
    EXPECT_EQ(ok.file->bytes, "bytes");
}

TEST_F(ScoreFiles, ReaderPacksBatchesByCountAndBytesAndReportsBadFiles) {
    std::vector<std::string> paths;
    paths.reserve(9);
    for (int i = 0; i < 7; ++i) {
        paths.push_back(put(concat("f", std::to_string(i)), std::string(10, 'a')));
    }
    paths.insert(paths.begin() + 2, dir_ + "/missing");
    paths.push_back(put("huge", std::string(35, 'h')));  // over the batch bytes: alone
    paths.push_back(put("last", std::string(10, 'z')));
    BatchLimits limits;
    limits.images = 3;
    limits.bytes = 25;  // two 10-byte files fit, not three
    limits.queued_batches = 1;
    std::mutex mutex;
    std::vector<ScoreRow> errors;
    BatchReader reader(paths, limits, [&](ScoreRow r) {
        const std::lock_guard lock(mutex);
        errors.push_back(std::move(r));
    });
    std::vector<std::size_t> sizes;
    std::size_t images = 0;
    while (auto batch = reader.next()) {
        sizes.push_back(batch->size());
        images += batch->size();
    }
    EXPECT_EQ(sizes, (std::vector<std::size_t>{2, 2, 2, 1, 1, 1}));
    EXPECT_EQ(images, 9u);
    ASSERT_EQ(errors.size(), 1u);
    EXPECT_EQ(errors[0].path, dir_ + "/missing");
    EXPECT_EQ(errors[0].error, "unreadable");
}

TEST_F(ScoreFiles, ReaderStopsWhenAsked) {
    std::vector<std::string> paths(100, put("f", "x"));
    BatchLimits limits;
    limits.images = 1;
    limits.queued_batches = 2;
    BatchReader reader(paths, limits, [](const ScoreRow&) {});
    ASSERT_TRUE(reader.next());
    reader.stop();
    EXPECT_FALSE(reader.next());
}

}  // namespace
}  // namespace predictd::score
