// buffered_log_channel.hpp — the access log's buffer: formatted lines collect in memory and go
// to the log sink in one write when the buffer is full or its oldest line is `flush_after` old
// (NGINX's access_log buffer= / flush=), instead of one write per request.
//
// Hand-written because Poco has no channel that bounds both the size and the age of what it
// holds (AsyncChannel hands every message to a thread; FileChannel's flush=false has no timer).
// Lines still in the buffer are lost if the process is killed (at most `flush_after` of them).
#pragma once

#include <Poco/AutoPtr.h>
#include <Poco/Channel.h>

#include <chrono>
#include <cstddef>
#include <mutex>
#include <string>

namespace predictd {

class BufferedLogChannel : public Poco::Channel {
  public:
    BufferedLogChannel(Poco::AutoPtr<Poco::Channel> sink, std::size_t bytes,
                       std::chrono::milliseconds flush_after);

    void log(const Poco::Message& msg) override;
    // Writes what is buffered when `force` or when its oldest line is due; cheap when empty.
    void flush(bool force);

  private:
    void writeLocked();

    Poco::AutoPtr<Poco::Channel> sink_;
    const std::size_t bytes_;
    const std::chrono::milliseconds flush_after_;
    std::mutex mu_;
    std::string buffer_;
    std::chrono::steady_clock::time_point oldest_{};
};

}  // namespace predictd
