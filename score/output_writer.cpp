// output_writer.cpp — row text (jsoncpp's string quoting, std::to_chars for scores) and the
// append-only file (POSIX write + fdatasync: no library offers "append whole chunks durably").
#include "output_writer.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <json/json.h>

#include <cerrno>
#include <charconv>
#include <cstring>
#include <stdexcept>

namespace predictd::score {
namespace {

void appendQuoted(std::string& out, const std::string& s) {
    out += Json::valueToQuotedString(s.c_str());
}

bool writeAll(int fd, std::string_view data) {
    while (!data.empty()) {
        const ssize_t n = ::write(fd, data.data(), data.size());
        if (n < 0) {
            if (errno == EINTR) {
                continue;
            }
            return false;
        }
        data.remove_prefix(static_cast<std::size_t>(n));
    }
    return true;
}

}  // namespace

std::string scoreText(double score) {
    char buf[32];
    const auto [end, ec] = std::to_chars(buf, buf + sizeof(buf), score);
    return ec == std::errc() ? std::string(buf, end) : std::string("0");
}

std::string csvHeader() {
    return "path,model,version,label,score,top_k,error,message\n";
}

std::string csvField(std::string_view text) {
    if (text.find_first_of(",\"\r\n") == std::string_view::npos) {
        return std::string(text);
    }
    std::string out = "\"";
    for (const char c : text) {
        if (c == '"') {
            out += '"';
        }
        out += c;
    }
    out += '"';
    return out;
}

std::string formatRow(const ScoreRow& row, OutputFormat format) {
    std::string out;
    if (format == OutputFormat::kCsv) {
        out += csvField(row.path);
        out += ',';
        out += csvField(row.model);
        out += ',';
        out += csvField(row.version);
        out += ',';
        if (!row.failed() && !row.top_k.empty()) {
            out += csvField(row.top_k.front().label);
            out += ',';
            out += scoreText(row.top_k.front().score);
            out += ',';
            std::string top;
            for (std::size_t i = 0; i < row.top_k.size(); ++i) {
                if (i != 0) {
                    top += ';';
                }
                top += row.top_k[i].label;
                top += ':';
                top += scoreText(row.top_k[i].score);
            }
            out += csvField(top);
        } else {
            out += ",,";
        }
        out += ',';
        out += csvField(row.error);
        out += ',';
        out += csvField(row.message);
        out += '\n';
        return out;
    }
    out += "{\"path\":";
    appendQuoted(out, row.path);
    out += ",\"model\":";
    appendQuoted(out, row.model);
    out += ",\"version\":";
    appendQuoted(out, row.version);
    if (row.failed()) {
        out += ",\"error\":";
        appendQuoted(out, row.error);
        out += ",\"message\":";
        appendQuoted(out, row.message);
    } else if (!row.top_k.empty()) {
        out += ",\"label\":";
        appendQuoted(out, row.top_k.front().label);
        out += ",\"score\":";
        out += scoreText(row.top_k.front().score);
        out += ",\"top_k\":[";
        for (std::size_t i = 0; i < row.top_k.size(); ++i) {
            if (i != 0) {
                out += ',';
            }
            out += "{\"label\":";
            appendQuoted(out, row.top_k[i].label);
            out += ",\"score\":";
            out += scoreText(row.top_k[i].score);
            out += '}';
        }
        out += ']';
    }
    out += "}\n";
    return out;
}

OutputWriter::OutputWriter(const std::string& path, OutputFormat format, const std::string& header,
                           Options options)
    : format_(format), options_(options) {
    fd_ = ::open(path.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
    if (fd_ < 0) {
        throw std::runtime_error(path + ": " + std::strerror(errno));
    }
    struct stat st {};
    if (::fstat(fd_, &st) == 0 && st.st_size == 0 && !header.empty()) {
        pending_ = header;
        oldest_ = std::chrono::steady_clock::now();
        flushLocked();
    }
}

OutputWriter::~OutputWriter() {
    close();
    if (fd_ >= 0) {
        ::close(fd_);
    }
}

bool OutputWriter::add(const ScoreRow& row) {
    std::string text = formatRow(row, format_);
    const std::lock_guard lock(mutex_);
    if (closed_) {
        return false;
    }
    if (pending_.empty()) {
        oldest_ = std::chrono::steady_clock::now();
    }
    pending_ += text;
    if (pending_.size() >= options_.chunk_bytes) {
        flushLocked();
    }
    return true;
}

void OutputWriter::flushIfDue() {
    const std::lock_guard lock(mutex_);
    if (!pending_.empty() && std::chrono::steady_clock::now() - oldest_ >= options_.max_age) {
        flushLocked();
    }
}

void OutputWriter::flush() {
    const std::lock_guard lock(mutex_);
    flushLocked();
}

void OutputWriter::close() {
    const std::lock_guard lock(mutex_);
    if (!closed_) {
        flushLocked();
        closed_ = true;
    }
}

std::string OutputWriter::error() const {
    const std::lock_guard lock(mutex_);
    return error_;
}

void OutputWriter::flushLocked() {
    if (pending_.empty() || closed_ || !error_.empty()) {
        return;
    }
    if (!writeAll(fd_, pending_) || (options_.sync && ::fdatasync(fd_) != 0)) {
        error_ = std::string("writing the output: ") + std::strerror(errno);
    }
    pending_.clear();
}

}  // namespace predictd::score
