// resume_journal.cpp — reading the output back (jsoncpp for JSON Lines; CSV records by hand:
// neither Poco nor jsoncpp reads CSV), torn-line repair with truncate(2), sorted rewrite.
#include "resume_journal.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <json/json.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <memory>
#include <sstream>

namespace predictd::score {

std::vector<std::string_view> splitRecords(std::string_view text, OutputFormat format,
                                           std::size_t* complete_bytes) {
    std::vector<std::string_view> out;
    std::size_t start = 0;
    bool quoted = false;
    for (std::size_t i = 0; i < text.size(); ++i) {
        const char c = text[i];
        if (format == OutputFormat::kCsv && c == '"') {
            quoted = !quoted;  // a doubled quote toggles twice
        } else if (c == '\n' && !quoted) {
            out.push_back(text.substr(start, i - start));
            start = i + 1;
        }
    }
    if (complete_bytes != nullptr) {
        *complete_bytes = start;
    }
    return out;
}

std::vector<std::string> parseCsvRecord(std::string_view record) {
    std::vector<std::string> fields(1);
    bool quoted = false;
    for (std::size_t i = 0; i < record.size(); ++i) {
        const char c = record[i];
        if (quoted) {
            if (c == '"' && i + 1 < record.size() && record[i + 1] == '"') {
                fields.back() += '"';
                ++i;
            } else if (c == '"') {
                quoted = false;
            } else {
                fields.back() += c;
            }
        } else if (c == '"') {
            quoted = true;
        } else if (c == ',') {
            fields.emplace_back();
        } else if (c != '\r') {
            fields.back() += c;
        }
    }
    return fields;
}

bool readRecord(std::string_view record, OutputFormat format, OutputRecord& out) {
    if (format == OutputFormat::kCsv) {
        const auto fields = parseCsvRecord(record);
        if (fields.size() != 8 || (fields[0] == "path" && fields[6] == "error")) {
            return false;
        }
        out.path = fields[0];
        out.failed = !fields[6].empty();
        return !out.path.empty();
    }
    Json::CharReaderBuilder builder;
    const std::unique_ptr<Json::CharReader> reader(builder.newCharReader());
    Json::Value doc;
    std::string errors;
    if (!reader->parse(record.data(), record.data() + record.size(), &doc, &errors) ||
        !doc.isObject() || !doc["path"].isString()) {
        return false;
    }
    out.path = doc["path"].asString();
    out.failed = doc.isMember("error");
    return true;
}

namespace {

bool readWhole(const std::string& path, std::string& text, std::string& error) {
    std::ifstream in(path, std::ios::binary);
    if (!in) {
        error = path + ": " + std::strerror(errno);
        return false;
    }
    std::ostringstream buf;
    buf << in.rdbuf();
    text = std::move(buf).str();
    return true;
}

}  // namespace

JournalState readJournal(const std::string& path, OutputFormat format, std::string& error) {
    JournalState state;
    std::error_code ec;
    if (!std::filesystem::exists(path, ec)) {
        return state;
    }
    std::string text;
    if (!readWhole(path, text, error)) {
        return state;
    }
    if (text.empty()) {
        return state;
    }
    state.exists = true;
    const bool looks_jsonl = text.front() == '{';
    if (looks_jsonl != (format == OutputFormat::kJsonLines)) {
        error = path + " holds " + (looks_jsonl ? "JSON Lines" : "CSV") +
                ": give the same --format as the run that wrote it, or another --output";
        return state;
    }
    std::size_t complete = 0;
    const auto records = splitRecords(text, format, &complete);
    if (complete < text.size()) {
        state.torn_bytes = text.size() - complete;
        if (::truncate(path.c_str(), static_cast<off_t>(complete)) != 0) {
            error = path + ": cannot cut its torn last line: " + std::strerror(errno);
            return state;
        }
    }
    OutputRecord record;
    for (const std::string_view r : records) {
        if (!readRecord(r, format, record)) {
            if (!(format == OutputFormat::kCsv &&
                  r == std::string_view(csvHeader()).substr(0, csvHeader().size() - 1))) {
                ++state.unreadable;
            }
            continue;
        }
        ++state.rows;
        if (record.failed) {
            state.failed.insert(record.path);
        } else {
            state.failed.erase(record.path);
        }
        state.done.insert(std::move(record.path));
    }
    return state;
}

std::string sortOutput(const std::string& path, OutputFormat format) {
    std::string text;
    std::string error;
    if (!readWhole(path, text, error)) {
        return error;
    }
    std::size_t complete = 0;
    auto records = splitRecords(text, format, &complete);
    std::vector<std::pair<std::string, std::string_view>> rows;
    std::string header;
    OutputRecord record;
    for (const std::string_view r : records) {
        if (readRecord(r, format, record)) {
            rows.emplace_back(std::move(record.path), r);
        } else if (format == OutputFormat::kCsv && header.empty()) {
            header = std::string(r);
        } else {
            rows.emplace_back(std::string(), r);  // kept, first
        }
    }
    std::stable_sort(rows.begin(), rows.end(),
                     [](const auto& a, const auto& b) { return a.first < b.first; });
    const std::string tmp = path + ".sorting";
    {
        std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
        if (!header.empty()) {
            out << header << '\n';
        }
        for (const auto& [p, r] : rows) {
            out << r << '\n';
        }
        out.flush();
        if (!out) {
            return tmp + ": cannot write";
        }
    }
    const int fd = ::open(tmp.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0 || ::fsync(fd) != 0) {
        if (fd >= 0) {
            ::close(fd);
        }
        return tmp + ": cannot sync";
    }
    ::close(fd);
    if (::rename(tmp.c_str(), path.c_str()) != 0) {
        return path + ": cannot replace: " + std::strerror(errno);
    }
    return "";
}

}  // namespace predictd::score
