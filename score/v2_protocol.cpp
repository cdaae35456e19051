// v2_protocol.cpp — v2 binary requests written by hand (a JSON header of a few fields, then the
// images: building it through jsoncpp would copy every image once more), answers read with
// jsoncpp and the binary section's length-prefixed strings read byte by byte.
#include "v2_protocol.hpp"
#include "text.hpp"

#include <json/json.h>

#include <Poco/URI.h>

#include <charconv>
#include <cstdint>
#include <memory>

namespace predictd::score {
namespace {

std::string quoted(const std::string& s) {
    return Json::valueToQuotedString(s.c_str());
}

void appendLength(std::string& out, std::uint32_t v) {
    for (int i = 0; i < 4; ++i) {
        out += static_cast<char>((v >> (8 * i)) & 0xff);
    }
}

bool parseJson(std::string_view text, Json::Value& doc) {
    Json::CharReaderBuilder builder;
    const std::unique_ptr<Json::CharReader> reader(builder.newCharReader());
    std::string errors;
    return reader->parse(text.data(), text.data() + text.size(), &doc, &errors);
}

// A BYTES tensor's binary data: each element a 4-byte little-endian length and its bytes.
bool readBinaryStrings(std::string_view data, std::vector<std::string_view>& out) {
    std::size_t at = 0;
    while (at < data.size()) {
        if (data.size() - at < 4) {
            return false;
        }
        std::uint32_t length = 0;
        for (int i = 3; i >= 0; --i) {
            length =
                (length << 8) | static_cast<unsigned char>(data[at + static_cast<std::size_t>(i)]);
        }
        at += 4;
        if (length > data.size() - at) {
            return false;
        }
        out.push_back(data.substr(at, length));
        at += length;
    }
    return true;
}

}  // namespace

std::string v2ModelPath(const std::string& model, const std::string& version,
                        const std::string& suffix) {
    std::string path = "/v2/models/";
    std::string encoded;
    Poco::URI::encode(model, "/?#%", encoded);
    path += encoded;
    if (!version.empty()) {
        encoded.clear();
        Poco::URI::encode(version, "/?#%", encoded);
        path += "/versions/";
        path += encoded;
    }
    path += suffix;
    return path;
}

HttpCall encodeV2Batch(const V2Target& target, const std::vector<std::string_view>& images) {
    std::size_t data_size = 0;
    for (const std::string_view image : images) {
        data_size += 4 + image.size();
    }
    std::string json = "{\"inputs\":[{\"name\":";
    json += quoted(target.input);
    json += ",\"shape\":[";
    json += std::to_string(images.size());
    json += "],\"datatype\":\"BYTES\",\"parameters\":{\"binary_data_size\":";
    json += std::to_string(data_size);
    json += "}}],\"outputs\":[{\"name\":";
    json += quoted(target.output);
    json += ",\"parameters\":{\"classification\":";
    json += std::to_string(target.top_k);
    json += ",\"binary_data\":true}}]}";

    HttpCall call;
    call.path = v2ModelPath(target.model, target.version, "/infer");
    call.content_type = "application/octet-stream";
    call.headers.emplace_back("Inference-Header-Content-Length", std::to_string(json.size()));
    call.body.reserve(json.size() + data_size);
    call.body += json;
    for (const std::string_view image : images) {
        appendLength(call.body, static_cast<std::uint32_t>(image.size()));
        call.body.append(image);
    }
    return call;
}

std::optional<ScoredClass> parseClassification(std::string_view text) {
    const auto first = text.find(':');
    if (first == std::string_view::npos) {
        return std::nullopt;
    }
    double value = 0.0;
    const auto [ptr, ec] = std::from_chars(text.data(), text.data() + first, value);
    if (ec != std::errc() || ptr != text.data() + first) {
        return std::nullopt;
    }
    const std::string_view rest = text.substr(first + 1);
    const auto second = rest.find(':');
    const std::string_view index = rest.substr(0, second);
    if (index.empty()) {
        return std::nullopt;
    }
    ScoredClass c;
    c.score = value;
    c.label = std::string(second == std::string_view::npos ? index : rest.substr(second + 1));
    return c;
}

V2Decoded decodeV2Answer(const HttpReply& reply, std::size_t count) {
    V2Decoded out;
    std::string_view body = reply.body;
    std::string_view binary;
    if (!reply.inference_header_length.empty()) {
        std::size_t n = 0;
        const std::string& h = reply.inference_header_length;
        const auto [ptr, ec] = std::from_chars(h.data(), h.data() + h.size(), n);
        if (ec != std::errc() || ptr != h.data() + h.size() || n > body.size()) {
            out.error = "bad Inference-Header-Content-Length in the answer: " + h;
            return out;
        }
        binary = body.substr(n);
        body = body.substr(0, n);
    }
    Json::Value doc;
    if (!parseJson(body, doc) || !doc.isObject() || !doc["outputs"].isArray() ||
        doc["outputs"].empty()) {
        out.error = "the answer is not a v2 inference response";
        return out;
    }
    const Json::Value& output = doc["outputs"][0];
    std::vector<std::string_view> strings;
    if (output["parameters"].isObject() && output["parameters"]["binary_data_size"].isUInt64()) {
        const auto size = output["parameters"]["binary_data_size"].asUInt64();
        if (size > binary.size() || !readBinaryStrings(binary.substr(0, size), strings)) {
            out.error = "the answer's binary data does not fit its binary_data_size";
            return out;
        }
    } else if (output["data"].isArray()) {
        for (const Json::Value& s : output["data"]) {
            if (!s.isString()) {
                out.error = "the answer's classification data holds a non-string";
                return out;
            }
            const char* begin = nullptr;
            const char* end = nullptr;
            s.getString(&begin, &end);
            strings.emplace_back(begin, static_cast<std::size_t>(end - begin));
        }
    } else {
        out.error = "the answer's output has neither data nor binary_data_size";
        return out;
    }
    if (count == 0 || strings.size() % count != 0 || strings.empty()) {
        out.error = concat("the answer holds ", std::to_string(strings.size()),
                           " classification strings for ", std::to_string(count), " images");
        return out;
    }
    const std::size_t k = strings.size() / count;
    V2Answer answer;
    answer.version = doc["model_version"].isString() ? doc["model_version"].asString() : "";
    answer.images.resize(count);
    for (std::size_t i = 0; i < strings.size(); ++i) {
        auto c = parseClassification(strings[i]);
        if (!c) {
            out.error = concat("unreadable classification string '", strings[i], "'");
            return out;
        }
        answer.images[i / k].push_back(std::move(*c));
    }
    out.answer = std::move(answer);
    return out;
}

bool v2OffersBinary(const std::string& server_metadata_body) {
    Json::Value doc;
    if (!parseJson(server_metadata_body, doc) || !doc.isObject() || !doc["extensions"].isArray()) {
        return false;
    }
    for (const Json::Value& e : doc["extensions"]) {
        if (e.isString() && e.asString() == "binary_tensor_data") {
            return true;
        }
    }
    return false;
}

std::optional<V2ModelIo> v2ModelIo(const std::string& model_metadata_body) {
    Json::Value doc;
    if (!parseJson(model_metadata_body, doc) || !doc.isObject()) {
        return std::nullopt;
    }
    const Json::Value& inputs = doc["inputs"];
    const Json::Value& outputs = doc["outputs"];
    if (!inputs.isArray() || inputs.size() != 1 || !inputs[0]["name"].isString() ||
        !outputs.isArray() || outputs.empty() || !outputs[0]["name"].isString()) {
        return std::nullopt;
    }
    return V2ModelIo{inputs[0]["name"].asString(), outputs[0]["name"].asString()};
}

}  // namespace predictd::score
