// response_encode.cpp — JSON rendering with one shared jsoncpp writer configuration.
//
// Errors go through jsoncpp. Predictions, the one body on the hot path, are written directly
// into a string: their shape is fixed (an int and eleven numbers), and jsoncpp's Value tree and
// stream writer cost ~60 000 instructions per answer (callgrind), as much as decoding the PNG.
// The text is byte-for-byte what jsoncpp writes with the settings below (keys in alphabetical
// order, 4 decimals, trailing zeros dropped but one kept after the point); a unit test compares
// the two renderings on thousands of values.
#include "api/response_encode.hpp"

#include <json/json.h>

#include <algorithm>
#include <charconv>
#include <cmath>

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

// As jsoncpp's valueToString(double, precision 4, decimalPlaces): "%.4f", then trailing
// zeros stripped down to one digit after the point; non-finite numbers are null.
void appendNumber(std::string& out, double v) {
    if (!std::isfinite(v)) {
        out += "null";
        return;
    }
    char buf[48];
    auto [end, ec] = std::to_chars(buf, buf + sizeof(buf), v, std::chars_format::fixed, 4);
    if (ec != std::errc()) {
        out += "null";
        return;
    }
    const char* dot = std::find(buf, end, '.');
    while (dot != end && end > dot + 2 && end[-1] == '0') {
        --end;
    }
    out.append(buf, end);
}

void appendPrediction(std::string& out, const Prediction& p) {
    out += "{\"confidence\":";
    appendNumber(out, static_cast<double>(p.confidence));
    out += ",\"prediction\":";
    out += std::to_string(p.label);
    out += ",\"probabilities\":[";
    for (std::size_t i = 0; i < p.probabilities.size(); ++i) {
        if (i != 0) {
            out += ',';
        }
        appendNumber(out, static_cast<double>(p.probabilities[i]));
    }
    out += "]}";
}

}  // namespace

std::string encodePrediction(const Prediction& prediction) {
    std::string out;
    out.reserve(128);
    appendPrediction(out, prediction);
    return out;
}

std::string encodePredictionWithJsoncpp(const Prediction& prediction) {
    return write(predictionValue(prediction));
}

std::string encodeBatch(const std::vector<Prediction>& predictions) {
    std::string out;
    out.reserve(16 + predictions.size() * 128);
    out += "{\"predictions\":[";
    for (std::size_t i = 0; i < predictions.size(); ++i) {
        if (i != 0) {
            out += ',';
        }
        appendPrediction(out, predictions[i]);
    }
    out += "]}";
    return out;
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
