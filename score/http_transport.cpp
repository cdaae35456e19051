// http_transport.cpp — Poco Net sessions with keep-alive, and host cool-downs.
#include "http_transport.hpp"

#include "text.hpp"

#include <Poco/Exception.h>
#include <Poco/Net/HTTPClientSession.h>
#include <Poco/Net/HTTPRequest.h>
#include <Poco/Net/HTTPResponse.h>
#include <Poco/URI.h>

#include <algorithm>
#include <istream>
#include <iterator>

namespace predictd::score {

std::optional<BaseUrl> parseBaseUrl(const std::string& text, std::string& error) {
    try {
        const Poco::URI uri(text);
        if (uri.getScheme() != "http") {
            error = text + ": only http:// URLs are supported";
            return std::nullopt;
        }
        if (uri.getHost().empty()) {
            error = text + ": no host";
            return std::nullopt;
        }
        BaseUrl url;
        url.text = text;
        url.host = uri.getHost();
        url.port = uri.getPort();
        url.path = uri.getPath();
        while (!url.path.empty() && url.path.back() == '/') {
            url.path.pop_back();
        }
        return url;
    } catch (const Poco::Exception& e) {
        error = concat(text, ": ", e.displayText());
        return std::nullopt;
    }
}

HostPool::HostPool(std::vector<BaseUrl> hosts) : hosts_(std::move(hosts)), health_(hosts_.size()) {}

std::size_t HostPool::pick(Clock::time_point now) {
    const std::lock_guard lock(mutex_);
    for (std::size_t n = 0; n < hosts_.size(); ++n) {
        const std::size_t i = (next_ + n) % hosts_.size();
        if (health_[i].down_until <= now) {
            next_ = i + 1;
            return i;
        }
    }
    const auto first = std::min_element(
        health_.begin(), health_.end(),
        [](const Health& a, const Health& b) { return a.down_until < b.down_until; });
    return static_cast<std::size_t>(std::distance(health_.begin(), first));
}

bool HostPool::anyHealthy(Clock::time_point now) {
    const std::lock_guard lock(mutex_);
    return std::any_of(health_.begin(), health_.end(),
                       [now](const Health& h) { return h.down_until <= now; });
}

void HostPool::failed(std::size_t i, Clock::time_point now) {
    const std::lock_guard lock(mutex_);
    Health& h = health_[i];
    h.failures = std::min(h.failures + 1, 16);
    auto cool = std::chrono::milliseconds(500);
    for (int n = 1; n < h.failures && cool < std::chrono::seconds(30); ++n) {
        cool *= 2;
    }
    h.down_until = now + std::min<Clock::duration>(cool, std::chrono::seconds(30));
}

void HostPool::succeeded(std::size_t i) {
    const std::lock_guard lock(mutex_);
    health_[i] = Health{};
}

SlotTransport::SlotTransport(const HostPool& hosts, std::chrono::seconds timeout)
    : hosts_(hosts), timeout_(timeout), sessions_(hosts.size()) {}

SlotTransport::~SlotTransport() = default;

HttpReply SlotTransport::send(std::size_t host, const HttpCall& call) {
    const BaseUrl& base = hosts_.host(host);
    auto& session = sessions_[host];
    if (!session) {
        session = std::make_unique<Poco::Net::HTTPClientSession>(base.host, base.port);
        session->setKeepAlive(true);
        session->setTimeout(Poco::Timespan(static_cast<long>(timeout_.count()), 0));
    }
    const bool reused = session->connected();
    HttpReply reply = sendOnce(*session, base, call);
    if (reply.status == 0 && reused) {
        // The server may close an idle kept-alive connection just as we reuse it: that says
        // nothing about the host, so try once more on a fresh connection before reporting.
        reply = sendOnce(*session, base, call);
    }
    return reply;
}

HttpReply SlotTransport::sendOnce(Poco::Net::HTTPClientSession& session, const BaseUrl& base,
                                  const HttpCall& call) {
    HttpReply reply;
    try {
        Poco::Net::HTTPRequest request(call.method, base.path + call.path,
                                       Poco::Net::HTTPMessage::HTTP_1_1);
        request.setKeepAlive(true);
        if (!call.content_type.empty()) {
            request.setContentType(call.content_type);
        }
        if (call.method == "POST" || !call.body.empty()) {
            request.setContentLength(static_cast<std::streamsize>(call.body.size()));
        }
        for (const auto& [name, value] : call.headers) {
            request.set(name, value);
        }
        std::ostream& out = session.sendRequest(request);
        out.write(call.body.data(), static_cast<std::streamsize>(call.body.size()));
        out.flush();
        Poco::Net::HTTPResponse response;
        std::istream& in = session.receiveResponse(response);
        if (response.hasContentLength() && response.getContentLength64() > 0) {
            reply.body.resize(static_cast<std::size_t>(response.getContentLength64()));
            in.read(reply.body.data(), static_cast<std::streamsize>(reply.body.size()));
            if (static_cast<std::size_t>(in.gcount()) != reply.body.size()) {
                session.reset();
                reply = HttpReply{};
                reply.transport_error = "the answer was cut short";
                return reply;
            }
        } else {
            reply.body.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
        }
        reply.status = static_cast<int>(response.getStatus());
        reply.retry_after = response.get("Retry-After", "");
        reply.inference_header_length = response.get("Inference-Header-Content-Length", "");
    } catch (const Poco::Exception& e) {
        session.reset();
        reply = HttpReply{};
        reply.transport_error = e.displayText();
    } catch (const std::exception& e) {
        session.reset();
        reply = HttpReply{};
        reply.transport_error = e.what();
    }
    return reply;
}

}  // namespace predictd::score
