// webdriver_client.cpp — the W3C WebDriver commands of webdriver_client.hpp over HTTP.
// Endpoints and bodies as the W3C WebDriver spec gives them (§ "Endpoints"); Chromium's own
// options ride in the "goog:chromeOptions" capability.
#include "webdriver_client.hpp"

#include <unistd.h>

#include <Poco/Base64Decoder.h>
#include <Poco/Net/HTTPClientSession.h>
#include <Poco/Net/HTTPRequest.h>
#include <Poco/Net/HTTPResponse.h>
#include <Poco/StreamCopier.h>

#include <filesystem>
#include <sstream>
#include <vector>

namespace predictd::testing {
namespace {

constexpr const char* kChromium = "/usr/bin/chromium";
constexpr const char* kChromeDriver = "/usr/bin/chromedriver";
// The spec's fixed key of an element reference object.
constexpr const char* kElementKey = "element-6066-11e4-a52e-4f735466cecf";

std::string writeJson(const Json::Value& v) {
    Json::StreamWriterBuilder w;
    w["indentation"] = "";
    return Json::writeString(w, v);
}

struct Reply {
    int status = 0;
    Json::Value body;
};

Reply httpJson(int port, const std::string& method, const std::string& path,
               const Json::Value& body, std::chrono::seconds timeout) {
    Poco::Net::HTTPClientSession session("127.0.0.1", static_cast<Poco::UInt16>(port));
    session.setTimeout(Poco::Timespan(static_cast<long>(timeout.count()), 0));
    Poco::Net::HTTPRequest request(method, path, Poco::Net::HTTPMessage::HTTP_1_1);
    const std::string text = body.isNull() ? std::string() : writeJson(body);
    if (method == Poco::Net::HTTPRequest::HTTP_POST) {
        request.setContentType("application/json; charset=utf-8");
        request.setContentLength(static_cast<std::streamsize>(text.size()));
    }
    session.sendRequest(request) << text;
    Poco::Net::HTTPResponse response;
    std::istream& in = session.receiveResponse(response);
    std::string answer;
    Poco::StreamCopier::copyToString(in, answer);
    Reply reply;
    reply.status = static_cast<int>(response.getStatus());
    Json::CharReaderBuilder builder;
    std::string errors;
    std::istringstream stream(answer);
    if (!Json::parseFromStream(builder, stream, &reply.body, &errors)) {
        throw WebDriverError(method + " " + path + ": not JSON (HTTP " +
                             std::to_string(reply.status) + "): " + answer.substr(0, 300));
    }
    return reply;
}

}  // namespace

bool chromiumInstalled() {
    return ::access(kChromium, X_OK) == 0 && ::access(kChromeDriver, X_OK) == 0;
}

namespace {
std::string makeTmpDir(const std::string& work_dir) {
    std::string tmp = work_dir + "/tmp";
    std::filesystem::create_directories(tmp);
    return tmp;
}
}  // namespace

ChromeDriver::ChromeDriver(const std::string& work_dir)
    : port_(freeTcpPort()),
      process_({kChromeDriver, "--port=" + std::to_string(port_)}, work_dir + "/chromedriver.log",
               {"TMPDIR=" + makeTmpDir(work_dir)}) {}

bool ChromeDriver::waitReady(std::chrono::milliseconds timeout) {
    return eventually(
        [this] {
            try {
                const Reply r =
                    httpJson(port_, "GET", "/status", Json::Value(), std::chrono::seconds(2));
                return r.status == 200 && r.body["value"]["ready"].asBool();
            } catch (const std::exception&) {
                return false;  // not listening yet
            }
        },
        timeout);
}

WebDriverSession::WebDriverSession(int driver_port, int window_width, int window_height,
                                   std::chrono::seconds command_timeout)
    : port_(driver_port), timeout_(command_timeout) {
    const std::vector<std::string> flags = {
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--no-first-run",
        "--disable-extensions",
        "--disable-dev-shm-usage",
        "--hide-scrollbars",
        "--window-size=" + std::to_string(window_width) + "," + std::to_string(window_height)};
    Json::Value args(Json::arrayValue);
    for (const std::string& flag : flags) {
        args.append(flag);
    }
    Json::Value always(Json::objectValue);
    always["browserName"] = "chrome";
    always["goog:chromeOptions"]["args"] = args;
    const auto ms = static_cast<Json::Int64>(
        std::chrono::duration_cast<std::chrono::milliseconds>(command_timeout).count());
    always["timeouts"]["script"] = ms;
    always["timeouts"]["pageLoad"] = ms;
    always["timeouts"]["implicit"] = 0;
    Json::Value body(Json::objectValue);
    body["capabilities"]["alwaysMatch"] = always;
    const Json::Value value = command("POST", "/session", body);
    session_ = value["sessionId"].asString();
    if (session_.empty()) {
        throw WebDriverError("New Session: no sessionId in " + writeJson(value));
    }
}

WebDriverSession::~WebDriverSession() {
    try {
        command("DELETE", "/session/" + session_, Json::Value());
    } catch (const std::exception&) {
        // chromedriver is killed with its process group next (ChromeDriver's destructor).
    }
}

Json::Value WebDriverSession::command(const std::string& method, const std::string& path,
                                      const Json::Value& body) {
    const Reply r = httpJson(port_, method, path, body, timeout_);
    const Json::Value& value = r.body["value"];
    if (r.status != 200) {
        throw WebDriverError(method + " " + path + ": HTTP " + std::to_string(r.status) + " " +
                             value["error"].asString() + ": " +
                             value["message"].asString().substr(0, 500));
    }
    return value;
}

void WebDriverSession::navigate(const std::string& url) {
    Json::Value body(Json::objectValue);
    body["url"] = url;
    command("POST", "/session/" + session_ + "/url", body);
}

std::string WebDriverSession::findElement(const std::string& css) {
    Json::Value body(Json::objectValue);
    body["using"] = "css selector";
    body["value"] = css;
    const Json::Value value = command("POST", "/session/" + session_ + "/element", body);
    return value[kElementKey].asString();
}

void WebDriverSession::click(const std::string& element) {
    command("POST", "/session/" + session_ + "/element/" + element + "/click",
            Json::Value(Json::objectValue));
}

void WebDriverSession::sendKeys(const std::string& element, const std::string& text) {
    Json::Value body(Json::objectValue);
    body["text"] = text;
    command("POST", "/session/" + session_ + "/element/" + element + "/value", body);
}

std::string WebDriverSession::text(const std::string& element) {
    return command("GET", "/session/" + session_ + "/element/" + element + "/text", Json::Value())
        .asString();
}

void WebDriverSession::performPointerActions(const Json::Value& pointer_actions) {
    Json::Value source(Json::objectValue);
    source["type"] = "pointer";
    source["id"] = "mouse";
    source["parameters"]["pointerType"] = "mouse";
    source["actions"] = pointer_actions;
    Json::Value body(Json::objectValue);
    body["actions"].append(source);
    command("POST", "/session/" + session_ + "/actions", body);
    command("DELETE", "/session/" + session_ + "/actions", Json::Value());
}

Json::Value WebDriverSession::executeScript(const std::string& script, const Json::Value& args) {
    Json::Value body(Json::objectValue);
    body["script"] = script;
    body["args"] = args;
    return command("POST", "/session/" + session_ + "/execute/sync", body);
}

std::string WebDriverSession::screenshotPng() {
    const std::string b64 =
        command("GET", "/session/" + session_ + "/screenshot", Json::Value()).asString();
    std::istringstream in(b64);
    Poco::Base64Decoder decoder(in);
    std::string png;
    Poco::StreamCopier::copyToString(decoder, png);
    return png;
}

Json::Value WebDriverSession::elementReference(const std::string& element) {
    Json::Value ref(Json::objectValue);
    ref[kElementKey] = element;
    return ref;
}

}  // namespace predictd::testing
