// netns_hosts.hpp — test "hosts" made of Linux network namespaces on one private /24, for the
// scale-out test.
//
// Owns creating them (ip netns add, a bridge in the hub namespace, one veth pair per host) and
// removing them again on destruction, whatever happened: deleting a namespace deletes its
// interfaces too. Names are unique per run (pid and a counter), so runs never collide. Nothing is
// added to the test's own namespace, and no namespace has a route anywhere else: every address
// used lives only inside these namespaces. Running processes in them: `exec()` as an argv prefix
// (ip netns exec execs in place, so the pid is the process's); opening sockets from the test:
// NetnsScope on the current thread.
#pragma once

#include <string>
#include <vector>

namespace predictd::testing {

class NetnsHosts {
  public:
    // Why this machine cannot build them, "" when it can: not root, no `ip`, or no network
    // namespace or bridge support (checked by building and removing a probe namespace).
    static std::string unavailable();

    // The hub (bridge address .1) and one namespace per name in `hosts`, at .11, .12, ….
    // Throws std::runtime_error (after removing what it made) if a step fails.
    explicit NetnsHosts(const std::vector<std::string>& hosts);
    ~NetnsHosts();
    NetnsHosts(const NetnsHosts&) = delete;
    NetnsHosts& operator=(const NetnsHosts&) = delete;

    [[nodiscard]] const std::string& hubNamespace() const { return hub_; }
    [[nodiscard]] std::string hubAddress() const;
    [[nodiscard]] std::string namespaceOf(const std::string& host) const;
    [[nodiscard]] std::string addressOf(const std::string& host) const;
    // argv prefix running a command in `host`'s namespace ("" = the hub's).
    [[nodiscard]] std::vector<std::string> exec(const std::string& host) const;

  private:
    [[nodiscard]] std::size_t indexOf(const std::string& host) const;
    void removeAll() noexcept;

    std::string prefix_;
    std::string hub_;
    std::vector<std::string> hosts_;
    std::vector<std::string> created_;  // namespaces to delete
};

// Moves the calling thread into network namespace `name` until destroyed (setns: affects this
// thread only; the sockets it opens meanwhile live there and stay there). Throws on failure.
class NetnsScope {
  public:
    explicit NetnsScope(const std::string& name);
    ~NetnsScope();
    NetnsScope(const NetnsScope&) = delete;
    NetnsScope& operator=(const NetnsScope&) = delete;

  private:
    int original_ = -1;
};

}  // namespace predictd::testing
