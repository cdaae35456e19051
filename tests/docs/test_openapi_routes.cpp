// test_openapi_routes.cpp — docs/openapi.json against the route table
// (worker/transport/route_table.hpp): every route's path pattern is in the document with exactly
// its methods and path parameters, every path of the document is a route (or says NGINX serves
// it), every $ref resolves, and each route's errors have its protocol's shape (native
// {"error":{"code","message"}}, flat {"error":"..."} on /v1 and /v2). A route added to one and not
// the other fails here. No sockets: the document is read from the source tree.
#include <gtest/gtest.h>
#include <json/json.h>

#include <fstream>
#include <set>
#include <sstream>
#include <string>

#include "transport/route_table.hpp"

namespace predictd {
namespace {

const char* const kMethods[] = {"get",    "head",  "post",    "put",
                                "delete", "patch", "options", "trace"};

Json::Value loadDocument() {
    std::ifstream in(std::string(PREDICTD_SOURCE_DIR) + "/docs/openapi.json");
    Json::Value doc;
    Json::CharReaderBuilder builder;
    builder["rejectDupKeys"] = true;
    std::string errors;
    EXPECT_TRUE(Json::parseFromStream(builder, in, &doc, &errors)) << errors;
    return doc;
}

// "GET, HEAD" → {"get", "head"}.
std::set<std::string> methodsOf(const HttpRoute& route) {
    std::set<std::string> out;
    std::string allow = route.allow;
    std::size_t pos = 0;
    while (pos < allow.size()) {
        std::size_t end = allow.find(", ", pos);
        if (end == std::string::npos) {
            end = allow.size();
        }
        std::string m = allow.substr(pos, end - pos);
        for (char& c : m) {
            c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
        }
        out.insert(m);
        pos = end + 2;
    }
    return out;
}

std::set<std::string> methodsOf(const Json::Value& path_item) {
    std::set<std::string> out;
    for (const char* m : kMethods) {
        if (path_item.isMember(m)) {
            out.insert(m);
        }
    }
    return out;
}

// "/v2/models/{model}/versions/{version}" → {"model", "version"}; "{model}:predict" counts too.
std::set<std::string> parametersOf(const std::string& pattern) {
    std::set<std::string> out;
    for (std::size_t open = pattern.find('{'); open != std::string::npos;
         open = pattern.find('{', open + 1)) {
        out.insert(pattern.substr(open + 1, pattern.find('}', open) - open - 1));
    }
    return out;
}

// Follows a local "#/components/…" reference; a null value if it does not resolve.
Json::Value resolve(const Json::Value& doc, const Json::Value& node) {
    if (!node.isObject() || !node.isMember("$ref")) {
        return node;
    }
    const std::string ref = node["$ref"].asString();
    if (!ref.starts_with("#/")) {
        return Json::Value();
    }
    Json::Value at = doc;
    std::istringstream parts(ref.substr(2));
    for (std::string part; std::getline(parts, part, '/');) {
        if (!at.isObject() || !at.isMember(part)) {
            return Json::Value();
        }
        at = at[part];
    }
    return at;
}

// Every "$ref" string under `node`, recursively.
void collectRefs(const Json::Value& node, std::set<std::string>& out) {
    if (node.isObject()) {
        for (const std::string& key : node.getMemberNames()) {
            if (key == "$ref" && node[key].isString()) {
                out.insert(node[key].asString());
            } else {
                collectRefs(node[key], out);
            }
        }
    } else if (node.isArray()) {
        for (const Json::Value& item : node) {
            collectRefs(item, out);
        }
    }
}

// The $refs of a response, through its own $ref to components/responses.
std::set<std::string> refsOfResponse(const Json::Value& doc, const Json::Value& response) {
    std::set<std::string> refs;
    collectRefs(resolve(doc, response), refs);
    return refs;
}

const HttpRoute* routeWithPattern(const std::string& pattern) {
    for (const HttpRoute& route : kRoutes) {
        if (pattern == route.pattern) {
            return &route;
        }
    }
    return nullptr;
}

TEST(OpenApiDocument, IsOpenApi3WithEveryReferenceResolving) {
    const Json::Value doc = loadDocument();
    ASSERT_TRUE(doc.isObject());
    EXPECT_TRUE(doc["openapi"].asString().starts_with("3.")) << doc["openapi"];
    EXPECT_FALSE(doc["info"]["title"].asString().empty());
    EXPECT_FALSE(doc["info"]["version"].asString().empty());
    std::set<std::string> refs;
    collectRefs(doc, refs);
    EXPECT_GT(refs.size(), 20u);
    for (const std::string& ref : refs) {
        Json::Value node;
        node["$ref"] = ref;
        EXPECT_FALSE(resolve(doc, node).isNull()) << "unresolved " << ref;
    }
}

TEST(OpenApiDocument, EveryRouteWithItsMethodsAndParameters) {
    const Json::Value doc = loadDocument();
    const Json::Value& paths = doc["paths"];
    for (const HttpRoute& route : kRoutes) {
        SCOPED_TRACE(route.pattern);
        ASSERT_TRUE(paths.isMember(route.pattern)) << "route missing from docs/openapi.json";
        const Json::Value& item = paths[route.pattern];
        EXPECT_EQ(methodsOf(item), methodsOf(route));
        std::set<std::string> declared;
        for (const Json::Value& p : item["parameters"]) {
            const Json::Value param = resolve(doc, p);
            if (param["in"].asString() == "path") {
                EXPECT_TRUE(param["required"].asBool()) << param["name"];
                declared.insert(param["name"].asString());
            }
        }
        EXPECT_EQ(declared, parametersOf(route.pattern));
    }
}

TEST(OpenApiDocument, EveryDocumentedPathIsARouteOrServedByNginx) {
    const Json::Value doc = loadDocument();
    int nginx_paths = 0;
    for (const std::string& path : doc["paths"].getMemberNames()) {
        SCOPED_TRACE(path);
        const Json::Value& item = doc["paths"][path];
        if (item["x-predictd-served-by"].asString() == "nginx") {
            EXPECT_EQ(routeWithPattern(path), nullptr) << "a route marked as served by NGINX";
            ++nginx_paths;
            continue;
        }
        EXPECT_NE(routeWithPattern(path), nullptr)
            << "documented but not in the route table (and not marked x-predictd-served-by)";
    }
    EXPECT_EQ(nginx_paths, 1) << "/openapi.json itself";
    EXPECT_TRUE(doc["paths"].isMember("/openapi.json"));
}

// Errors in the route's protocol's shape: NGINX's 405 (with Allow) on every route; 413 and 503
// with Retry-After on every POST (the admission limit and NGINX's body limit); 415 where a
// content type or image format can be refused; never the other protocol's shape.
TEST(OpenApiDocument, ErrorsInTheRoutesProtocolShape) {
    const Json::Value doc = loadDocument();
    const std::string native = "#/components/schemas/NativeError";
    const std::string flat = "#/components/schemas/FlatError";
    for (const HttpRoute& route : kRoutes) {
        const bool is_native = route.protocol == ApiProtocol::kNative;
        const std::string& want = is_native ? native : flat;
        const std::string& wrong = is_native ? flat : native;
        const Json::Value& item = doc["paths"][route.pattern];
        for (const std::string& method : methodsOf(route)) {
            SCOPED_TRACE(std::string(route.pattern) + " " + method);
            const Json::Value& responses = item[method]["responses"];
            ASSERT_TRUE(responses.isObject());
            EXPECT_TRUE(responses.isMember("200"));
            for (const std::string& status : responses.getMemberNames()) {
                if (status.size() == 3 && status[0] >= '4') {
                    EXPECT_EQ(refsOfResponse(doc, responses[status]).count(wrong), 0u) << status;
                }
            }
            ASSERT_TRUE(responses.isMember("405"));
            EXPECT_EQ(refsOfResponse(doc, responses["405"]).count(want), 1u);
            EXPECT_TRUE(resolve(doc, responses["405"])["headers"].isMember("Allow"));
            if (method == "post") {
                for (const char* status : {"400", "404", "413", "415", "503"}) {
                    ASSERT_TRUE(responses.isMember(status)) << status;
                    EXPECT_EQ(refsOfResponse(doc, responses[status]).count(want), 1u) << status;
                }
                EXPECT_TRUE(resolve(doc, responses["503"])["headers"].isMember("Retry-After"));
                EXPECT_TRUE(item[method]["requestBody"]["content"].isMember("application/json"));
            }
        }
    }
}

// Triton's binary tensor data extension on both inference routes: the octet-stream body, the
// Inference-Header-Content-Length header both ways, binary_data_size / binary_data /
// binary_data_output in the schemas.
TEST(OpenApiDocument, V2InferDocumentsTheBinaryTensorDataExtension) {
    const Json::Value doc = loadDocument();
    for (const char* path :
         {"/v2/models/{model}/infer", "/v2/models/{model}/versions/{version}/infer"}) {
        SCOPED_TRACE(path);
        const Json::Value& op = doc["paths"][path]["post"];
        EXPECT_TRUE(op["requestBody"]["content"].isMember("application/octet-stream"));
        bool header = false;
        for (const Json::Value& p : op["parameters"]) {
            const Json::Value param = resolve(doc, p);
            header |= param["in"].asString() == "header" &&
                      param["name"].asString() == "Inference-Header-Content-Length";
        }
        EXPECT_TRUE(header);
        const Json::Value& ok = op["responses"]["200"];
        EXPECT_TRUE(ok["content"].isMember("application/octet-stream"));
        EXPECT_TRUE(ok["headers"].isMember("Inference-Header-Content-Length"));
    }
    const Json::Value& schemas = doc["components"]["schemas"];
    EXPECT_TRUE(schemas["V2RequestInput"]["properties"]["parameters"]["properties"].isMember(
        "binary_data_size"));
    EXPECT_TRUE(schemas["V2RequestOutput"]["properties"]["parameters"]["properties"].isMember(
        "binary_data"));
    EXPECT_TRUE(schemas["V2InferRequest"]["properties"]["parameters"]["properties"].isMember(
        "binary_data_output"));
    EXPECT_TRUE(schemas["V2ResponseOutput"]["properties"]["parameters"]["properties"].isMember(
        "binary_data_size"));
}

}  // namespace
}  // namespace predictd
