// fcgi_io.hpp — FastCGI ⇄ HttpRequest/HttpResponse: the CGI params and stdin of one accepted
// request become an HttpRequest, and an HttpResponse goes back as a CGI response (Status line,
// headers, body).
#pragma once

#include <fcgiapp.h>

#include "api/request_limits.hpp"
#include "transport/http_types.hpp"

namespace predictd {

// Reads the request line fields and body into `out` (buffers are reused across requests).
// Returns false with an error response in `error` instead when the body is over the limit or
// cannot be read.
bool readRequest(FCGX_Request& req, const RequestLimits& limits, HttpRequest& out,
                 HttpResponse& error);

// Writes `res` to the request's stdout; no body for HEAD.
void writeResponse(FCGX_Request& req, const HttpRequest& http, const HttpResponse& res);

}  // namespace predictd
