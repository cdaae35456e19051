// v2_response.cpp — v2 response bodies: metadata through jsoncpp, the inference response (the
// hot path: thousands of floats for a batch) written directly.
#include "api/v2_response.hpp"

#include <json/json.h>

#include "api/json_text.hpp"
#include "api/v2_binary.hpp"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <numeric>

namespace predictd {
namespace {

Json::Value tensorMetadata(const V2TensorMetadata& t) {
    Json::Value v(Json::objectValue);
    v["name"] = t.name;
    v["datatype"] = t.datatype;
    Json::Value shape(Json::arrayValue);
    for (const std::int64_t d : t.shape) {
        shape.append(static_cast<Json::Int64>(d));
    }
    v["shape"] = std::move(shape);
    return v;
}

void appendString(std::string& out, const std::string& s) {
    out += Json::valueToQuotedString(s.c_str());
}

}  // namespace

void appendFloat(std::string& out, float v) {
    if (!std::isfinite(v)) {
        out += "null";
        return;
    }
    char buf[32];
    const auto [end, ec] = std::to_chars(buf, buf + sizeof(buf), v);
    if (ec != std::errc()) {
        out += "null";
        return;
    }
    out.append(buf, end);
}

std::string encodeV2ServerMetadata(const std::string& name, const std::string& version,
                                   const std::vector<std::string>& extensions) {
    Json::Value v(Json::objectValue);
    v["name"] = name;
    v["version"] = version;
    Json::Value ext(Json::arrayValue);
    for (const auto& e : extensions) {
        ext.append(e);
    }
    v["extensions"] = std::move(ext);
    return compactJson(v);
}

std::string encodeV2ModelMetadata(const V2ModelMetadata& m) {
    Json::Value v(Json::objectValue);
    v["name"] = m.name;
    Json::Value versions(Json::arrayValue);
    for (const auto& s : m.versions) {
        versions.append(s);
    }
    v["versions"] = std::move(versions);
    v["platform"] = m.platform;
    Json::Value inputs(Json::arrayValue);
    for (const auto& t : m.inputs) {
        inputs.append(tensorMetadata(t));
    }
    v["inputs"] = std::move(inputs);
    Json::Value outputs(Json::arrayValue);
    for (const auto& t : m.outputs) {
        outputs.append(tensorMetadata(t));
    }
    v["outputs"] = std::move(outputs);
    return compactJson(v);
}

std::string encodeV2ModelReady(const std::string& name, bool ready) {
    Json::Value v(Json::objectValue);
    v["name"] = name;
    v["ready"] = ready;
    return compactJson(v);
}

V2InferBody encodeV2InferResponse(const std::string& model_name, const std::string& version,
                                  const std::optional<std::string>& id,
                                  const std::vector<V2OutputTensor>& outputs) {
    std::string out;
    std::string binary;
    out += "{\"model_name\":";
    appendString(out, model_name);
    out += ",\"model_version\":";
    appendString(out, version);
    if (id) {
        out += ",\"id\":";
        appendString(out, *id);
    }
    out += ",\"outputs\":[";
    for (std::size_t i = 0; i < outputs.size(); ++i) {
        const V2OutputTensor& t = outputs[i];
        if (i != 0) {
            out += ',';
        }
        out += "{\"name\":";
        appendString(out, t.name);
        out += ",\"datatype\":";
        appendString(out, t.datatype);
        out += ",\"shape\":[";
        for (std::size_t d = 0; d < t.shape.size(); ++d) {
            if (d != 0) {
                out += ',';
            }
            out += std::to_string(t.shape[d]);
        }
        if (t.binary) {
            const std::size_t size = t.datatype == "BYTES" ? appendV2BinaryBytes(binary, t.strings)
                                                           : appendV2BinaryFloats(binary, t.values);
            out += "],\"parameters\":{\"binary_data_size\":";
            out += std::to_string(size);
            out += "}}";
            continue;
        }
        out += "],\"data\":[";
        if (t.datatype == "BYTES") {
            for (std::size_t k = 0; k < t.strings.size(); ++k) {
                if (k != 0) {
                    out += ',';
                }
                appendString(out, t.strings[k]);
            }
        } else {
            for (std::size_t k = 0; k < t.values.size(); ++k) {
                if (k != 0) {
                    out += ',';
                }
                appendFloat(out, t.values[k]);
            }
        }
        out += "]}";
    }
    out += "]}";
    const bool any_binary = std::any_of(outputs.begin(), outputs.end(),
                                        [](const V2OutputTensor& t) { return t.binary; });
    if (!any_binary) {
        return V2InferBody{std::move(out), 0};
    }
    const std::size_t json_length = out.size();
    out += binary;
    return V2InferBody{std::move(out), json_length};
}

std::vector<std::string> v2Classification(const std::vector<float>& values, int k,
                                          const std::vector<std::string>& labels) {
    std::vector<int> order(values.size());
    std::iota(order.begin(), order.end(), 0);
    const auto count =
        std::min<std::size_t>(static_cast<std::size_t>(std::max(k, 0)), order.size());
    std::partial_sort(order.begin(), order.begin() + static_cast<std::ptrdiff_t>(count),
                      order.end(), [&](int a, int b) { return values[a] > values[b]; });
    std::vector<std::string> out;
    out.reserve(count);
    for (std::size_t i = 0; i < count; ++i) {
        const int index = order[i];
        std::string s;
        appendFloat(s, values[static_cast<std::size_t>(index)]);
        s += ':';
        s += std::to_string(index);
        if (static_cast<std::size_t>(index) < labels.size()) {
            s += ':';
            s += labels[static_cast<std::size_t>(index)];
        }
        out.push_back(std::move(s));
    }
    return out;
}

}  // namespace predictd
