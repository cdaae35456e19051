// test_openapi_answers.cpp — real answers against docs/openapi.json: one request (or more) per
// route of the route table through NGINX, good ones and the usual errors (400, 404, 405, 413,
// 415), and each answer's status, Content-Type and body checked against what the document says
// for that route and status (JSON Schema validation by python3-jsonschema, the document's
// $refs resolved in place). test_openapi_routes.cpp checks the routes; this checks the shapes.
#include <gtest/gtest.h>
#include <json/json.h>

#include <cstdlib>
#include <fstream>
#include <set>
#include <string>
#include <vector>

#include "service_harness.hpp"
#include "transport/route_table.hpp"

namespace predictd::testing {
namespace {

struct Call {
    std::string pattern;  // the route table's (the document's) path
    std::string method;
    std::string path;
    std::string body;
    std::string type = "application/json";
};

// Validates each recorded answer; returns the problems (a JSON array of strings).
Json::Value validate(const std::string& dir, const Json::Value& records) {
    const std::string in = dir + "/answers.json";
    const std::string out = dir + "/problems.json";
    std::ofstream(in) << Json::writeString(Json::StreamWriterBuilder(), records);
    const std::string script =
        "import json, sys\n"
        "from jsonschema import Draft4Validator, RefResolver\n"
        "doc = json.load(open(sys.argv[1]))\n"
        "resolver = RefResolver.from_schema(doc)\n"
        "def deref(n):\n"
        "    while isinstance(n, dict) and '$ref' in n:\n"
        "        n = resolver.resolve(n['$ref'])[1]\n"
        "    return n\n"
        "problems = []\n"
        "for r in json.load(open(sys.argv[2])):\n"
        "    where = '%s %s -> %d: ' % (r['method'], r['path'], r['status'])\n"
        "    item = doc['paths'][r['pattern']]\n"
        "    op = item.get(r['method'].lower())\n"
        "    if op is None and r['status'] == 405:  # NGINX's 405: documented on the route's ops\n"
        "        op = next(o for m, o in item.items() if isinstance(o, dict) and 'responses' in "
        "o)\n"
        "    resp = op and op['responses'].get(str(r['status']))\n"
        "    if resp is None:\n"
        "        problems.append(where + 'status not documented: ' + r['body'][:200])\n"
        "        continue\n"
        "    content = deref(resp).get('content', {})\n"
        "    ctype = r['content_type'].split(';')[0]\n"
        "    if ctype not in content:\n"
        "        problems.append(where + 'content type ' + ctype + ' not documented')\n"
        "        continue\n"
        "    if ctype != 'application/json':\n"
        "        continue\n"
        "    validator = Draft4Validator(content[ctype]['schema'], resolver=resolver)\n"
        "    for e in validator.iter_errors(json.loads(r['body'])):\n"
        "        problems.append(where + e.message[:300])\n"
        "json.dump(problems, open(sys.argv[3], 'w'))\n";
    std::ofstream(dir + "/validate.py") << script;
    const std::string cmd = "/usr/bin/python3 " + dir + "/validate.py " + sourceDir() +
                            "/docs/openapi.json " + in + " " + out;
    EXPECT_EQ(std::system(cmd.c_str()), 0) << "needs python3-jsonschema (tools/install-deps)";
    return parseJson(readFile(out));
}

TEST(OpenApiAnswers, EveryRoutesAnswersMatchTheDocument) {
    const std::string src = sourceDir();
    PredictdService::Options options;
    options.workers = 1;
    options.model_repository = src + "/model";
    PredictdService service(options);
    ASSERT_TRUE(service.waitReady()) << service.predictdLog();

    const std::string digit = base64(samplePng(7));
    const std::string photo = base64(readFile(src + "/model/nsfw-mobilenetv2/self_check.jpg"));
    ASSERT_FALSE(photo.empty()) << "run tools/fetch-models";
    const std::string image = R"({"image":")" + digit + "\"}";
    std::string zeros;
    for (int i = 0; i < 784; ++i) {
        zeros += i ? ",0" : "0";
    }
    const std::string v2_bytes = R"({"id":"1","inputs":[{"name":"input","shape":[1],)"
                                 R"("datatype":"BYTES","data":[")" +
                                 digit +
                                 R"("]}],"outputs":[{"name":"probabilities",)"
                                 R"("parameters":{"classification":2}}]})";
    const std::string v2_fp32 =
        R"({"inputs":[{"name":"input","shape":[1,1,28,28],"datatype":"FP32","data":[)" + zeros +
        "]}]}";
    const std::string tfs_row = R"({"instances":[{"b64":")" + digit + "\"}]}";
    const std::string tfs_columnar = R"({"inputs":{"input":[{"b64":")" + digit + "\"}]}}";
    const std::string classify = R"({"examples":[{"image":{"b64":")" + photo + "\"}}]}";
    const std::string oversized(9u << 20, ' ');

    const std::vector<Call> calls = {
        {"/predict", "POST", "/predict", image},
        {"/predict", "POST", "/predict", R"({"images":[")" + digit + "\",\"" + digit + "\"]}"},
        {"/predict", "POST", "/predict", "{}"},                 // 400
        {"/predict", "POST", "/predict", image, "text/plain"},  // 415
        {"/predict", "GET", "/predict", ""},                    // 405 (NGINX)
        {"/predict", "POST", "/predict", oversized},            // 413 (NGINX)
        {"/health", "GET", "/health", ""},
        {"/ready", "GET", "/ready", ""},
        {"/models", "GET", "/models", ""},
        {"/models/{model}", "GET", "/models/mnist", ""},
        {"/models/{model}", "GET", "/models/nope", ""},  // 404
        {"/models/{model}/predict", "POST", "/models/nsfw-mobilenetv2/predict",
         R"({"top_k":2,"image":")" + photo + "\"}"},
        {"/models/{model}/versions/{version}/predict", "POST", "/models/mnist/versions/1/predict",
         image},
        {"/models/{model}/versions/{version}/predict", "POST", "/models/mnist/versions/9/predict",
         image},  // 404
        {"/status", "GET", "/status?full", ""},
        {"/metrics", "GET", "/metrics", ""},
        {"/v2", "GET", "/v2", ""},
        {"/v2/health/live", "GET", "/v2/health/live", ""},
        {"/v2/health/ready", "GET", "/v2/health/ready", ""},
        {"/v2/models/{model}", "GET", "/v2/models/mnist", ""},
        {"/v2/models/{model}", "GET", "/v2/models/nope", ""},  // 404
        {"/v2/models/{model}/versions/{version}", "GET", "/v2/models/mnist/versions/1", ""},
        {"/v2/models/{model}/ready", "GET", "/v2/models/mnist/ready", ""},
        {"/v2/models/{model}/versions/{version}/ready", "GET", "/v2/models/mnist/versions/1/ready",
         ""},
        {"/v2/models/{model}/infer", "POST", "/v2/models/mnist/infer", v2_bytes},
        {"/v2/models/{model}/infer", "POST", "/v2/models/mnist/infer", "{\"inputs\":3}"},  // 400
        {"/v2/models/{model}/infer", "GET", "/v2/models/mnist/infer", ""},                 // 405
        {"/v2/models/{model}/infer", "POST", "/v2/models/mnist/infer", oversized},         // 413
        {"/v2/models/{model}/versions/{version}/infer", "POST", "/v2/models/mnist/versions/1/infer",
         v2_fp32},
        {"/v1/models/{model}:predict", "POST", "/v1/models/mnist:predict", tfs_row},
        {"/v1/models/{model}:predict", "POST", "/v1/models/mnist:predict", tfs_columnar},
        {"/v1/models/{model}:predict", "POST", "/v1/models/mnist:predict",
         R"({"instances":[1.0]})"},  // 400
        {"/v1/models/{model}/versions/{version}:predict", "POST",
         "/v1/models/mnist/versions/1:predict", tfs_row},
        {"/v1/models/{model}/labels/{label}:predict", "POST",
         "/v1/models/mnist/labels/stable:predict", tfs_row},  // 404: no labels shipped
        {"/v1/models/{model}:classify", "POST", "/v1/models/nsfw-mobilenetv2:classify", classify},
        {"/v1/models/{model}/versions/{version}:classify", "POST",
         "/v1/models/nsfw-mobilenetv2/versions/1:classify", classify},
        {"/v1/models/{model}/labels/{label}:classify", "POST",
         "/v1/models/nsfw-mobilenetv2/labels/stable:classify", classify},  // 404
        {"/v1/models/{model}/metadata", "GET", "/v1/models/mnist/metadata", ""},
        {"/v1/models/{model}/versions/{version}/metadata", "GET",
         "/v1/models/mnist/versions/1/metadata", ""},
        {"/v1/models/{model}/labels/{label}/metadata", "GET",
         "/v1/models/mnist/labels/stable/metadata", ""},  // 404
        {"/v1/models/{model}", "GET", "/v1/models/mnist", ""},
        {"/v1/models/{model}", "DELETE", "/v1/models/mnist", ""},  // 405 (NGINX, flat)
        {"/v1/models/{model}/versions/{version}", "GET", "/v1/models/mnist/versions/1", ""},
        {"/v1/models/{model}/labels/{label}", "GET", "/v1/models/mnist/labels/stable", ""},
        {"/openapi.json", "GET", "/openapi.json", ""},
    };

    // Every route of the table is called at least once.
    std::set<std::string> called;
    for (const Call& c : calls) {
        called.insert(c.pattern);
    }
    for (const HttpRoute& route : kRoutes) {
        EXPECT_EQ(called.count(route.pattern), 1u) << route.pattern << " is not called";
    }

    Json::Value records(Json::arrayValue);
    std::set<int> statuses;
    for (const Call& c : calls) {
        HttpResult r = httpRequest(service.port(), c.method, c.path, c.body, c.type);
        ASSERT_NE(r.status, 0) << c.method << " " << c.path << ": " << r.body;
        statuses.insert(r.status);
        Json::Value rec;
        rec["pattern"] = c.pattern;
        rec["method"] = c.method;
        rec["path"] = c.path;
        rec["status"] = r.status;
        rec["content_type"] = r.headers["content-type"];
        rec["body"] = r.body;
        records.append(rec);
    }
    EXPECT_EQ(statuses, (std::set<int>{200, 400, 404, 405, 413, 415}));
    const Json::Value problems = validate(service.dir(), records);
    ASSERT_TRUE(problems.isArray());
    std::string text;
    for (const Json::Value& p : problems) {
        text += p.asString() + "\n";
    }
    EXPECT_EQ(problems.size(), 0u) << text;
}

}  // namespace
}  // namespace predictd::testing
