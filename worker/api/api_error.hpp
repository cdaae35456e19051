// api_error.hpp — the one error type of the request path, and Result<T>.
//
// Every stage (parse, decode, preprocess, infer) reports failure as an ApiError value carrying
// the HTTP status, a stable machine-readable code and a human message. The edge
// (request_handler) renders it once as {"error": {"code": ..., "message": ...}}.
// Nothing here knows about sockets, FastCGI or OpenCV.
#pragma once

#include <string>
#include <utility>
#include <variant>

namespace predictd {

// The API a route speaks, which decides the shape its errors take (response_encode.hpp:
// encodeError): native {"error":{"code","message"}}, TF Serving and the Open Inference Protocol
// v2 {"error":"message"}.
enum class ApiProtocol { kNative, kTfServing, kV2 };

struct ApiError {
    int status = 500;
    std::string code;     // stable, snake_case, documented in README ("invalid_json", ...)
    std::string message;  // for humans; may change between versions
};

// A value or an ApiError. (std::expected is C++23; this is the small part of it we need.)
template <typename T>
class Result {
  public:
    Result(T value) : v_(std::move(value)) {}         // NOLINT(google-explicit-constructor)
    Result(ApiError error) : v_(std::move(error)) {}  // NOLINT(google-explicit-constructor)

    [[nodiscard]] bool ok() const { return std::holds_alternative<T>(v_); }
    explicit operator bool() const { return ok(); }

    T& value() & { return std::get<T>(v_); }
    const T& value() const& { return std::get<T>(v_); }
    T&& value() && { return std::get<T>(std::move(v_)); }
    const ApiError& error() const { return std::get<ApiError>(v_); }

  private:
    std::variant<T, ApiError> v_;
};

}  // namespace predictd
