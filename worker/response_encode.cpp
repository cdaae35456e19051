// response_encode.cpp — JSON rendering with one shared jsoncpp writer configuration.
#include "response_encode.hpp"

#include <json/json.h>

namespace predictd {
namespace {

// Built once, reused by every call: compact output, 4 digits after the decimal point.
const Json::StreamWriterBuilder& writerBuilder() {
    static const Json::StreamWriterBuilder builder = [] {
        Json::StreamWriterBuilder b;
        b.settings_["indentation"] = "";
        b.settings_["precision"] = 4;
        b.settings_["precisionType"] = "decimal";
        return b;
    }();
    return builder;
}

std::string write(const Json::Value& value) {
    return Json::writeString(writerBuilder(), value);
}

Json::Value predictionValue(const Prediction& p) {
    Json::Value v(Json::objectValue);
    v["prediction"] = p.label;
    v["confidence"] = static_cast<double>(p.confidence);
    Json::Value probs(Json::arrayValue);
    for (const float q : p.probabilities) {
        probs.append(static_cast<double>(q));
    }
    v["probabilities"] = std::move(probs);
    return v;
}

}  // namespace

std::string encodePrediction(const Prediction& prediction) {
    return write(predictionValue(prediction));
}

std::string encodeBatch(const std::vector<Prediction>& predictions) {
    Json::Value list(Json::arrayValue);
    for (const Prediction& p : predictions) {
        list.append(predictionValue(p));
    }
    Json::Value root(Json::objectValue);
    root["predictions"] = std::move(list);
    return write(root);
}

std::string encodeError(const ApiError& error) {
    Json::Value inner(Json::objectValue);
    inner["code"] = error.code;
    inner["message"] = error.message;
    Json::Value root(Json::objectValue);
    root["error"] = std::move(inner);
    return write(root);
}

}  // namespace predictd
