// http_exchange.cpp — reading error answers (jsoncpp).
#include "http_exchange.hpp"

#include <json/json.h>

#include <memory>

namespace predictd::score {

std::string errorMessage(const std::string& body, std::string* code) {
    Json::CharReaderBuilder builder;
    const std::unique_ptr<Json::CharReader> reader(builder.newCharReader());
    Json::Value doc;
    std::string errors;
    if (reader->parse(body.data(), body.data() + body.size(), &doc, &errors) && doc.isObject()) {
        const Json::Value& e = doc["error"];
        if (e.isString()) {
            return e.asString();
        }
        if (e.isObject()) {
            if (code != nullptr && e["code"].isString()) {
                *code = e["code"].asString();
            }
            if (e["message"].isString()) {
                return e["message"].asString();
            }
        }
    }
    return body.substr(0, 200);
}

}  // namespace predictd::score
