// readme_examples.cpp — extracting, running and checking the README's curl examples (see the
// header for the conventions).
#include "readme_examples.hpp"

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <optional>
#include <sstream>
#include <vector>

#include <Poco/RegularExpression.h>

#include "service_harness.hpp"

namespace predictd::testing {
namespace {

bool hasCurl(const std::string& command) {
    // Poco's PCRE, not std::regex: GCC 12 warns (-Wmaybe-uninitialized) inside <regex> at -O2.
    static const Poco::RegularExpression kCurl(R"((^|[\s|;&(])curl\s)");
    Poco::RegularExpression::Match m;
    return kCurl.match(command, m) > 0;
}

// Whether `line` leaves the statement open: an unclosed quote (state carried in `quote`), or a
// trailing `\`, `|`, `&&` or `||`.
bool continues(const std::string& line, char& quote) {
    for (std::size_t i = 0; i < line.size(); ++i) {
        const char c = line[i];
        if (quote == '\'') {
            quote = c == '\'' ? 0 : quote;
        } else if (c == '\\') {
            ++i;
        } else if (quote == '"') {
            quote = c == '"' ? 0 : quote;
        } else if (c == '\'' || c == '"') {
            quote = c;
        }
    }
    if (quote != 0) {
        return true;
    }
    std::string t = line;
    while (!t.empty() && (t.back() == ' ' || t.back() == '\t')) {
        t.pop_back();
    }
    return t.ends_with("\\") || t.ends_with("|") || t.ends_with("&&");
}

// The closing word of a here-document the line opens (`<<EOF`, `<<'EOF'`, `<<-"EOF"`), or "".
std::string heredocDelimiter(const std::string& line) {
    static const Poco::RegularExpression kHeredoc(
        R"((^|[^<])<<-?\s*['"]?([A-Za-z_][A-Za-z0-9_]*)['"]?)");
    std::vector<std::string> groups;
    return kHeredoc.split(line, groups) > 2 ? groups[2] : std::string();
}

std::string trimLeft(const std::string& s) {
    const auto start = s.find_first_not_of(" \t");
    return start == std::string::npos ? "" : s.substr(start);
}

}  // namespace

std::vector<ReadmeBlock> readmeCurlBlocks(const std::string& markdown) {
    std::vector<ReadmeBlock> blocks;
    std::istringstream in(markdown);
    std::string line;
    std::string heading;
    int number = 0;
    std::optional<ReadmeBlock> block;  // inside a shell block
    bool other_fence = false;          // inside another fenced block
    ReadmeStatement* last = nullptr;   // the statement `# ` lines belong to
    std::optional<ReadmeStatement> open;
    char quote = 0;
    std::string heredoc;  // inside a here-document: its closing word
    while (std::getline(in, line)) {
        ++number;
        const std::string t = trimLeft(line);
        if (!block && !other_fence) {
            if (t.starts_with("#") && !t.starts_with("#!")) {
                heading = t;
            }
            if (t == "```sh" || t == "```bash" || t == "```shell") {
                block = ReadmeBlock{number, heading, {}};
                last = nullptr;
            } else if (t.starts_with("```")) {
                other_fence = true;
            }
            continue;
        }
        if (other_fence) {
            other_fence = !t.starts_with("```");
            continue;
        }
        if (!open && t.starts_with("```")) {
            bool curl = false;
            for (const auto& s : block->statements) {
                curl |= hasCurl(s.command);
            }
            if (curl) {
                blocks.push_back(std::move(*block));
            }
            block.reset();
            continue;
        }
        if (open) {
            open->command += "\n" + line;
            if (!heredoc.empty()) {
                if (t == heredoc) {
                    heredoc.clear();
                    block->statements.push_back(std::move(*open));
                    open.reset();
                    last = &block->statements.back();
                }
                continue;
            }
            heredoc = heredocDelimiter(line);
            if (heredoc.empty() && !continues(line, quote)) {
                block->statements.push_back(std::move(*open));
                open.reset();
                last = &block->statements.back();
            }
            continue;
        }
        if (t.empty()) {
            last = nullptr;
            continue;
        }
        if (t.starts_with("#")) {
            if (last != nullptr) {
                const std::string text = t.size() > 1 && t[1] == ' ' ? t.substr(2) : t.substr(1);
                last->shown += last->shown.empty() ? text : "\n" + text;
            }
            continue;
        }
        quote = 0;
        ReadmeStatement s{number, line, ""};
        heredoc = heredocDelimiter(line);
        if (!heredoc.empty() || continues(line, quote)) {
            open = std::move(s);
            last = nullptr;
        } else {
            block->statements.push_back(std::move(s));
            last = &block->statements.back();
        }
    }
    return blocks;
}

std::map<std::string, JsonShapeNode> jsonShape(const std::string& text) {
    std::map<std::string, JsonShapeNode> shape;
    std::vector<std::string> stack;  // paths of the open containers
    std::string pending_key;         // the key whose value comes next
    std::size_t i = text.find_first_of("{[");
    if (i == std::string::npos) {
        return shape;
    }
    for (; i < text.size(); ++i) {
        const char c = text[i];
        if (c == '"') {
            std::string s;
            for (++i; i < text.size() && text[i] != '"'; ++i) {
                if (text[i] == '\\') {
                    ++i;
                }
                if (i < text.size()) {
                    s += text[i];
                }
            }
            const std::size_t next = text.find_first_not_of(" \t\r\n", i + 1);
            if (next != std::string::npos && text[next] == ':' && !stack.empty() &&
                shape[stack.back()].kind == '{') {
                shape[stack.back()].keys.insert(s);
                pending_key = s;
            }
        } else if (c == '{' || c == '[') {
            std::string path;
            if (!stack.empty()) {
                path = shape[stack.back()].kind == '{' ? stack.back() + "." + pending_key
                                                       : stack.back() + "[]";
            }
            JsonShapeNode& node = shape[path];
            node.kind = c;
            stack.push_back(path);
        } else if (c == '}' || c == ']') {
            if (stack.empty()) {
                break;
            }
            stack.pop_back();
            if (stack.empty()) {
                break;  // the first value is complete: ignore what follows (binary data, …)
            }
        } else if (!stack.empty() &&
                   (text.compare(i, 3, "...") == 0 || text.compare(i, 3, "\xE2\x80\xA6") == 0)) {
            shape[stack.back()].elided = true;
            i += 2;
        }
    }
    return shape;
}

std::vector<std::string> compareShapes(const std::string& shown, const std::string& actual) {
    std::vector<std::string> problems;
    const auto want = jsonShape(shown);
    const auto got = jsonShape(actual);
    if (!want.empty() && got.empty()) {
        problems.push_back("the answer is not JSON");
        return problems;
    }
    for (const auto& [path, node] : want) {
        const auto it = got.find(path);
        const std::string where = path.empty() ? "the top level" : "'" + path + "'";
        if (it == got.end()) {
            problems.push_back(where + " is not in the answer");
            continue;
        }
        if (it->second.kind != node.kind) {
            problems.push_back(where + " is " + std::string(1, it->second.kind) +
                               " in the answer, shown as " + std::string(1, node.kind));
            continue;
        }
        for (const std::string& key : node.keys) {
            if (it->second.keys.count(key) == 0) {
                problems.push_back("key '" + key + "' shown at " + where + " is not in the answer");
            }
        }
        if (!node.elided && node.kind == '{') {
            for (const std::string& key : it->second.keys) {
                if (node.keys.count(key) == 0) {
                    problems.push_back("the answer has key '" + key + "' at " + where +
                                       ", not shown (write ... to elide)");
                }
            }
        }
    }
    return problems;
}

ExampleRun runReadmeExamples(const std::string& markdown, int port,
                             const std::string& scratch_dir) {
    ExampleRun run;
    // The scratch directory: a link per top-level entry of the repository (but build/).
    for (const auto& entry : std::filesystem::directory_iterator(sourceDir())) {
        const auto name = entry.path().filename();
        const auto link = std::filesystem::path(scratch_dir) / name;
        if (name != "build" && !std::filesystem::exists(link)) {
            std::filesystem::create_symlink(entry.path(), link);
        }
    }
    static const Poco::RegularExpression kHostPort(R"((localhost|127\.0\.0\.1):[0-9]+)");
    const std::string target = "127.0.0.1:" + std::to_string(port);
    int block_number = 0;
    for (const ReadmeBlock& block : readmeCurlBlocks(markdown)) {
        ++block_number;
        // One bash script per block: statements share its variables and files. curl is wrapped
        // to report each transfer's status and URL on stderr (wherever stdout goes: a pipe, a
        // file), and bounded in time.
        std::ostringstream script;
        script << "curl() { command curl --max-time 30 \"$@\" "
                  "-w '%{stderr}\\n@@status %{http_code} %{url_effective}\\n'; }\n";
        for (std::size_t i = 0; i < block.statements.size(); ++i) {
            std::string command = block.statements[i].command;
            kHostPort.subst(command, target, Poco::RegularExpression::RE_GLOBAL);
            script << command << "\n"
                   << "printf '\\n@@end " << i << "\\n'; printf '\\n@@end " << i << "\\n' >&2\n";
        }
        const std::string base = scratch_dir + "/block-" + std::to_string(block_number);
        std::ofstream(base + ".sh") << script.str();
        const std::string cmd = "cd '" + scratch_dir + "' && timeout 300 /bin/bash '" + base +
                                ".sh' > '" + base + ".out' 2> '" + base + ".err'";
        const int rc = std::system(cmd.c_str());
        const std::string out = readFile(base + ".out");
        const std::string err = readFile(base + ".err");
        std::size_t out_pos = 0;
        std::size_t err_pos = 0;
        for (std::size_t i = 0; i < block.statements.size(); ++i) {
            const ReadmeStatement& s = block.statements[i];
            const std::string where =
                "README.md:" + std::to_string(s.line) + " (" + block.heading + "): ";
            const std::string marker = "\n@@end " + std::to_string(i) + "\n";
            const std::size_t out_end = out.find(marker, out_pos);
            const std::size_t err_end = err.find(marker, err_pos);
            if (out_end == std::string::npos || err_end == std::string::npos) {
                run.problems.push_back(where + "the block stopped before this statement (exit " +
                                       std::to_string(rc) + "): " + err.substr(err_pos));
                break;
            }
            const std::string stdout_text = out.substr(out_pos, out_end - out_pos);
            const std::string stderr_text = err.substr(err_pos, err_end - err_pos);
            out_pos = out_end + marker.size();
            err_pos = err_end + marker.size();
            if (!hasCurl(s.command)) {
                continue;
            }
            ++run.examples;
            std::string shown = s.shown;
            int want_status = 0;  // 0: any 2xx
            if (shown.starts_with("HTTP ") && shown.size() >= 8) {
                want_status = std::atoi(shown.substr(5, 3).c_str());
                shown = trimLeft(shown.substr(8));
            }
            std::istringstream lines(stderr_text);
            int transfers = 0;
            for (std::string line; std::getline(lines, line);) {
                if (!line.starts_with("@@status ")) {
                    continue;
                }
                ++transfers;
                const int status = std::atoi(line.substr(9, 3).c_str());
                run.urls.push_back(line.substr(13));
                const bool ok =
                    want_status == 0 ? status >= 200 && status < 300 : status == want_status;
                if (!ok) {
                    run.problems.push_back(
                        where + "status " + std::to_string(status) + " (want " +
                        (want_status == 0 ? std::string("2xx") : std::to_string(want_status)) +
                        ") from " + line.substr(13) + ": " + stdout_text.substr(0, 300));
                }
            }
            if (transfers == 0) {
                run.problems.push_back(where + "curl made no request: " + stderr_text);
                continue;
            }
            if (shown.starts_with("{") || shown.starts_with("[")) {
                for (const std::string& p : compareShapes(shown, stdout_text)) {
                    run.problems.push_back(where + p + "; answer: " + stdout_text.substr(0, 300));
                }
            }
        }
    }
    return run;
}

}  // namespace predictd::testing
