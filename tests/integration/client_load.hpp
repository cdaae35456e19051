// client_load.hpp — closed-loop client threads for the tests that keep a service busy while
// they reload, kill, scale or fail over: each thread sends a request, checks the answer, and
// sends the next, until stopped or a bound (count and time) is reached. Tallies right and wrong
// answers and keeps the first wrong ones for the failure message.
#pragma once

#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace predictd::testing {

class ClientLoad {
  public:
    // Sends request number `i` of thread `client`; returns "" when the answer was right, else
    // what came back (kept for the message).
    using Request = std::function<std::string(int client, int i)>;
    // Runs first on each thread; what it returns lives as long as the thread (e.g. a scope that
    // moved the thread into a network namespace).
    using ThreadSetup = std::function<std::shared_ptr<void>()>;

    struct Options {
        int clients = 1;
        std::chrono::milliseconds time_limit{std::chrono::minutes(5)};
        int requests_per_client = 100'000;
        ThreadSetup setup;
    };

    ClientLoad(Options options, Request request);
    ClientLoad(int clients, Request request)
        : ClientLoad(withClients(clients), std::move(request)) {}
    ~ClientLoad();  // stops and joins
    ClientLoad(const ClientLoad&) = delete;
    ClientLoad& operator=(const ClientLoad&) = delete;

    void stop();
    [[nodiscard]] long long ok() const { return ok_; }
    [[nodiscard]] long long failed() const { return failed_; }
    // The first wrong answers, one per line.
    [[nodiscard]] std::string failures();

  private:
    static Options withClients(int clients) {
        Options o;
        o.clients = clients;
        return o;
    }
    static constexpr std::size_t kKeptFailures = 20;
    std::atomic<bool> stop_{false};
    std::atomic<long long> ok_{0};
    std::atomic<long long> failed_{0};
    std::mutex mu_;
    std::vector<std::string> failures_;
    std::vector<std::thread> threads_;
};

}  // namespace predictd::testing
