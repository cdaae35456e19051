// integration_score.cpp — predictd-score against the real stack (NGINX + predictd, through
// tests/integration/service_harness): a directory of digit PNGs scored with the right labels
// (v2 binary and the JSON fallback), a SIGKILL and a Ctrl-C mid-run then a rerun (every input
// exactly once), the server killed and restarted mid-run, one of two URLs down, bad files mixed
// in, and the progress bar in a pseudo-terminal.
#include <fcntl.h>
#include <poll.h>
#include <pty.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <json/json.h>

#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <thread>

#include "resume_journal.hpp"
#include "service_harness.hpp"
#include "text.hpp"  // concat: GCC 12 -Wrestrict (bug 105329) on "literal" + std::string&&

namespace predictd::testing {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

struct Row {
    std::string path;
    std::string label;
    std::string error;
};

// The rows of a JSON Lines or CSV output (a test failure for a line that is not a row).
std::vector<Row> readRows(const std::string& path) {
    const std::string text = readFile(path);
    const bool csv = !text.empty() && text.front() != '{';
    const auto format = csv ? score::OutputFormat::kCsv : score::OutputFormat::kJsonLines;
    std::vector<Row> rows;
    std::size_t complete = 0;
    bool header = csv;
    for (const std::string_view record : score::splitRecords(text, format, &complete)) {
        if (header) {
            header = false;
            continue;
        }
        if (csv) {
            const auto f = score::parseCsvRecord(record);
            EXPECT_EQ(f.size(), 8u) << record;
            if (f.size() == 8) {
                rows.push_back({f[0], f[3], f[6]});
            }
            continue;
        }
        const Json::Value v = parseJson(std::string(record));
        rows.push_back({v["path"].asString(), v["label"].asString(), v["error"].asString()});
    }
    EXPECT_EQ(complete, text.size()) << "a torn last line in " << path;
    return rows;
}

// The digit a generated file holds: its name is d<digit>_<n>.png.
std::string digitOf(const std::string& path) {
    const std::string name = fs::path(path).filename().string();
    return name.size() > 1 && name[0] == 'd' ? name.substr(1, 1) : "?";
}

class ScoreTest : public ::testing::Test {
  protected:
    void SetUp() override { dir_ = makeTempDir(); }
    void TearDown() override {
        if (std::getenv("PREDICTD_KEEP_TEST_DIRS") == nullptr) {
            std::error_code ec;
            fs::remove_all(dir_, ec);
        }
    }

    // `per_digit` copies of each sample digit, spread over nested directories; returns paths.
    std::set<std::string> makeDigits(int per_digit, const std::string& under = "images") {
        std::set<std::string> paths;
        for (int d = 0; d < 10; ++d) {
            const std::string png = samplePng(d);
            for (int i = 0; i < per_digit; ++i) {
                const fs::path p =
                    fs::path(dir_) / under / score::concat("set", std::to_string(i % 7)) /
                    score::concat("sub", std::to_string(i % 3)) /
                    score::concat("d", std::to_string(d), "_", std::to_string(i), ".png");
                fs::create_directories(p.parent_path());
                std::ofstream(p, std::ios::binary) << png;
                paths.insert(p.string());
            }
        }
        return paths;
    }

    std::string put(const std::string& rel, const std::string& bytes) {
        const fs::path p = fs::path(dir_) / rel;
        fs::create_directories(p.parent_path());
        std::ofstream(p, std::ios::binary) << bytes;
        return p.string();
    }

    std::vector<std::string> command(const PredictdService& s, const std::string& output,
                                     std::vector<std::string> extra) const {
        std::vector<std::string> argv{PREDICTD_SCORE_BINARY,
                                      "--model",
                                      "mnist",
                                      "--output",
                                      output,
                                      "--url",
                                      score::concat("http://127.0.0.1:", std::to_string(s.port()))};
        argv.insert(argv.end(), extra.begin(), extra.end());
        return argv;
    }

