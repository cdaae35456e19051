// webdriver_client.hpp — a small W3C WebDriver client (https://www.w3.org/TR/webdriver2/) for
// the browser tests: chromedriver started on a free loopback port, and one session of headless
// Chromium driven over its HTTP/JSON protocol (Poco Net + jsoncpp).
//
// Only the commands the tests use: New Session, Navigate To, Find Element, Element Click,
// Element Send Keys, Get Element Text, Perform/Release Actions, Execute Script, Take Screenshot,
// Delete Session. Hand-written because no Debian C++ package speaks WebDriver; the protocol is a
// few JSON requests. Errors (the spec's {"value": {"error", "message"}}) are thrown as
// WebDriverError, which GoogleTest reports as a failure of the running test.
#pragma once

#include <json/json.h>

#include <chrono>
#include <optional>
#include <stdexcept>
#include <string>

#include "service_harness.hpp"

namespace predictd::testing {

struct WebDriverError : std::runtime_error {
    using std::runtime_error::runtime_error;
};

// Debian's chromium and chromium-driver, when both are installed (tools/install-deps).
bool chromiumInstalled();

// /usr/bin/chromedriver on a free loopback port, in its own process group (killed with it on
// destruction, with the browsers it started). Its log is `work_dir`/chromedriver.log, and its
// temporary files and the browser's profile go under `work_dir`/tmp (TMPDIR), so that they go
// with the test's directory instead of piling up in /tmp.
class ChromeDriver {
  public:
    explicit ChromeDriver(const std::string& work_dir);
    // Polls GET /status until it says ready, up to `timeout`.
    bool waitReady(std::chrono::milliseconds timeout);
    [[nodiscard]] int port() const { return port_; }

  private:
    int port_ = 0;
    ChildProcess process_;
};

// One browser session. The constructor creates it (headless Chromium, no sandbox: the tests run
// as root), the destructor deletes it (the browser quits). Every command waits at most the
// HTTP timeout given; the session's script and page-load timeouts are set from it too.
class WebDriverSession {
  public:
    WebDriverSession(int driver_port, int window_width, int window_height,
                     std::chrono::seconds command_timeout = std::chrono::seconds(60));
    ~WebDriverSession();
    WebDriverSession(const WebDriverSession&) = delete;
    WebDriverSession& operator=(const WebDriverSession&) = delete;

    void navigate(const std::string& url);
    // The element reference (its id) of the first match of a CSS selector; throws if none.
    std::string findElement(const std::string& css);
    void click(const std::string& element);
    // Element Send Keys: for a file input, a file's path selects that file.
    void sendKeys(const std::string& element, const std::string& text);
    std::string text(const std::string& element);
    // Perform Actions with one pointer (mouse) input source: `pointer_actions` is its list of
    // pointerMove/pointerDown/pointerUp/pause actions. Release Actions afterwards.
    void performPointerActions(const Json::Value& pointer_actions);
    // Execute Script (synchronous): the function body `script`, called with `args`; its value.
    Json::Value executeScript(const std::string& script,
                              const Json::Value& args = Json::Value(Json::arrayValue));
    // Take Screenshot: the PNG's bytes.
    std::string screenshotPng();

    // The JSON object WebDriver uses for an element reference, to pass one to a script or as a
    // pointer action's origin.
    static Json::Value elementReference(const std::string& element);

  private:
    Json::Value command(const std::string& method, const std::string& path,
                        const Json::Value& body);

    int port_ = 0;
    std::chrono::seconds timeout_;
    std::string session_;
};

}  // namespace predictd::testing
