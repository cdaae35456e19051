// test_openapi_nginx.cpp — GET /openapi.json through the real NGINX (the shipped locations and
// the dev template's $predictd_openapi_dir): the document's exact bytes as application/json,
// GET/HEAD only, and the /v2 prefix's own 404 untouched. No worker is involved: it answers even
// with predictd stopped.
#include <gtest/gtest.h>
#include <signal.h>

#include <string>

#include "service_harness.hpp"

namespace predictd::testing {
namespace {

TEST(OpenApiNginx, ServesTheDocumentByteForByte) {
    PredictdService::Options options;
    options.workers = 1;
    PredictdService service(options);
    ASSERT_TRUE(service.waitReady()) << service.predictdLog();
    const std::string file = readFile(sourceDir() + "/docs/openapi.json");
    ASSERT_GT(file.size(), 1000u);

    HttpResult got = service.get("/openapi.json");
    EXPECT_EQ(got.status, 200) << got.body;
    EXPECT_EQ(got.headers["content-type"], "application/json");
    EXPECT_TRUE(got.body == file) << "served " << got.body.size() << " bytes, file " << file.size();
    EXPECT_EQ(parseJson(got.body)["openapi"].asString().substr(0, 2), "3.");

    HttpResult head = httpRequest(service.port(), "HEAD", "/openapi.json");
    EXPECT_EQ(head.status, 200);
    EXPECT_EQ(head.headers["content-length"], std::to_string(file.size()));

    HttpResult post = service.post("/openapi.json", "{}");
    EXPECT_EQ(post.status, 405) << post.body;
    EXPECT_EQ(post.headers["allow"], "GET, HEAD");
    EXPECT_EQ(parseJson(post.body)["error"]["code"].asString(), "method_not_allowed");

    // The /v2 and /v1 prefixes keep their own 404s (exact-match location only).
    for (const char* path : {"/v2/openapi.json", "/v1/openapi.json"}) {
        const HttpResult r = service.get(path);
        EXPECT_EQ(r.status, 404) << path;
        EXPECT_TRUE(parseJson(r.body)["error"].isString()) << r.body;
    }

    // NGINX alone serves it: still there with the workers stopped (SIGSTOP, then resumed).
    const auto workers = service.workers();
    ASSERT_FALSE(workers.empty());
    for (const pid_t pid : workers) {
        ::kill(pid, SIGSTOP);
    }
    const HttpResult alone = service.get("/openapi.json");
    for (const pid_t pid : workers) {
        ::kill(pid, SIGCONT);
    }
    EXPECT_EQ(alone.status, 200);
    EXPECT_EQ(alone.body.size(), file.size());
}

}  // namespace
}  // namespace predictd::testing
