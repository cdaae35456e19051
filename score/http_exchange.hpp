// http_exchange.hpp — one HTTP request and its answer as values, between the protocol encoders
// (which build and read them) and http_transport (which sends them); reading an error answer.
#pragma once

#include <string>
#include <utility>
#include <vector>

namespace predictd::score {

struct HttpCall {
    std::string method = "POST";
    std::string path;  // below the base URL's path: "/v2/models/mnist/infer"
    std::string content_type;
    std::vector<std::pair<std::string, std::string>> headers;
    std::string body;
};

struct HttpReply {
    int status = 0;  // 0: no HTTP answer (connect failed, reset, timeout)
    std::string body;
    std::string retry_after;              // the Retry-After header, when sent
    std::string inference_header_length;  // Inference-Header-Content-Length, when sent
    std::string transport_error;          // why there was no answer
};

// The message of an error answer: {"error": "..."} (v2, TF Serving) or {"error": {"code",
// "message"}} (predictd's native routes and NGINX); `code` gets the native code when there is
// one. The body itself (cut to 200 bytes) when it is neither.
std::string errorMessage(const std::string& body, std::string* code = nullptr);

}  // namespace predictd::score
