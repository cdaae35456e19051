// service_log.cpp — Poco logging set-up and reopen (see service_log.hpp).
#include "ops/service_log.hpp"

#include <Poco/AutoPtr.h>
#include <Poco/ConsoleChannel.h>
#include <Poco/FileChannel.h>
#include <Poco/FormattingChannel.h>
#include <Poco/Logger.h>
#include <Poco/PatternFormatter.h>

#include "ops/buffered_log_channel.hpp"

#include <iostream>

namespace predictd {
namespace {
Poco::AutoPtr<Poco::FileChannel> g_file;
Poco::AutoPtr<BufferedLogChannel> g_access;  // null: access lines written one by one
}  // namespace

void setUpLogging(const std::string& level, const std::string& file,
                  std::size_t access_buffer_bytes, std::chrono::milliseconds access_flush) {
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
    for (const char* name : {"", "supervisor", "worker"}) {
        Poco::Logger::get(name).setChannel(channel);
        Poco::Logger::get(name).setLevel(level);
    }
    g_access = access_buffer_bytes > 0
                   ? new BufferedLogChannel(sink, access_buffer_bytes, access_flush)
                   : nullptr;
    Poco::Logger& access = Poco::Logger::get("access");
    access.setChannel(g_access ? Poco::AutoPtr<Poco::Channel>(new Poco::FormattingChannel(
                                     pattern, Poco::AutoPtr<Poco::Channel>(g_access, true)))
                               : Poco::AutoPtr<Poco::Channel>(channel, true));
    access.setLevel(level);
}

void flushAccessLog(bool force) {
    if (g_access) {
        g_access->flush(force);
    }
}

void reopenLogs() {
    flushAccessLog(true);  // what was logged before the rotation goes to the old file
    if (g_file) {
        g_file->close();
        g_file->open();
    }
}

}  // namespace predictd
