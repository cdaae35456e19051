// request_handler.hpp — routing and the predict pipeline: HttpRequest → HttpResponse.
//
// Owns the routes (POST /predict, GET|HEAD /health, GET|HEAD /ready), their method, media
// type and size checks, and the order of the stages: parse → decode base64 → decode image →
// preprocess → predict (one forward pass per request) → encode. Errors from any stage are
// rendered here, once. Knows nothing of FastCGI or sockets; never throws.
#pragma once

#include <string>

#include "api/api_error.hpp"
#include "models/digit_model.hpp"
#include "transport/http_types.hpp"
#include "models/predictor.hpp"
#include "api/request_limits.hpp"

namespace predictd {

class RequestHandler {
  public:
    RequestHandler(Predictor& model, RequestLimits limits);

    // Never throws: anything unexpected becomes 500 internal_error. HEAD gets the same status,
    // headers and body as GET (the web server drops the body).
    HttpResponse handle(const HttpRequest& req);

    // The response for an error: its status and {"error":{"code":...,"message":...}}.
    static HttpResponse errorResponse(const ApiError& error);

  private:
    HttpResponse predict(const HttpRequest& req);
    HttpResponse ready() const;

    Predictor& model_;
    RequestLimits limits_;
    std::string readyBody_;  // {"status":"ready","model":"<file name>"}
};

}  // namespace predictd
