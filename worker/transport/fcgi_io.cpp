// fcgi_io.cpp — reading a FastCGI request, writing the CGI response (see fcgi_io.hpp).
#include "transport/fcgi_io.hpp"

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <string>

#include "transport/request_handler.hpp"

namespace predictd {
namespace {

const char* reasonPhrase(int status) {
    switch (status) {
        case 200:
            return "OK";
        case 400:
            return "Bad Request";
        case 404:
            return "Not Found";
        case 405:
            return "Method Not Allowed";
        case 408:
            return "Request Timeout";
        case 413:
            return "Payload Too Large";
        case 415:
            return "Unsupported Media Type";
        case 422:
            return "Unprocessable Entity";
        case 500:
            return "Internal Server Error";
        case 503:
            return "Service Unavailable";
        default:
            return "Status";
    }
}

std::string param(FCGX_Request& req, const char* name) {
    const char* v = FCGX_GetParam(name, req.envp);
    return v != nullptr ? std::string(v) : std::string();
}

// When the request began, on the steady clock: NGINX's REQUEST_START ($msec, wall-clock
// seconds) when it is there and sane (not in the future, under an hour old: the clocks of two
// hosts may disagree), else now.
std::chrono::steady_clock::time_point receivedAt(const char* request_start) {
    const auto now = std::chrono::steady_clock::now();
    if (request_start == nullptr) {
        return now;
    }
    char* end = nullptr;
    const double start = std::strtod(request_start, &end);
    if (end == request_start || *end != '\0') {
        return now;
    }
    const double wall_now =
        std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
    const double waited = wall_now - start;
    if (!(waited > 0 && waited < 3600)) {
        return now;
    }
    return now - std::chrono::duration_cast<std::chrono::steady_clock::duration>(
                     std::chrono::duration<double>(waited));
}

}  // namespace

bool readRequest(FCGX_Request& req, const RequestLimits& limits, HttpRequest& out,
                 HttpResponse& error) {
    out.method = param(req, "REQUEST_METHOD");
    out.content_type = param(req, "CONTENT_TYPE");
    std::string uri = param(req, "DOCUMENT_URI");
    if (uri.empty()) {
        uri = param(req, "REQUEST_URI");
        uri = uri.substr(0, uri.find('?'));
    }
    out.path = std::move(uri);
    out.query = param(req, "QUERY_STRING");
    out.received = receivedAt(FCGX_GetParam("REQUEST_START", req.envp));
    out.inference_header_length.reset();
    if (const char* h = FCGX_GetParam("HTTP_INFERENCE_HEADER_CONTENT_LENGTH", req.envp)) {
        out.inference_header_length = h;
    }
    out.body.clear();

    // NGINX always sends CONTENT_LENGTH with a body (it buffers chunked uploads); an absent or
    // empty one means no body, as in CGI.
    const char* cl = FCGX_GetParam("CONTENT_LENGTH", req.envp);
    if (cl == nullptr || *cl == '\0') {
        return true;
    }
    char* end = nullptr;
    errno = 0;
    unsigned long long want = std::strtoull(cl, &end, 10);
    if (errno != 0 || *end != '\0') {
        error = RequestHandler::errorResponse(
            {400, "invalid_request", "CONTENT_LENGTH is not a number"});
        return false;
    }
    if (want > limits.max_body_bytes) {
        error = RequestHandler::errorResponse({413, "payload_too_large",
                                               "request body is " + std::to_string(want) +
                                                   " bytes; the limit is " +
                                                   std::to_string(limits.max_body_bytes)});
        return false;
    }
    out.body.resize(static_cast<std::size_t>(want));
    std::size_t got = 0;
    while (got < want) {
        int chunk = static_cast<int>(std::min<std::size_t>(want - got, 1 << 20));
        int n = FCGX_GetStr(out.body.data() + got, chunk, req.in);
        if (n <= 0) {
            break;
        }
        got += static_cast<std::size_t>(n);
    }
    if (got < want) {
        out.body.resize(got);
        error = RequestHandler::errorResponse(
            {400, "invalid_request", "request body ended before CONTENT_LENGTH bytes"});
        return false;
    }
    return true;
}

void writeResponse(FCGX_Request& req, const HttpRequest& http, const HttpResponse& res) {
    std::string head;
    head.reserve(160);
    head += "Status: ";
    head += std::to_string(res.status);
    head += ' ';
    head += reasonPhrase(res.status);
    head += "\r\nContent-Type: ";
    head += res.content_type;
    head += "\r\nContent-Length: ";
    head += std::to_string(res.body.size());
    head += "\r\n";
    for (const auto& [name, value] : res.headers) {
        head += name;
        head += ": ";
        head += value;
        head += "\r\n";
    }
    head += "\r\n";
    FCGX_PutStr(head.data(), static_cast<int>(head.size()), req.out);
    if (http.method != "HEAD" && !res.body.empty()) {
        FCGX_PutStr(res.body.data(), static_cast<int>(res.body.size()), req.out);
    }
}

}  // namespace predictd
