// input_listing.cpp — directory walks (std::filesystem), path lists and fnmatch(3) patterns.
#include "input_listing.hpp"

#include "text.hpp"

#include <fnmatch.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <system_error>

namespace predictd::score {

namespace fs = std::filesystem;

bool matchesPattern(const std::string& pattern, const std::string& path) {
    if (pattern.find('/') == std::string::npos) {
        const auto slash = path.rfind('/');
        const std::string name = slash == std::string::npos ? path : path.substr(slash + 1);
        return ::fnmatch(pattern.c_str(), name.c_str(), 0) == 0;
    }
    return ::fnmatch(pattern.c_str(), path.c_str(), 0) == 0;
}

bool selected(const InputSpec& spec, const std::string& path) {
    const auto match = [&path](const std::string& p) { return matchesPattern(p, path); };
    if (!spec.include.empty() && std::none_of(spec.include.begin(), spec.include.end(), match)) {
        return false;
    }
    return std::none_of(spec.exclude.begin(), spec.exclude.end(), match);
}

std::vector<std::string> readPathList(std::istream& in) {
    std::vector<std::string> out;
    std::string line;
    while (std::getline(in, line)) {
        if (!line.empty() && line.back() == '\r') {
            line.pop_back();
        }
        if (!line.empty()) {
            out.push_back(line);
        }
    }
    return out;
}

namespace {

void walk(const std::string& dir, const InputSpec& spec, InputListing& out) {
    std::error_code ec;
    fs::recursive_directory_iterator it(dir, fs::directory_options::skip_permission_denied, ec);
    if (ec) {
        out.errors.push_back(concat(dir, ": ", ec.message()));
        return;
    }
    for (const fs::recursive_directory_iterator end; it != end; it.increment(ec)) {
        if (ec) {
            out.errors.push_back(concat(dir, ": ", ec.message()));
            return;
        }
        std::error_code type_ec;
        if (!it->is_regular_file(type_ec)) {
            continue;
        }
        std::string path = it->path().string();
        if (selected(spec, path)) {
            out.files.push_back(std::move(path));
        }
    }
}

void addListed(const std::string& path, const InputSpec& spec, InputListing& out) {
    std::error_code ec;
    if (fs::is_directory(path, ec)) {
        walk(path, spec, out);
    } else if (selected(spec, path)) {
        out.files.push_back(path);
    }
}

}  // namespace

InputListing listInputs(const InputSpec& spec, std::istream& stdin_list) {
    InputListing out;
    for (const std::string& p : spec.paths) {
        std::error_code ec;
        if (!fs::exists(p, ec)) {
            out.errors.push_back(p + ": no such file or directory");
            continue;
        }
        addListed(p, spec, out);
    }
    for (const std::string& list : spec.files_from) {
        std::vector<std::string> listed;
        if (list == "-") {
            listed = readPathList(stdin_list);
        } else {
            std::ifstream in(list);
            if (!in) {
                out.errors.push_back(list + ": cannot read the file list");
                continue;
            }
            listed = readPathList(in);
        }
        for (const std::string& p : listed) {
            addListed(p, spec, out);
        }
    }
    std::sort(out.files.begin(), out.files.end());
    out.files.erase(std::unique(out.files.begin(), out.files.end()), out.files.end());
    return out;
}

}  // namespace predictd::score
