// NGINX's locations (nginx/predictd-locations.conf) against the route table
// (worker/transport/route_table.hpp): every route reaches a worker with its methods, and every
// other method is NGINX's 405 with the route's Allow list, in the route's protocol's error shape.
// A route added to one and not the other fails here.
#include <gtest/gtest.h>

#include <string>

#include "service_harness.hpp"
#include "transport/route_table.hpp"

namespace predictd::testing {
namespace {

// A concrete path for a pattern: {model} → mnist, {version} → 1, {label} → stable.
std::string instantiate(std::string pattern) {
    for (const auto& [param, value] : {std::pair<std::string, std::string>{"{model}", "mnist"},
                                       {"{version}", "1"},
                                       {"{label}", "stable"}}) {
        for (auto pos = pattern.find(param); pos != std::string::npos; pos = pattern.find(param)) {
            pattern.replace(pos, param.size(), value);
        }
    }
    return pattern;
}

TEST(RouteTableNginx, EveryRouteAndMethodAsTheTableSays) {
    PredictdService::Options options;
    options.workers = 1;
    options.model_repository = sourceDir() + "/model";
    PredictdService service(options);
    ASSERT_TRUE(service.waitReady()) << service.predictdLog();
    const std::string oversized(9u << 20, ' ');
    for (const HttpRoute& route : kRoutes) {
        const std::string path = instantiate(route.pattern);
        SCOPED_TRACE(path);
        const bool post = std::string(route.allow) == "POST";
        // The route's own method reaches a worker: whatever it answers, it is not NGINX's 404
        // or 405.
        const HttpResult ok = httpRequest(service.port(), post ? "POST" : "GET", path, "{}");
        EXPECT_NE(ok.status, 405) << ok.body;
        EXPECT_EQ(ok.body.find("no such endpoint"), std::string::npos) << ok.body;
        // Another method: NGINX's 405 with the table's Allow, in the protocol's shape.
        HttpResult wrong = httpRequest(service.port(), post ? "GET" : "DELETE", path, "");
        EXPECT_EQ(wrong.status, 405) << wrong.body;
        EXPECT_EQ(wrong.headers["allow"], std::string(route.allow));
        const Json::Value v = parseJson(wrong.body);
        if (route.protocol == ApiProtocol::kNative) {
            EXPECT_EQ(v["error"]["code"].asString(), "method_not_allowed") << wrong.body;
        } else {
            EXPECT_TRUE(v["error"].isString()) << wrong.body;
        }
        // A body over NGINX's client_max_body_size: NGINX's 413, in the protocol's shape too.
        if (post) {
            const HttpResult big = httpRequest(service.port(), "POST", path, oversized);
            EXPECT_EQ(big.status, 413) << big.body;
            const Json::Value b = parseJson(big.body);
            if (route.protocol == ApiProtocol::kNative) {
                EXPECT_EQ(b["error"]["code"].asString(), "payload_too_large") << big.body;
            } else {
                EXPECT_TRUE(b["error"].isString()) << big.body;
            }
        }
    }
    // Paths under the protocols' prefixes that are no route: a 404 in their shape (NGINX's; the
    // worker's for "mnist:regress", which NGINX cannot tell from a model name).
    for (const char* path :
         {"/v2/models", "/v2/models/mnist/infer/x", "/v2/health", "/v2/models/mnist/versions",
          "/v1/models", "/v1/models/mnist/versions", "/v1/models/mnist/metadata/x",
          "/v1/models/mnist/versions/1/labels/stable", "/v1/models/mnist:regress"}) {
        SCOPED_TRACE(path);
        const HttpResult r = httpRequest(service.port(), "GET", path, "");
        EXPECT_EQ(r.status, 404) << r.body;
        EXPECT_TRUE(parseJson(r.body)["error"].isString()) << r.body;
    }
}

}  // namespace
}  // namespace predictd::testing
