// Unit tests for the access log's buffer: lines are held until the buffer is full, the oldest is
// due or a flush is forced, then reach the sink (a real Poco ConsoleChannel on a string stream)
// in one write, in order, each on its own line.
#include <gtest/gtest.h>

#include <Poco/AutoPtr.h>
#include <Poco/ConsoleChannel.h>
#include <Poco/Message.h>

#include <chrono>
#include <sstream>
#include <string>
#include <thread>

#include "ops/buffered_log_channel.hpp"

namespace predictd {
namespace {

Poco::Message line(const std::string& text) {
    return Poco::Message("access", text, Poco::Message::PRIO_INFORMATION);
}

TEST(BufferedLogChannel, HoldsLinesUntilTheBufferIsFull) {
    std::ostringstream out;
    Poco::AutoPtr<Poco::Channel> sink(new Poco::ConsoleChannel(out));
    Poco::AutoPtr<BufferedLogChannel> buffered(
        new BufferedLogChannel(sink, 100, std::chrono::hours(1)));
    buffered->log(line(std::string(30, 'a')));
    buffered->log(line(std::string(30, 'b')));
    buffered->log(line(std::string(30, 'c')));
    EXPECT_EQ(out.str(), "");  // 92 bytes held
    buffered->flush(false);    // nothing due
    EXPECT_EQ(out.str(), "");
    buffered->log(line("d"));  // 94: still under 100
    EXPECT_EQ(out.str(), "");
    buffered->log(line(std::string(10, 'e')));  // 105: written, all five in order
    EXPECT_EQ(out.str(), std::string(30, 'a') + "\n" + std::string(30, 'b') + "\n" +
                             std::string(30, 'c') + "\nd\n" + std::string(10, 'e') + "\n");
    out.str("");
    buffered->flush(true);  // empty: nothing to write
    EXPECT_EQ(out.str(), "");
}

TEST(BufferedLogChannel, ForcedFlushWritesWhatIsHeld) {
    std::ostringstream out;
    Poco::AutoPtr<Poco::Channel> sink(new Poco::ConsoleChannel(out));
    Poco::AutoPtr<BufferedLogChannel> buffered(
        new BufferedLogChannel(sink, 1 << 20, std::chrono::hours(1)));
    buffered->log(line("one"));
    buffered->log(line("two"));
    EXPECT_EQ(out.str(), "");
    buffered->flush(true);
    EXPECT_EQ(out.str(), "one\ntwo\n");
}

TEST(BufferedLogChannel, ALineOlderThanFlushAfterIsWritten) {
    std::ostringstream out;
    Poco::AutoPtr<Poco::Channel> sink(new Poco::ConsoleChannel(out));
    Poco::AutoPtr<BufferedLogChannel> buffered(
        new BufferedLogChannel(sink, 1 << 20, std::chrono::milliseconds(30)));
    buffered->log(line("early"));
    EXPECT_EQ(out.str(), "");
    std::this_thread::sleep_for(std::chrono::milliseconds(60));
    buffered->flush(false);  // the watch loop's periodic call: now due
    EXPECT_EQ(out.str(), "early\n");
}

}  // namespace
}  // namespace predictd
