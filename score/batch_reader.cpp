// batch_reader.cpp — POSIX reads (fstat for the size first, so a huge file is refused unread)
// and a mutex + condition variable queue.
#include "batch_reader.hpp"

#include "text.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace predictd::score {

FileRead readImageFile(const std::string& path, std::size_t max_bytes) {
    FileRead out;
    const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        out.error = "unreadable";
        out.message = std::strerror(errno);
        return out;
    }
    struct stat st {};
    if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        out.error = "unreadable";
        out.message = S_ISREG(st.st_mode) ? std::strerror(errno) : "not a regular file";
        ::close(fd);
        return out;
    }
    const auto size = static_cast<std::size_t>(st.st_size);
    if (size > max_bytes) {
        out.error = "file_too_large";
        out.message =
            concat(std::to_string(size), " bytes; --max-file-bytes is ", std::to_string(max_bytes));
        ::close(fd);
        return out;
    }
    ImageFile file{path, std::string(size, '\0')};
    std::size_t got = 0;
    int read_errno = 0;
    while (got < size) {
        const ssize_t n = ::read(fd, file.bytes.data() + got, size - got);
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n <= 0) {
            read_errno = n < 0 ? errno : 0;
            break;
        }
        got += static_cast<std::size_t>(n);
    }
    ::close(fd);
    if (got != size) {
        out.error = "unreadable";
        out.message =
            read_errno != 0 ? std::strerror(read_errno) : "the file changed while being read";
        return out;
    }
    if (size == 0) {
        out.error = "empty_file";
        out.message = "the file is empty";
        return out;
    }
    out.file = std::move(file);
    return out;
}

bool BatchPacker::fits(const Batch& batch, std::size_t batch_bytes, std::size_t size) const {
    if (batch.empty()) {
        return true;
    }
    return batch.size() < limits_.images && batch_bytes + size <= limits_.bytes;
}

BatchReader::BatchReader(std::vector<std::string> paths, BatchLimits limits, ErrorRow on_error)
    : paths_(std::move(paths)), limits_(limits), on_error_(std::move(on_error)) {
    thread_ = std::thread([this] { run(); });
}

BatchReader::~BatchReader() {
    stop();
    if (thread_.joinable()) {
        thread_.join();
    }
}

void BatchReader::stop() {
    {
        const std::lock_guard lock(mutex_);
        stopped_ = true;
    }
    changed_.notify_all();
}

std::optional<Batch> BatchReader::next() {
    std::unique_lock lock(mutex_);
    changed_.wait(lock, [this] { return stopped_ || !queue_.empty() || finished_; });
    if (stopped_ || queue_.empty()) {
        return std::nullopt;
    }
    Batch batch = std::move(queue_.front());
    queue_.pop_front();
    lock.unlock();
    changed_.notify_all();
    return batch;
}

bool BatchReader::push(Batch batch) {
    std::unique_lock lock(mutex_);
    changed_.wait(lock, [this] { return stopped_ || queue_.size() < limits_.queued_batches; });
    if (stopped_) {
        return false;
    }
    queue_.push_back(std::move(batch));
    lock.unlock();
    changed_.notify_all();
    return true;
}

void BatchReader::run() {
    const BatchPacker packer(limits_);
    Batch batch;
    std::size_t batch_bytes = 0;
    for (const std::string& path : paths_) {
        {
            const std::lock_guard lock(mutex_);
            if (stopped_) {
                return;
            }
        }
        FileRead read = readImageFile(path, limits_.file_bytes);
        if (!read.file) {
            ScoreRow row;
            row.path = path;
            row.error = std::move(read.error);
            row.message = std::move(read.message);
            on_error_(std::move(row));
            continue;
        }
        const std::size_t size = read.file->bytes.size();
        if (!packer.fits(batch, batch_bytes, size)) {
            if (!push(std::move(batch))) {
                return;
            }
            batch = Batch{};
            batch_bytes = 0;
        }
        batch.push_back(std::move(*read.file));
        batch_bytes += size;
    }
    if (!batch.empty() && !push(std::move(batch))) {
        return;
    }
    {
        const std::lock_guard lock(mutex_);
        finished_ = true;
    }
    changed_.notify_all();
}

}  // namespace predictd::score
