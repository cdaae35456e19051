// service_log.cpp — Poco logging set-up and reopen (see service_log.hpp).
#include "ops/service_log.hpp"

#include <Poco/AutoPtr.h>
#include <Poco/ConsoleChannel.h>
#include <Poco/FileChannel.h>
#include <Poco/FormattingChannel.h>
#include <Poco/Logger.h>
#include <Poco/PatternFormatter.h>

#include <iostream>

namespace predictd {
namespace {
Poco::AutoPtr<Poco::FileChannel> g_file;
}

void setUpLogging(const std::string& level, const std::string& file) {
    Poco::AutoPtr<Poco::PatternFormatter> pattern(
        new Poco::PatternFormatter("%Y-%m-%dT%H:%M:%S.%i %p %s pid=%P: %t"));
    Poco::AutoPtr<Poco::Channel> sink;
    if (file.empty()) {
        sink = new Poco::ConsoleChannel(std::cerr);
        g_file = nullptr;
    } else {
        g_file = new Poco::FileChannel(file);
        g_file->open();
        sink = g_file;
    }
    Poco::AutoPtr<Poco::FormattingChannel> channel(new Poco::FormattingChannel(pattern, sink));
    for (const char* name : {"", "supervisor", "worker", "access"}) {
        Poco::Logger::get(name).setChannel(channel);
        Poco::Logger::get(name).setLevel(level);
    }
}

void reopenLogs() {
    if (g_file) {
        g_file->close();
        g_file->open();
    }
}

}  // namespace predictd
