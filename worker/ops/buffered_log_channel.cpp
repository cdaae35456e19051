// buffered_log_channel.cpp — collect lines, write them as one message (see the header).
#include "ops/buffered_log_channel.hpp"

#include <Poco/Message.h>

#include <utility>

namespace predictd {

BufferedLogChannel::BufferedLogChannel(Poco::AutoPtr<Poco::Channel> sink, std::size_t bytes,
                                       std::chrono::milliseconds flush_after)
    : sink_(std::move(sink)), bytes_(bytes), flush_after_(flush_after) {
    buffer_.reserve(bytes_ + 512);
}

void BufferedLogChannel::log(const Poco::Message& msg) {
    const std::lock_guard<std::mutex> lock(mu_);
    if (buffer_.empty()) {
        oldest_ = std::chrono::steady_clock::now();
    } else {
        buffer_ += '\n';
    }
    buffer_ += msg.getText();
    if (buffer_.size() >= bytes_ || std::chrono::steady_clock::now() - oldest_ >= flush_after_) {
        writeLocked();
    }
}

void BufferedLogChannel::flush(bool force) {
    const std::lock_guard<std::mutex> lock(mu_);
    if (!buffer_.empty() && (force || std::chrono::steady_clock::now() - oldest_ >= flush_after_)) {
        writeLocked();
    }
}

void BufferedLogChannel::writeLocked() {
    // The sink adds the last newline itself (ConsoleChannel and FileChannel end each message).
    sink_->log(Poco::Message("access", buffer_, Poco::Message::PRIO_INFORMATION));
    buffer_.clear();
}

}  // namespace predictd
