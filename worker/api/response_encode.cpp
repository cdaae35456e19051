// response_encode.cpp — JSON rendering with one shared jsoncpp writer configuration.
//
// Errors, and answers with label names, top-k, scores or distributions, go through jsoncpp. The
// plain classification answer (the digit model's), the one body on the hot path, is written
// directly into a string: its shape is fixed (an int and N numbers), and jsoncpp's Value tree and
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

Json::Value labelValue(const Answer& a, int index) {
    if (a.label_names != nullptr && !a.label_names->empty()) {
        return Json::Value((*a.label_names)[static_cast<std::size_t>(index)]);
    }
    return Json::Value(index);
}

Json::Value floatArray(const std::vector<float>& values) {
    Json::Value arr(Json::arrayValue);
    for (const float q : values) {
        arr.append(static_cast<double>(q));
    }
    return arr;
}

Json::Value answerValue(const Answer& a) {
    Json::Value v(Json::objectValue);
    switch (a.kind) {
        case OutputKind::kClassification:
            v["prediction"] = labelValue(a, a.label);
            v["confidence"] = static_cast<double>(a.confidence);
            v["probabilities"] = floatArray(a.probabilities);
            if (!a.top_k.empty()) {
                Json::Value top(Json::arrayValue);
                for (const ClassScore& c : a.top_k) {
                    Json::Value row(Json::objectValue);
                    row["label"] = labelValue(a, c.index);
                    row["score"] = static_cast<double>(c.score);
                    top.append(row);
                }
                v["top_k"] = std::move(top);
            }
            break;
        case OutputKind::kScores: {
            Json::Value scores(Json::objectValue);
            for (const OutputValues& o : a.scores) {
                scores[o.name] = o.values.size() == 1 && o.shape.size() <= 1
                                     ? Json::Value(static_cast<double>(o.values.front()))
                                     : floatArray(o.values);
            }
            v["scores"] = std::move(scores);
            break;
        }
        case OutputKind::kDistributionMean:
            v["score"] = a.mean;
            v["distribution"] = floatArray(a.probabilities);
            break;
    }
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

// The hot path: a classification answer without label names or top-k (the digit model's
// seed-compatible shape) is written by hand; anything else goes through jsoncpp.
void appendAnswer(std::string& out, const Answer& a) {
    const bool plain = a.kind == OutputKind::kClassification && a.top_k.empty() &&
                       (a.label_names == nullptr || a.label_names->empty());
    if (!plain) {
        out += write(answerValue(a));
        return;
    }
    out += "{\"confidence\":";
    appendNumber(out, static_cast<double>(a.confidence));
    out += ",\"prediction\":";
    out += std::to_string(a.label);
    out += ",\"probabilities\":[";
    for (std::size_t i = 0; i < a.probabilities.size(); ++i) {
        if (i != 0) {
            out += ',';
        }
        appendNumber(out, static_cast<double>(a.probabilities[i]));
    }
    out += "]}";
}

}  // namespace

std::string encodeAnswer(const Answer& answer) {
    std::string out;
    out.reserve(128);
    appendAnswer(out, answer);
    return out;
}

std::string encodeAnswerWithJsoncpp(const Answer& answer) {
    return write(answerValue(answer));
}

std::string encodeBatch(const std::vector<Answer>& predictions) {
    std::string out;
    out.reserve(16 + predictions.size() * 128);
    out += "{\"predictions\":[";
    for (std::size_t i = 0; i < predictions.size(); ++i) {
        if (i != 0) {
            out += ',';
        }
        appendAnswer(out, predictions[i]);
    }
    out += "]}";
    return out;
}

std::string encodeError(const ApiError& error, ApiProtocol protocol) {
    if (protocol != ApiProtocol::kNative) {
        Json::Value root(Json::objectValue);
        root["error"] = error.message;
        return write(root);
    }
    Json::Value inner(Json::objectValue);
    inner["code"] = error.code;
    inner["message"] = error.message;
    Json::Value root(Json::objectValue);
    root["error"] = std::move(inner);
    return write(root);
}

}  // namespace predictd
