// batch_reader.hpp — file reads overlapped with requests: one reader thread reads the inputs'
// bytes in order and groups them into batches (by count and by bytes) on a bounded queue that
// the scoring slots take from, so no slot waits on the disk while the queue holds work.
//
// Owns reading files (a file that cannot be read, is empty or too large becomes an error row
// through a callback, without a request) and the queue. What a batch is sent as is the
// protocols' business; sending it the scorer's.
#pragma once

#include <condition_variable>
#include <cstddef>
#include <deque>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "score_row.hpp"

namespace predictd::score {

struct ImageFile {
    std::string path;
    std::string bytes;
};

using Batch = std::vector<ImageFile>;

struct BatchLimits {
    std::size_t images = 16;                    // most images in a batch
    std::size_t bytes = 4 * 1024 * 1024;        // most bytes of images in a batch (one bigger
                                                // image still goes, alone)
    std::size_t file_bytes = 64 * 1024 * 1024;  // a larger file is an error row, never read
    std::size_t queued_batches = 16;            // the queue's bound
};

// Reads one file. Error: the row's kind ("unreadable", "empty_file", "file_too_large") and
// message; the returned file is then empty.
struct FileRead {
    std::optional<ImageFile> file;
    std::string error;
    std::string message;
};
FileRead readImageFile(const std::string& path, std::size_t max_bytes);

// Splits `paths` into batches the way the reader does, given each file's size: for tests and
// for the reader itself (a batch closes when one more image would exceed a limit).
class BatchPacker {
  public:
    explicit BatchPacker(BatchLimits limits) : limits_(limits) {}
    // Whether an image of `size` bytes still fits into the batch being built.
    [[nodiscard]] bool fits(const Batch& batch, std::size_t batch_bytes, std::size_t size) const;

  private:
    BatchLimits limits_;
};

class BatchReader {
  public:
    using ErrorRow = std::function<void(ScoreRow)>;
    // `on_error` receives a row with path, error and message set (called on the reader thread).
    BatchReader(std::vector<std::string> paths, BatchLimits limits, ErrorRow on_error);
    ~BatchReader();  // stops and joins
    BatchReader(const BatchReader&) = delete;
    BatchReader& operator=(const BatchReader&) = delete;

    // The next batch; nullopt when every file was read and taken, or after stop().
    std::optional<Batch> next();
    void stop();

  private:
    void run();
    bool push(Batch batch);

    std::vector<std::string> paths_;
    BatchLimits limits_;
    ErrorRow on_error_;
    std::mutex mutex_;
    std::condition_variable changed_;
    std::deque<Batch> queue_;
    bool finished_ = false;
    bool stopped_ = false;
    std::thread thread_;
};

}  // namespace predictd::score
