// tfs_response.cpp — TF Serving REST bodies: status and metadata through jsoncpp, predictions
// (the hot path: thousands of floats for a batch) written directly.
#include "api/tfs_response.hpp"

#include <json/json.h>

#include "api/json_text.hpp"

#include "api/v2_response.hpp"

namespace predictd {
namespace {

void appendString(std::string& out, const std::string& s) {
    out += Json::valueToQuotedString(s.c_str());
}

Json::Value tensorInfos(const std::vector<TfsTensorInfo>& tensors) {
    Json::Value map(Json::objectValue);
    for (const TfsTensorInfo& t : tensors) {
        Json::Value dims(Json::arrayValue);
        for (const std::int64_t d : t.shape) {
            Json::Value dim(Json::objectValue);
            dim["size"] = std::to_string(d);  // int64 in proto3 JSON: a string
            dim["name"] = "";
            dims.append(std::move(dim));
        }
        Json::Value info(Json::objectValue);
        info["dtype"] = "DT_FLOAT";
        info["tensor_shape"]["dim"] = std::move(dims);
        info["tensor_shape"]["unknown_rank"] = false;
        info["name"] = t.name;
        map[t.name] = std::move(info);
    }
    return map;
}

// `values` nested as `shape` says, from `p` on.
void appendTensor(std::string& out, const float*& p, const std::vector<std::int64_t>& shape,
                  std::size_t depth) {
    if (depth == shape.size()) {
        appendFloat(out, *p++);
        return;
    }
    out += '[';
    for (std::int64_t i = 0; i < shape[depth]; ++i) {
        if (i != 0) {
            out += ',';
        }
        appendTensor(out, p, shape, depth + 1);
    }
    out += ']';
}

// An output's shape when it accounts for its values; else a flat list.
std::vector<std::int64_t> shapeOf(const OutputValues& o) {
    std::size_t n = 1;
    for (const std::int64_t d : o.shape) {
        n = d < 0 ? 0 : n * static_cast<std::size_t>(d);
    }
    if (n == o.values.size()) {
        return o.shape;
    }
    return {static_cast<std::int64_t>(o.values.size())};
}

void appendOutput(std::string& out, const OutputValues& o) {
    const float* p = o.values.data();
    appendTensor(out, p, shapeOf(o), 0);
}

// Output `index` of every prediction, with the batch dimension in front.
void appendBatch(std::string& out, const std::vector<Prediction>& predictions, std::size_t index) {
    out += '[';
    for (std::size_t n = 0; n < predictions.size(); ++n) {
        if (n != 0) {
            out += ',';
        }
        appendOutput(out, predictions[n].outputs.at(index));
    }
    out += ']';
}

}  // namespace

std::string encodeTfsModelStatus(const std::vector<int>& versions) {
    Json::Value list(Json::arrayValue);
    for (const int v : versions) {
        Json::Value s(Json::objectValue);
        s["version"] = std::to_string(v);
        s["state"] = "AVAILABLE";
        s["status"]["error_code"] = "OK";
        s["status"]["error_message"] = "";
        list.append(std::move(s));
    }
    Json::Value root(Json::objectValue);
    root["model_version_status"] = std::move(list);
    return compactJson(root);
}

std::string encodeTfsModelMetadata(const std::string& model, int version,
                                   const std::vector<TfsTensorInfo>& inputs,
                                   const std::vector<TfsTensorInfo>& outputs) {
    Json::Value root(Json::objectValue);
    root["model_spec"]["name"] = model;
    root["model_spec"]["signature_name"] = "";
    root["model_spec"]["version"] = std::to_string(version);
    Json::Value signature(Json::objectValue);
    signature["inputs"] = tensorInfos(inputs);
    signature["outputs"] = tensorInfos(outputs);
    signature["method_name"] = "tensorflow/serving/predict";
    root["metadata"]["signature_def"]["signature_def"]["serving_default"] = std::move(signature);
    return compactJson(root);
}

std::string encodeTfsPredict(TfsFormat format, const std::vector<Prediction>& predictions) {
    std::string out;
    out.reserve(32 + predictions.size() * 160);
    const std::size_t outputs = predictions.empty() ? 0 : predictions.front().outputs.size();
    if (format == TfsFormat::kRow) {
        out += "{\"predictions\":[";
        for (std::size_t n = 0; n < predictions.size(); ++n) {
            if (n != 0) {
                out += ',';
            }
            const auto& list = predictions[n].outputs;
            if (list.size() == 1) {
                appendOutput(out, list.front());
                continue;
            }
            out += '{';
            for (std::size_t k = 0; k < list.size(); ++k) {
                if (k != 0) {
                    out += ',';
                }
                appendString(out, list[k].name);
                out += ':';
                appendOutput(out, list[k]);
            }
            out += '}';
        }
        out += "]}";
        return out;
    }
    out += "{\"outputs\":";
    if (outputs == 1) {
        appendBatch(out, predictions, 0);
    } else {
        out += '{';
        for (std::size_t k = 0; k < outputs; ++k) {
            if (k != 0) {
                out += ',';
            }
            appendString(out, predictions.front().outputs[k].name);
            out += ':';
            appendBatch(out, predictions, k);
        }
        out += '}';
    }
    out += '}';
    return out;
}

std::string encodeTfsClassify(
    const std::vector<std::vector<std::pair<std::string, float>>>& results) {
    std::string out = "{\"results\":[";
    for (std::size_t n = 0; n < results.size(); ++n) {
        out += n == 0 ? "[" : ",[";
        for (std::size_t k = 0; k < results[n].size(); ++k) {
            out += k == 0 ? "[" : ",[";
            appendString(out, results[n][k].first);
            out += ',';
            appendFloat(out, results[n][k].second);
            out += ']';
        }
        out += ']';
    }
    out += "]}";
    return out;
}

}  // namespace predictd
