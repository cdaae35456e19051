// score_temp_dir.hpp — the score unit tests' fixture: a private temp directory per test, removed
// after it, and put() to write a file in it.
#pragma once

#include <gtest/gtest.h>

#include <stdlib.h>

#include <filesystem>
#include <fstream>
#include <string>

namespace predictd::score {

class ScoreTempDir : public ::testing::Test {
  protected:
    void SetUp() override {
        std::string templ = (std::filesystem::temp_directory_path() / "score-unit-XXXXXX").string();
        ASSERT_NE(::mkdtemp(templ.data()), nullptr);
        dir_ = templ;
    }
    void TearDown() override { std::filesystem::remove_all(dir_); }
    // Writes `bytes` to `rel` under the directory (parents created); returns the full path.
    std::string put(const std::string& rel, const std::string& bytes) {
        const std::filesystem::path p = std::filesystem::path(dir_) / rel;
        std::filesystem::create_directories(p.parent_path());
        std::ofstream(p, std::ios::binary) << bytes;
        return p.string();
    }
    std::string dir_;
};

}  // namespace predictd::score
