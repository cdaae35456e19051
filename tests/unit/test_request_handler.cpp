// Unit tests for request_handler: routing, request checks, the full predict pipeline on the
// sample digits, and error messages naming the failing batch member.
#include <gtest/gtest.h>

#include <Poco/Base64Encoder.h>
#include <json/json.h>

#include <chrono>
#include <fstream>
#include <iterator>
#include <memory>
#include <optional>
#include <sstream>
#include <string>

#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include "transport/request_handler.hpp"
#include "unit_test_support.hpp"

namespace predictd {
namespace {

using test_support::base64;
using test_support::readFile;
constexpr auto sampleB64 = &test_support::sampleDigitB64;
constexpr auto parse = &test_support::parseJson;

const std::string kSourceDir = PREDICTD_SOURCE_DIR;

HttpRequest post(std::string body, std::string contentType = "application/json") {
    return HttpRequest{"POST", "/predict", "", std::move(contentType), std::move(body)};
}

HttpRequest get(std::string path, std::string method = "GET") {
    return HttpRequest{std::move(method), std::move(path), "", "", ""};
}

class RequestHandlerTest : public ::testing::Test {
  protected:
    static void SetUpTestSuite() {
        models_ = std::make_unique<ModelRepository>(ModelRepository::load(
            {"", kSourceDir + "/model/mnist/1/model.onnx", "mnist"}, RequestLimits{},
            BatchingOptions{}, nullptr,
            [](bool ok, const std::string& line) { EXPECT_TRUE(ok) << line; }));
        ASSERT_NE(models_->defaultModel(), nullptr);
    }
    static void TearDownTestSuite() { models_.reset(); }

    static RequestHandler handler(RequestLimits limits = {}) { return {*models_, limits}; }

    static void expectError(const HttpResponse& r, int status, const std::string& code,
                            const std::string& message = "") {
        EXPECT_EQ(r.status, status) << r.body;
        EXPECT_EQ(r.content_type, "application/json");
        const Json::Value v = parse(r.body);
        EXPECT_EQ(v["error"]["code"].asString(), code) << r.body;
        if (!message.empty()) {
            EXPECT_EQ(v["error"]["message"].asString(), message);
        }
    }

