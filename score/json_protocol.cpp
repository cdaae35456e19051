// json_protocol.cpp — the native JSON fallback: base64 through Poco, answers through jsoncpp.
#include "json_protocol.hpp"
#include "text.hpp"

#include <json/json.h>

#include <Poco/Base64Encoder.h>
#include <Poco/URI.h>

#include <algorithm>
#include <memory>
#include <sstream>

namespace predictd::score {
namespace {

std::string base64(std::string_view bytes) {
    std::ostringstream out;
    Poco::Base64Encoder encoder(out);
    encoder.rdbuf()->setLineLength(0);
    encoder.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
    encoder.close();
    return out.str();
}

std::string labelText(const Json::Value& v) {
    if (v.isString()) {
        return v.asString();
    }
    if (v.isIntegral()) {
        return std::to_string(v.asLargestInt());
    }
    return v.toStyledString();
}

std::vector<ScoredClass> classesOf(const Json::Value& p) {
    std::vector<ScoredClass> out;
    if (p["top_k"].isArray()) {
        for (const Json::Value& c : p["top_k"]) {
            if (c.isObject() && c["score"].isNumeric()) {
                out.push_back({labelText(c["label"]), c["score"].asDouble()});
            }
        }
    }
    if (out.empty() && p.isMember("prediction")) {
        out.push_back({labelText(p["prediction"]),
                       p["confidence"].isNumeric() ? p["confidence"].asDouble() : 0.0});
    }
    if (out.empty() && p["score"].isNumeric()) {
        out.push_back({"", p["score"].asDouble()});
    }
    return out;
}

}  // namespace

HttpCall encodeJsonBatch(const JsonTarget& target, const std::vector<std::string_view>& images) {
    HttpCall call;
    std::string model;
    Poco::URI::encode(target.model, "/?#%", model);
    call.path = "/models/" + model;
    if (!target.version.empty()) {
        std::string version;
        Poco::URI::encode(target.version, "/?#%", version);
        call.path += "/versions/";
        call.path += version;
    }
    call.path += "/predict";
    if (target.legacy) {
        call.path = "/predict";
    }
    call.content_type = "application/json";
    call.body = "{\"images\":[";
    for (std::size_t i = 0; i < images.size(); ++i) {
        if (i != 0) {
            call.body += ',';
        }
        call.body += '"';
        call.body += base64(images[i]);
        call.body += '"';
    }
    call.body += "],\"top_k\":";
    call.body += std::to_string(target.top_k);
    call.body += '}';
    return call;
}

std::string latestVersion(const std::string& model_entry_body) {
    Json::CharReaderBuilder builder;
    const std::unique_ptr<Json::CharReader> reader(builder.newCharReader());
    Json::Value doc;
    std::string errors;
    const std::string& b = model_entry_body;
    if (!reader->parse(b.data(), b.data() + b.size(), &doc, &errors) || !doc.isObject() ||
        !doc["versions"].isArray()) {
        return "";
    }
    long long best = -1;
    for (const Json::Value& v : doc["versions"]) {
        const Json::Value& n = v.isObject() ? v["version"] : v;
        if (n.isIntegral()) {
            best = std::max<long long>(best, n.asLargestInt());
        } else if (n.isString()) {
            try {
                best = std::max(best, std::stoll(n.asString()));
            } catch (const std::exception&) {
            }
        }
    }
    return best < 0 ? "" : std::to_string(best);
}

JsonDecoded decodeJsonAnswer(const std::string& body, std::size_t count) {
    JsonDecoded out;
    Json::CharReaderBuilder builder;
    const std::unique_ptr<Json::CharReader> reader(builder.newCharReader());
    Json::Value doc;
    std::string errors;
    if (!reader->parse(body.data(), body.data() + body.size(), &doc, &errors) || !doc.isObject() ||
        !doc["predictions"].isArray()) {
        out.error = "the answer is not {\"predictions\": [...]}";
        return out;
    }
    const Json::Value& list = doc["predictions"];
    if (list.size() != count) {
        out.error = concat("the answer holds ", std::to_string(list.size()), " predictions for ",
                           std::to_string(count), " images");
        return out;
    }
    std::vector<std::vector<ScoredClass>> images;
    for (const Json::Value& p : list) {
        images.push_back(classesOf(p));
        if (images.back().empty()) {
            out.error = "a prediction without top_k, prediction or score";
            return out;
        }
    }
    out.images = std::move(images);
    return out;
}

}  // namespace predictd::score
