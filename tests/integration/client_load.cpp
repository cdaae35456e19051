// client_load.cpp — closed-loop client threads with a tally (see client_load.hpp).
#include "client_load.hpp"

namespace predictd::testing {

ClientLoad::ClientLoad(Options options, Request request) {
    const auto until = std::chrono::steady_clock::now() + options.time_limit;
    for (int c = 0; c < options.clients; ++c) {
        threads_.emplace_back([this, options, request, until, c] {
            const std::shared_ptr<void> scope = options.setup ? options.setup() : nullptr;
            for (int i = 0; i < options.requests_per_client && !stop_ &&
                            std::chrono::steady_clock::now() < until;
                 ++i) {
                std::string wrong = request(c, i);
                if (wrong.empty()) {
                    ++ok_;
                    continue;
                }
                ++failed_;
                std::lock_guard<std::mutex> lock(mu_);
                if (failures_.size() < kKeptFailures) {
                    failures_.push_back(std::move(wrong));
                }
            }
        });
    }
}

ClientLoad::~ClientLoad() {
    stop();
}

void ClientLoad::stop() {
    stop_ = true;
    for (auto& t : threads_) {
        if (t.joinable()) {
            t.join();
        }
    }
}

std::string ClientLoad::failures() {
    std::lock_guard<std::mutex> lock(mu_);
    std::string out;
    for (const auto& f : failures_) {
        out += f + "\n";
    }
    return out;
}

}  // namespace predictd::testing