    // Runs to the end (at most `limit`); the exit status, or -1 if it did not end in time.
    int run(const std::vector<std::string>& argv, std::chrono::milliseconds limit = 120s) {
        ChildProcess child(argv, log());
        const auto status = child.waitExit(limit);
        if (!status) {
            ADD_FAILURE() << "predictd-score did not finish: " << readFile(log());
            return -1;
        }
        return WIFEXITED(*status) ? WEXITSTATUS(*status) : 128 + WTERMSIG(*status);
    }

    // Starts a run, waits until its output holds at least one row after `header_lines`, then
    // sends `sig`. Returns the exit status; expects the run to have been cut short (fewer rows
    // than `total`).
    int interrupt(const std::vector<std::string>& argv, const std::string& output, int sig,
                  std::size_t total, std::ptrdiff_t header_lines = 0) {
        ChildProcess child(argv, log());
        const bool some = eventually(
            [&] {
                const std::string text = readFile(output);
                return std::count(text.begin(), text.end(), '\n') >= header_lines + 1 ||
                       !child.running();
            },
            60s);
        EXPECT_TRUE(some);
        EXPECT_TRUE(child.running()) << "finished before it could be interrupted";
        child.signal(sig);
        const auto status = child.waitExit(30s);
        EXPECT_TRUE(status.has_value());
        const std::string text = readFile(output);
        EXPECT_LT(static_cast<std::size_t>(std::count(text.begin(), text.end(), '\n')), total)
            << "the run was not cut short";
        if (!status) {
            return -1;
        }
        return WIFEXITED(*status) ? WEXITSTATUS(*status) : 128 + WTERMSIG(*status);
    }

    [[nodiscard]] std::string log() const { return dir_ + "/score.log"; }

    static void expectEachPathOnce(const std::vector<Row>& rows,
                                   const std::set<std::string>& want) {
        std::multiset<std::string> got;
        for (const Row& r : rows) {
            got.insert(r.path);
        }
        EXPECT_EQ(got.size(), want.size()) << "rows";
        EXPECT_EQ(std::set<std::string>(got.begin(), got.end()), want);
        for (const std::string& p : want) {
            EXPECT_EQ(got.count(p), 1u) << p;
        }
    }

    static void expectDigitLabels(const std::vector<Row>& rows) {
        for (const Row& r : rows) {
            EXPECT_EQ(r.error, "") << r.path;
            EXPECT_EQ(r.label, digitOf(r.path)) << r.path;
        }
    }

    // The output's rows: one per image of `images`, each with its digit's label. Returns them
    // for the checks a test adds.
    static std::vector<Row> expectEachDigitOnceLabelled(const std::string& output,
                                                        const std::set<std::string>& images) {
        auto rows = readRows(output);
        expectEachPathOnce(rows, images);
        expectDigitLabels(rows);
        return rows;
    }

