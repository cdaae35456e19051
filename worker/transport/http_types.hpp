// http_types.hpp — the request and response as the handler sees them.
//
// Plain values with no FastCGI or socket in them: fcgi_io fills an HttpRequest from the
// FastCGI params and stdin, and writes an HttpResponse back. Tests build them directly.
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace predictd {

struct HttpRequest {
    std::string method;        // "GET", "POST", ...
    std::string path;          // URI path without the query string, e.g. "/predict"
    std::string query;         // raw query string without '?', may be empty
    std::string content_type;  // CONTENT_TYPE as sent, may be empty
    std::string body;          // complete request body
    // Triton's Inference-Header-Content-Length header (binary tensor data on the v2 routes): the
    // length of the JSON that starts the body. Absent: the body is JSON only.
    std::optional<std::string> inference_header_length{};
    // When the request began: NGINX's receipt (its REQUEST_START param, so time queued for a
    // worker counts) or, without it, the worker's accept. limits.request_deadline runs from
    // here. The default (the clock's epoch) means no deadline: tests build requests without one.
    std::chrono::steady_clock::time_point received{};
};

struct HttpResponse {
    int status = 200;
    std::string content_type = "application/json";
    std::string body;
    std::vector<std::pair<std::string, std::string>> headers;  // extra headers, e.g. Allow
};

}  // namespace predictd
