// scorer.cpp — protocol choice, the slots' loop, retries and what answers mean for the rows.
#include "scorer.hpp"
#include "text.hpp"

#include <Poco/URI.h>

#include <algorithm>

namespace predictd::score {

std::string errorKind(int status, const std::string& code) {
    if (!code.empty()) {
        return code;
    }
    switch (status) {
        case 400:
            return "invalid_image";
        case 413:
            return "image_too_large";
        case 415:
            return "unsupported_image_format";
        case 500:
            return "inference_failed";
        default:
            return concat("http_", std::to_string(status));
    }
}

Scorer::Scorer(ScorerConfig config, OutputWriter& writer, ScoreTally& tally)
    : config_(std::move(config)), writer_(writer), tally_(tally), hosts_(config_.urls) {}

Scorer::~Scorer() {
    stop_.store(true);
    if (reader_) {
        reader_->stop();
    }
    join();
}

std::string Scorer::protocolName() const {
    return chosen_ == Protocol::kV2Binary ? "v2 binary tensor data"
           : json_.legacy                 ? "JSON /predict"
                                          : "JSON /models/<m>/predict";
}

std::string Scorer::negotiate() {
    SlotTransport transport(hosts_, config_.timeout);
    const auto get = [&](const std::string& path) {
        HttpCall call;
        call.method = "GET";
        call.path = path;
        return exchange(transport, call);
    };
    const auto unreachable = [&](const Exchange& e, const std::string& path) {
        const std::string why = e.reply.status == 0
                                    ? e.reply.transport_error
                                    : concat("HTTP ", std::to_string(e.reply.status));
        finish(RunEnd::kUnavailable, concat("GET ", path, ": ", why));
        return endMessage();
    };
    const auto refused = [&](const Exchange& e, const std::string& path) {
        finish(RunEnd::kFatal, concat("GET ", path, ": HTTP ", std::to_string(e.reply.status), " ",
                                      errorMessage(e.reply.body)));
        return endMessage();
    };
    if (config_.protocol != Protocol::kJson) {
        const Exchange server = get("/v2");
        if (server.gave_up) {
            return unreachable(server, "/v2");
        }
        const bool binary = server.reply.status == 200 && v2OffersBinary(server.reply.body);
        if (!binary && config_.protocol == Protocol::kV2Binary) {
            finish(RunEnd::kFatal, "the server does not offer v2 binary tensor data (GET /v2)");
            return endMessage();
        }
        if (binary) {
            const std::string path = v2ModelPath(config_.model, config_.version);
            const Exchange meta = get(path);
            if (meta.gave_up) {
                return unreachable(meta, path);
            }
            if (meta.reply.status != 200) {
                return refused(meta, path);
            }
            const auto io = v2ModelIo(meta.reply.body);
            if (!io) {
                finish(RunEnd::kFatal, "GET " + path +
                                           ": the model does not take one input (or the "
                                           "metadata cannot be read)");
                return endMessage();
            }
            chosen_ = Protocol::kV2Binary;
            v2_ = V2Target{config_.model, config_.version, io->input, io->output, config_.top_k};
            version_ = config_.version;
            return "";
        }
    }
    std::string model;
    Poco::URI::encode(config_.model, "/?#%", model);
    const std::string path = "/models/" + model;
    const Exchange entry = get(path);
    if (entry.gave_up) {
        return unreachable(entry, path);
    }
    chosen_ = Protocol::kJson;
    json_ = JsonTarget{config_.model, config_.version, config_.top_k, false};
    if (entry.reply.status == 200) {
        version_ = config_.version.empty() ? latestVersion(entry.reply.body) : config_.version;
        return "";
    }
    std::string code;
    errorMessage(entry.reply.body, &code);
    if (entry.reply.status == 404 && code == "not_found" && config_.version.empty()) {
        json_.legacy = true;  // a server older than the model repository: its one model
        version_ = "";
        return "";
    }
    return refused(entry, path);
}

void Scorer::start(std::vector<std::string> paths) {
    reader_ = std::make_unique<BatchReader>(std::move(paths), config_.batch, [this](ScoreRow row) {
        row.model = config_.model;
        row.version = version_;
        emit(row);
    });
    const std::lock_guard lock(mutex_);
    running_ = std::max(config_.concurrency, 1);
    for (int i = 0; i < running_; ++i) {
        slots_.emplace_back([this] { slot(); });
    }
}

bool Scorer::waitFor(std::chrono::milliseconds timeout) {
    std::unique_lock lock(mutex_);
    return slots_done_.wait_for(lock, timeout, [this] { return running_ == 0; });
}

void Scorer::stop() {
    if (!stop_.exchange(true)) {
        finish(RunEnd::kInterrupted, "interrupted");
    }
    if (reader_) {
        reader_->stop();
    }
}

void Scorer::join() {
    for (std::thread& t : slots_) {
        if (t.joinable()) {
            t.join();
        }
    }
    slots_.clear();
    reader_.reset();
}

RunEnd Scorer::end() const {
    const std::lock_guard lock(mutex_);
    return end_;
}

std::string Scorer::endMessage() const {
    const std::lock_guard lock(mutex_);
    return end_message_;
}

void Scorer::finish(RunEnd end, std::string message) {
    {
        const std::lock_guard lock(mutex_);
        if (end_ != RunEnd::kComplete) {
            return;  // the first reason to stop is the one reported
        }
        end_ = end;
        end_message_ = std::move(message);
    }
    stop_.store(true);
    if (reader_) {
        reader_->stop();
    }
}

void Scorer::slot() {
    SlotTransport transport(hosts_, config_.timeout);
    while (!stopping()) {
        std::optional<Batch> batch = reader_->next();
        if (!batch) {
            break;
        }
        scoreBatch(transport, *batch);
        const std::string error = writer_.error();
        if (!error.empty()) {
            finish(RunEnd::kFatal, error);
        }
    }
    {
        const std::lock_guard lock(mutex_);
        --running_;
    }
    slots_done_.notify_all();
}

HttpCall Scorer::encode(const Batch& batch) const {
    std::vector<std::string_view> images;
    images.reserve(batch.size());
    for (const ImageFile& f : batch) {
        images.emplace_back(f.bytes);
    }
    return chosen_ == Protocol::kV2Binary ? encodeV2Batch(v2_, images)
                                          : encodeJsonBatch(json_, images);
}

void Scorer::scoreBatch(SlotTransport& transport, const Batch& batch) {
    const Exchange e = exchange(transport, encode(batch));
    if (e.gave_up) {
        if (!stopping()) {
            const std::string why = e.reply.status == 0
                                        ? e.reply.transport_error
                                        : concat("HTTP ", std::to_string(e.reply.status));
            finish(RunEnd::kUnavailable,
                   concat("no server answered after ", std::to_string(config_.retry.max_attempts),
                          " tries (last: ", why, ")"));
        }
        return;  // no rows: the next run scores these images
    }
    const auto split = [&] {
        for (const ImageFile& image : batch) {
            if (stopping()) {
                return;
            }
            scoreBatch(transport, Batch{image});
        }
    };
    switch (e.outcome) {
        case Outcome::kSuccess: {
            std::optional<std::vector<std::vector<ScoredClass>>> classes;
            std::string version = version_;
            std::string error;
            if (chosen_ == Protocol::kV2Binary) {
                V2Decoded d = decodeV2Answer(e.reply, batch.size());
                if (d.answer) {
                    if (!d.answer->version.empty()) {
                        version = d.answer->version;
                    }
                    classes = std::move(d.answer->images);
                }
                error = d.error;
            } else {
                JsonDecoded d = decodeJsonAnswer(e.reply.body, batch.size());
                classes = std::move(d.images);
                error = d.error;
            }
            if (!classes) {
                if (batch.size() > 1) {
                    split();
                } else {
                    emitError(batch.front(), "bad_answer", error);
                }
                return;
            }
            for (std::size_t i = 0; i < batch.size(); ++i) {
                ScoreRow row;
                row.path = batch[i].path;
                row.model = config_.model;
                row.version = version;
                row.top_k = std::move((*classes)[i]);
                emit(row);
            }
            return;
        }
        case Outcome::kImageFault: {
            if (batch.size() > 1) {
                split();  // only the bad image(s) get error rows
                return;
            }
            std::string code;
            std::string message = errorMessage(e.reply.body, &code);
            emitError(batch.front(), errorKind(e.reply.status, code), std::move(message));
            return;
        }
        case Outcome::kFatal:
        case Outcome::kRetry: {
            std::string code;
            const std::string message = errorMessage(e.reply.body, &code);
            finish(RunEnd::kFatal, concat("POST ", encode(Batch{}).path, ": HTTP ",
                                          std::to_string(e.reply.status), " ", message));
            return;
        }
    }
}

Scorer::Exchange Scorer::exchange(SlotTransport& transport, const HttpCall& call) {
    Exchange e;
    for (int attempt = 1;; ++attempt) {
        const std::size_t host = hosts_.pick();
        e.reply = transport.send(host, call);
        e.outcome = classify(e.reply.status);
        if (e.outcome != Outcome::kRetry) {
            hosts_.succeeded(host);
            return e;
        }
        const int status = e.reply.status;
        const bool host_down = status == 0 || status == 502 || status == 504;
        if (host_down) {
            hosts_.failed(host);
        }
        if (attempt >= config_.retry.max_attempts || stopping()) {
            e.gave_up = true;
            return e;
        }
        tally_.retried();
        if (host_down && hosts_.anyHealthy()) {
            continue;  // another host is up: go there now
        }
        const auto wait =
            config_.retry.backoff(attempt, randomUnit(), parseRetryAfter(e.reply.retry_after));
        if (!sleepUnlessStopped(wait)) {
            e.gave_up = true;
            return e;
        }
    }
}

bool Scorer::sleepUnlessStopped(std::chrono::milliseconds wait) {
    const auto until = std::chrono::steady_clock::now() + wait;
    while (std::chrono::steady_clock::now() < until) {
        if (stopping()) {
            return false;
        }
        const auto left = until - std::chrono::steady_clock::now();
        std::this_thread::sleep_for(
            std::min<std::chrono::steady_clock::duration>(left, std::chrono::milliseconds(50)));
    }
    return !stopping();
}

double Scorer::randomUnit() {
    const std::lock_guard lock(mutex_);
    return std::uniform_real_distribution<double>(0.0, 1.0)(random_);
}

void Scorer::emit(const ScoreRow& row) {
    if (writer_.add(row)) {
        tally_.record(row);
    }
}

void Scorer::emitError(const ImageFile& image, std::string kind, std::string message) {
    ScoreRow row;
    row.path = image.path;
    row.model = config_.model;
    row.version = version_;
    row.error = std::move(kind);
    row.message = std::move(message);
    emit(row);
}

}  // namespace predictd::score