    std::string dir_;
};

TEST_F(ScoreTest, ScoresADirectoryOfDigitsWithTheRightLabels) {
    PredictdService service;
    ASSERT_TRUE(service.waitReady());
    const auto images = makeDigits(12);
    put("images/set1/notes.txt", "not an image");
    const std::string out = dir_ + "/digits.jsonl";
    EXPECT_EQ(run(command(service, out,
                          {"--include", "*.png", "--sorted", "--batch", "8", dir_ + "/images"})),
              0)
        << readFile(log());
    const auto rows = expectEachDigitOnceLabelled(out, images);
    std::vector<std::string> order;
    order.reserve(rows.size());
    for (const Row& r : rows) {
        order.push_back(r.path);
    }
    EXPECT_TRUE(std::is_sorted(order.begin(), order.end())) << "--sorted";
    const std::string messages = readFile(log());
    EXPECT_NE(messages.find("v2 binary tensor data"), std::string::npos) << messages;
    EXPECT_NE(messages.find("predictd-score: 120/120 (100.0%)"), std::string::npos) << messages;
    EXPECT_NE(messages.find("labels: "), std::string::npos) << messages;
    EXPECT_NE(messages.find("7=12"), std::string::npos) << messages;

    // The same command again: nothing left to score, the output unchanged.
    const std::string before = readFile(out);
    EXPECT_EQ(run(command(service, out,
                          {"--include", "*.png", "--sorted", "--batch", "8", dir_ + "/images"})),
              0);
    EXPECT_EQ(readFile(out), before);

    // The JSON fallback, to CSV, from a file list: the same labels.
    const std::string list = put("list.txt", [&] {
        std::string text;
        for (const std::string& p : images) {
            text += p + "\n";
        }
        return text;
    }());
    const std::string csv = dir_ + "/digits.csv";
    EXPECT_EQ(
        run(command(service, csv, {"--protocol", "json", "--format", "csv", "--files-from", list})),
        0)
        << readFile(log());
    expectEachDigitOnceLabelled(csv, images);
}

TEST_F(ScoreTest, SigkillMidRunThenRerunScoresEachImageOnce) {
    PredictdService service;
    ASSERT_TRUE(service.waitReady());
    const auto images = makeDigits(300);  // 3000 files
    const std::string out = dir_ + "/out.jsonl";
    const auto argv =
        command(service, out, {"--batch", "1", "--concurrency", "1", dir_ + "/images"});
    EXPECT_EQ(interrupt(argv, out, SIGKILL, images.size()), 128 + SIGKILL);
    // A torn last line, as a kill in the middle of a write leaves it.
    { std::ofstream(out, std::ios::binary | std::ios::app) << R"({"path":"/torn/by/a/kil)"; }
    EXPECT_EQ(run(argv), 0) << readFile(log());
    EXPECT_NE(readFile(log()).find("torn last line"), std::string::npos);
    expectEachDigitOnceLabelled(out, images);
}

TEST_F(ScoreTest, CtrlCMidRunExitsThreeThenRerunCompletes) {
    PredictdService service;
    ASSERT_TRUE(service.waitReady());
    const auto images = makeDigits(300);
    const std::string out = dir_ + "/out.csv";
    const auto argv = command(
        service, out, {"--format", "csv", "--batch", "1", "--concurrency", "1", dir_ + "/images"});
    EXPECT_EQ(interrupt(argv, out, SIGINT, images.size(), 1), 3) << readFile(log());
    EXPECT_NE(readFile(log()).find("run the same command again"), std::string::npos);
    EXPECT_EQ(run(argv), 0) << readFile(log());
    expectEachDigitOnceLabelled(out, images);
}

TEST_F(ScoreTest, ServerKilledAndRestartedMidRunLosesNothing) {
    PredictdService service;
    ASSERT_TRUE(service.waitReady());
    const auto images = makeDigits(150);
    const std::string out = dir_ + "/out.jsonl";
    ChildProcess score(
        command(service, out, {"--batch", "2", "--concurrency", "2", dir_ + "/images"}), log());
    ASSERT_TRUE(eventually([&] { return !readFile(out).empty() || !score.running(); }, 60s));
    ASSERT_TRUE(score.running()) << "finished before the server could be restarted";
    // The whole predictd (supervisor and workers) dies at once; NGINX stays and answers 503.
    ::kill(-service.supervisor().pid(), SIGKILL);
    ASSERT_TRUE(service.supervisor().waitExit(10s).has_value());
    std::this_thread::sleep_for(1500ms);
    ChildProcess restarted(
        {PREDICTD_BINARY, "--listen", "unix:" + service.socketPath(), "--socket-mode", "0666",
         "--workers", "2", "--model", sourceDir() + "/model/mnist/1/model.onnx"},
        service.dir() + "/predictd-restarted.log");
    const auto status = score.waitExit(120s);
    ASSERT_TRUE(status.has_value()) << readFile(log());
    EXPECT_TRUE(WIFEXITED(*status) && WEXITSTATUS(*status) == 0) << readFile(log());
    expectEachDigitOnceLabelled(out, images);
    EXPECT_NE(readFile(log()).find("requests retried"), std::string::npos) << readFile(log());
    restarted.signal(SIGTERM);
    restarted.waitExit(10s);
}

TEST_F(ScoreTest, OneOfTwoUrlsDownStillScoresEverything) {
    PredictdService service;
    ASSERT_TRUE(service.waitReady());
    const auto images = makeDigits(20);
    const std::string out = dir_ + "/out.jsonl";
    const std::string down = score::concat("http://127.0.0.1:", std::to_string(freeTcpPort()));
    EXPECT_EQ(run(command(service, out, {"--url", down, "--batch", "4", dir_ + "/images"})), 0)
        << readFile(log());
    expectEachDigitOnceLabelled(out, images);
}

TEST_F(ScoreTest, BadFilesBecomeErrorRowsAndTheRestIsScored) {
    PredictdService service;
    ASSERT_TRUE(service.waitReady());
    const auto images = makeDigits(5);
    std::map<std::string, std::string> bad{
        {put("images/bad/corrupt.png", "\x89PNG\r\n\x1a\n this is not really a PNG"),
         "invalid_image"},
        {put("images/bad/empty.png", ""), "empty_file"},
        {put("images/bad/text.png", "hello, world"), "invalid_image"},
        {put("images/bad/anim.gif", std::string("GIF89a\x01\x00\x01\x00\x00\x00\x00;", 13)),
         "unsupported_image_format"},
        {dir_ + "/images/bad/missing.png", "unreadable"},
    };
    std::string list;
    for (const std::string& p : images) {
        list += p + "\n";
    }
    for (const auto& [p, kind] : bad) {
        list += p + "\n";
    }
    const std::string out = dir_ + "/out.jsonl";
    EXPECT_EQ(run(command(service, out, {"--batch", "16", "--files-from", put("list", list)})), 1)
        << readFile(log());
    const auto rows = readRows(out);
    std::set<std::string> all = images;
    for (const auto& [p, kind] : bad) {
        all.insert(p);
    }
    expectEachPathOnce(rows, all);
    for (const Row& r : rows) {
        if (bad.count(r.path) != 0) {
            EXPECT_EQ(r.error, bad.at(r.path)) << r.path;
        } else {
            EXPECT_EQ(r.error, "") << r.path;
            EXPECT_EQ(r.label, digitOf(r.path)) << r.path;
        }
    }
    EXPECT_NE(readFile(log()).find("errors: "), std::string::npos) << readFile(log());
    // A rerun has nothing left to do, and still says some rows are errors.
    EXPECT_EQ(run(command(service, out, {"--batch", "16", "--files-from", dir_ + "/list"})), 1);
    EXPECT_EQ(readRows(out).size(), all.size());
}

TEST_F(ScoreTest, ProgressBarOnATerminal) {
    PredictdService service;
    ASSERT_TRUE(service.waitReady());
    const auto images = makeDigits(4);
    const std::string out = dir_ + "/out.jsonl";
    const auto argv = command(service, out, {dir_ + "/images"});
    int master = -1;
    winsize ws{};
    ws.ws_col = 100;
    ws.ws_row = 30;
    const pid_t pid = ::forkpty(&master, nullptr, nullptr, &ws);
    ASSERT_GE(pid, 0);
    if (pid == 0) {
        std::vector<char*> args;
        args.reserve(argv.size() + 1);
        for (const std::string& a : argv) {
            args.push_back(const_cast<char*>(a.c_str()));
        }
        args.push_back(nullptr);
        ::execv(args[0], args.data());
        ::_exit(127);
    }
    std::string screen;
    const auto until = std::chrono::steady_clock::now() + 60s;
    while (std::chrono::steady_clock::now() < until) {
        pollfd p{master, POLLIN, 0};
        if (::poll(&p, 1, 200) <= 0) {
            continue;
        }
        char buf[4096];
        const ssize_t n = ::read(master, buf, sizeof(buf));
        if (n <= 0) {
            break;  // EIO once the child has exited and closed the terminal
        }
        screen.append(buf, static_cast<std::size_t>(n));
    }
    int status = 0;
    ASSERT_EQ(::waitpid(pid, &status, 0), pid);
    ::close(master);
    EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << screen;
    EXPECT_NE(screen.find("\r["), std::string::npos) << screen;
    EXPECT_NE(screen.find("]  40/40  100.0%"), std::string::npos) << screen;
    EXPECT_NE(screen.find("errors 0"), std::string::npos) << screen;
    EXPECT_EQ(readRows(out).size(), images.size());
}

}  // namespace
}  // namespace predictd::testing
