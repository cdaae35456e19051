// fastcgi_client.hpp — one FastCGI request straight to predictd over TCP, as NGINX would send
// it, for the tests that talk to a worker without NGINX (the peer allow-list, per-host metrics).
//
// Written by hand: libfcgi is the application side only, and Debian's cgi-fcgi (libfcgi-bin)
// is a CGI bridge whose exit status cannot tell "closed without an answer" from other failures,
// which is what the allow-list tests assert on. The FastCGI 1.0 records are few and fixed.
#pragma once

#include <string>

namespace predictd::testing {

struct FastCgiAnswer {
    bool connected = false;  // the TCP connection was made
    bool answered = false;   // FCGI_END_REQUEST arrived
    int status = 0;          // the CGI "Status:" line; 0 without an answer
    std::string body;        // after the CGI headers
    std::string error;       // why there is no answer (connection closed, reset, timeout…)
};

// GET (empty body) or POST `path` to `host`:`port` (numeric IPv4 or IPv6), waiting at most
// `timeout_s` for the answer. The connection is opened by the calling thread, so from its
// network namespace (see NetnsScope).
FastCgiAnswer fastCgiRequest(const std::string& host, int port, const std::string& method,
                             const std::string& path, const std::string& body = "",
                             const std::string& content_type = "", int timeout_s = 10);

}  // namespace predictd::testing
