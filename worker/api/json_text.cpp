// json_text.cpp — one StreamWriterBuilder, built once (see json_text.hpp).
#include "api/json_text.hpp"

namespace predictd {

std::string compactJson(const Json::Value& value) {
    static const Json::StreamWriterBuilder builder = [] {
        Json::StreamWriterBuilder b;
        b.settings_["indentation"] = "";
        return b;
    }();
    return Json::writeString(builder, value);
}

}  // namespace predictd