  private:
    static inline std::unique_ptr<ModelRepository> models_;
};

TEST_F(RequestHandlerTest, UnknownPathIs404) {
    const HttpResponse r = handler().handle(get("/nope"));
    EXPECT_EQ(r.status, 404);
    EXPECT_EQ(r.body, R"({"error":{"code":"not_found","message":"no such endpoint: /nope"}})");
    expectError(handler().handle(get("/predict/extra", "POST")), 404, "not_found");
    expectError(handler().handle(get("/", "GET")), 404, "not_found");
}

TEST_F(RequestHandlerTest, WrongMethodIs405WithAllow) {
    const HttpResponse r = handler().handle(get("/predict"));
    expectError(r, 405, "method_not_allowed", "method GET is not allowed on /predict; use POST");
    ASSERT_EQ(r.headers.size(), 1u);
    EXPECT_EQ(r.headers[0], (std::pair<std::string, std::string>{"Allow", "POST"}));

    for (const std::string path : {"/health", "/ready"}) {
        for (const std::string method : {"POST", "DELETE", "PUT"}) {
            const HttpResponse h = handler().handle(get(path, method));
            expectError(h, 405, "method_not_allowed");
            ASSERT_EQ(h.headers.size(), 1u);
            EXPECT_EQ(h.headers[0].first, "Allow");
            EXPECT_EQ(h.headers[0].second, "GET, HEAD");
        }
    }
}

TEST_F(RequestHandlerTest, Health) {
    for (const std::string method : {"GET", "HEAD"}) {
        const HttpResponse r = handler().handle(get("/health", method));
        EXPECT_EQ(r.status, 200);
        EXPECT_EQ(r.content_type, "application/json");
        EXPECT_EQ(r.body, R"({"status":"ok"})");
        EXPECT_TRUE(r.headers.empty());
    }
}

TEST_F(RequestHandlerTest, QueryStringIsIgnored) {
    HttpRequest req = get("/health");
    req.query = "verbose=1";
    EXPECT_EQ(handler().handle(req).status, 200);
}

TEST_F(RequestHandlerTest, ReadyNamesTheModelFile) {
    for (const std::string method : {"GET", "HEAD"}) {
        const HttpResponse r = handler().handle(get("/ready", method));
        EXPECT_EQ(r.status, 200);
        EXPECT_EQ(r.body, R"({"model":"mnist","status":"ready"})");
    }
}

TEST_F(RequestHandlerTest, ContentTypeMustBeJson) {
    const std::string body = R"({"image":")" + sampleB64(7) + R"("})";
    for (const std::string type :
         {"", "text/plain", "application/jsonp", "application/x-www-form-urlencoded",
          "multipart/form-data; boundary=x", "json"}) {
        expectError(handler().handle(post(body, type)), 415, "unsupported_media_type");
    }
    for (const std::string type : {"application/json", "application/json; charset=utf-8",
                                   "Application/JSON;charset=UTF-8", "application/json ;x=y"}) {
        EXPECT_EQ(handler().handle(post(body, type)).status, 200) << type;
    }
}

TEST_F(RequestHandlerTest, BodyTooLargeIs413) {
    RequestLimits limits;
    limits.max_body_bytes = 100;
    expectError(handler(limits).handle(post(std::string(101, ' '))), 413, "payload_too_large",
                "request body of 101 bytes exceeds the limit of 100 bytes");
    expectError(handler(limits).handle(post(std::string(100, ' '))), 400, "invalid_json");
}

TEST_F(RequestHandlerTest, EmptyBodyIsInvalidJson) {
    expectError(handler().handle(post("")), 400, "invalid_json", "request body is empty");
}

TEST_F(RequestHandlerTest, ParseErrorsPassThrough) {
    expectError(handler().handle(post("{")), 400, "invalid_json");
    expectError(handler().handle(post("{}")), 400, "missing_field");
    expectError(handler().handle(post(R"({"images":[]})")), 400, "empty_batch");
    RequestLimits limits;
    limits.max_batch = 1;
    expectError(handler(limits).handle(post(R"({"images":["a","b"]})")), 413, "batch_too_large");
}

TEST_F(RequestHandlerTest, PredictsSampleDigit) {
    const HttpResponse r = handler().handle(post(R"({"image":")" + sampleB64(7) + R"("})"));
    ASSERT_EQ(r.status, 200) << r.body;
    EXPECT_EQ(r.content_type, "application/json");
    const Json::Value v = parse(r.body);
    EXPECT_EQ(v["prediction"].asInt(), 7);
    EXPECT_GE(v["confidence"].asDouble(), 0.99);
    EXPECT_EQ(v["probabilities"].size(), 10u);
}

TEST_F(RequestHandlerTest, EverySampleDigitThroughTheWholePipeline) {
    for (int label = 0; label < 10; ++label) {
        const HttpResponse r = handler().handle(
            post(R"({"image":"data:image/png;base64,)" + sampleB64(label) + R"("})"));
        ASSERT_EQ(r.status, 200) << r.body;
        EXPECT_EQ(parse(r.body)["prediction"].asInt(), label);
    }
}

TEST_F(RequestHandlerTest, BatchPredictsInOrder) {
    std::string body = R"({"images":[)";
    for (int label = 9; label >= 0; --label) {
        body += (label == 9 ? "\"" : ",\"") + sampleB64(label) + "\"";
    }
    body += "]}";
    const HttpResponse r = handler().handle(post(body));
    ASSERT_EQ(r.status, 200) << r.body;
    const Json::Value v = parse(r.body);
    ASSERT_EQ(v["predictions"].size(), 10u);
    for (Json::ArrayIndex i = 0; i < 10; ++i) {
        EXPECT_EQ(v["predictions"][i]["prediction"].asInt(), 9 - static_cast<int>(i));
    }
}

TEST_F(RequestHandlerTest, BatchErrorNamesTheMember) {
    const std::string good = "\"" + sampleB64(1) + "\"";
    expectError(handler().handle(post(R"({"images":[)" + good + "," + good + R"(,"!!!!"]})")), 400,
                "invalid_base64", "images[2]: invalid base64: illegal character '!' at offset 0");
    expectError(handler().handle(post(R"({"images":[)" + good + R"(,"aGVsbG8gd29ybGQ="]})")), 400,
                "undecodable_image",
                "images[1]: not a PNG, JPEG, BMP, GIF, WebP, TIFF or PNM image");
}

TEST_F(RequestHandlerTest, SingleErrorIsNotPrefixed) {
    expectError(handler().handle(post(R"({"image":"!!!!"})")), 400, "invalid_base64",
                "invalid base64: illegal character '!' at offset 0");
}

TEST_F(RequestHandlerTest, HugeImageHeaderIs413) {
    const std::string png(
        "\x89PNG\r\n\x1A\n\x00\x00\x00\x0DIHDR\x00\x00\xEA\x60\x00\x00\xEA\x60"
        "\x08\x00\x00\x00\x00\xDE\xAD\xBE\xEF",
        33);
    expectError(handler().handle(post(R"({"image":")" + base64(png) + R"("})")), 413,
                "image_too_large");
}

TEST_F(RequestHandlerTest, NewLimitsPassThrough) {
    expectError(handler().handle(post(R"({"image":)" + std::string(17, '[') + "}")), 400,
                "json_too_deep", "JSON nesting deeper than 16 levels at offset 24");
    RequestLimits limits;
    limits.max_base64_bytes = 16;
    const std::string good = "\"" + sampleB64(1) + "\"";
    expectError(handler(limits).handle(post(R"({"images":["QUJD",)" + good + "]}")), 413,
                "image_too_large",
                "images[1]: image is " + std::to_string(good.size() - 2) +
                    " bytes of base64 text; the limit is 16 bytes");
    // A GIF (valid 1x1) is refused by format, naming the batch member.
    const std::string gif(
        "GIF89a\x01\x00\x01\x00\x80\x00\x00\xFF\xFF\xFF\x00\x00\x00"
        "!\xF9\x04\x01\x00\x00\x00\x00,\x00\x00\x00\x00\x01\x00\x01\x00\x00"
        "\x02\x02\x44\x01\x00;",
        43);
    expectError(handler().handle(post(R"({"images":[)" + good + ",\"" + base64(gif) + "\"]}")), 415,
                "unsupported_image_format",
                "images[1]: gif images are not accepted; accepted formats: png, jpeg, bmp, webp, "
                "tiff, pnm");
}

// The decode budget adds up what each image will decode to, from the headers, before any is
// decoded: a header alone (no pixel data after it) is enough to be refused.
TEST_F(RequestHandlerTest, DecodeBudgetIsCheckedFromTheHeadersBeforeDecoding) {
    // IHDR of a 1000x1000 PNG, 16-bit RGBA (colour type 6): 1000*1000*4*2 bytes of pixels.
    const std::string png(
        "\x89PNG\r\n\x1A\n\x00\x00\x00\x0DIHDR\x00\x00\x03\xE8\x00\x00\x03\xE8"
        "\x10\x06\x00\x00\x00\xDE\xAD\xBE\xEF",
        33);
    RequestLimits limits;
    limits.max_decode_bytes = 8'000'000;
    const std::string good = "\"" + sampleB64(1) + "\"";
    expectError(
        handler(limits).handle(post(R"({"images":[)" + good + ",\"" + base64(png) + "\"]}")), 413,
        "decode_budget_exceeded",
        "decoding this request's images would produce 8000784 bytes of pixels; the limit "
        "is 8000000 per request (limits.max_decode_bytes). The costliest is images[1]: "
        "1000x1000 png decoded to 1000x1000, 8000000 bytes");
    // Within the budget, the same header goes on to the decoder, which finds no pixels.
    limits.max_decode_bytes = 8'000'784;
    expectError(
        handler(limits).handle(post(R"({"images":[)" + good + ",\"" + base64(png) + "\"]}")), 400,
        "undecodable_image");
    // The sample digit alone (28x28 gray, as stored) costs 784 bytes.
    limits.max_decode_bytes = 783;
    expectError(handler(limits).handle(post("{\"image\":" + good + "}")), 413,
                "decode_budget_exceeded");
    limits.max_decode_bytes = 784;
    EXPECT_EQ(handler(limits).handle(post("{\"image\":" + good + "}")).status, 200);
}

// max_image_pixels applies to what will be decoded: a 24 MP JPEG (6000x4000, over the 16 M
// pixel limit at full size) is decoded at 1/4 for the digit recipe's 1024 px page and accepted;
// a JPEG header claiming 65500x65500 is still refused, naming its reduced size.
TEST_F(RequestHandlerTest, PixelLimitAppliesToTheShrunkOnLoadSize) {
    cv::Mat photo(4000, 6000, CV_8UC3, cv::Scalar(250, 250, 250));
    cv::putText(photo, "7", cv::Point(2500, 3000), cv::FONT_HERSHEY_SIMPLEX, 80,
                cv::Scalar(0, 0, 0), 200);
    std::vector<uchar> jpeg;
    ASSERT_TRUE(cv::imencode(".jpg", photo, jpeg));
    const HttpResponse r = handler().handle(
        post(R"({"image":")" + base64(std::string(jpeg.begin(), jpeg.end())) + R"("})"));
    EXPECT_EQ(r.status, 200) << r.body;
    // SOI, then SOF0 claiming 65500 x 65500, 3 components (no scan data: never decoded).
    const std::string huge(
        "\xFF\xD8\xFF\xC0\x00\x11\x08\xFF\xDC\xFF\xDC\x03\x01\x22\x00\x02\x11\x01\x03\x11\x01", 21);
    expectError(handler().handle(post(R"({"image":")" + base64(huge) + R"("})")), 413,
                "image_too_large",
                "image is 65500x65500, decoded at 1/8: 8188x8188 = 67043344 pixels; the limit is "
                "16777216 pixels");
}

// Past limits.request_deadline (counted from when the request was received, queueing
// included) the worker abandons the request with a 503 and Retry-After; before it, it answers.
TEST_F(RequestHandlerTest, RequestPastItsDeadlineIs503WithRetryAfter) {
    RequestLimits limits;
    limits.request_deadline = 20;
    HttpRequest late = post(R"({"image":")" + sampleB64(4) + R"("})");
    late.received = std::chrono::steady_clock::now() - std::chrono::seconds(21);
    const HttpResponse r = handler(limits).handle(late);
    expectError(r, 503, "deadline_exceeded");
    EXPECT_NE(parse(r.body)["error"]["message"].asString().find("the deadline is 20 s"),
              std::string::npos)
        << r.body;
    ASSERT_EQ(r.headers.size(), 1u);
    EXPECT_EQ(r.headers[0], (std::pair<std::string, std::string>("Retry-After", "1")));
    HttpRequest on_time = late;
    on_time.received = std::chrono::steady_clock::now() - std::chrono::seconds(19);
    EXPECT_EQ(handler(limits).handle(on_time).status, 200);
    limits.request_deadline = 0;  // off
    EXPECT_EQ(handler(limits).handle(late).status, 200);
}

TEST_F(RequestHandlerTest, GoodRequestAfterBadOnesIsCorrect) {
    RequestHandler h = handler();
    EXPECT_EQ(h.handle(post(R"({"image":"!!!!"})")).status, 400);
    EXPECT_EQ(h.handle(post(R"({"images":[")" + sampleB64(3) + R"(", 5]})")).status, 400);
    EXPECT_EQ(h.handle(get("/predict")).status, 405);
    const HttpResponse r = h.handle(post(R"({"image":")" + sampleB64(2) + R"("})"));
    ASSERT_EQ(r.status, 200);
    EXPECT_EQ(parse(r.body)["prediction"].asInt(), 2);
}

TEST_F(RequestHandlerTest, ErrorResponseRendersAnyError) {
    const HttpResponse r = RequestHandler::errorResponse(ApiError{503, "busy", "try later"});
    EXPECT_EQ(r.status, 503);
    EXPECT_EQ(r.content_type, "application/json");
    EXPECT_EQ(r.body, R"({"error":{"code":"busy","message":"try later"}})");
}

}  // namespace
}  // namespace predictd
