// v2_request.cpp — schema checks of the v2 inference request (jsoncpp tree from parseJsonBody).
#include "api/v2_request.hpp"

#include <json/json.h>

#include <algorithm>
#include <cmath>
#include <exception>

#include "api/json_body.hpp"
#include "api/v2_binary.hpp"

namespace predictd {
namespace {

constexpr std::uint64_t kMaxElements = std::uint64_t{1} << 40;

ApiError invalid(std::string message) {
    return ApiError{400, "invalid_request", std::move(message)};
}

// k from a "classification" parameter: a positive integer (Triton: the number of classes).
Result<int> classificationCount(const Json::Value& parameters, const std::string& where) {
    if (parameters.isNull()) {
        return 0;
    }
    if (!parameters.isObject()) {
        return invalid(where + "\"parameters\" must be an object");
    }
    const Json::Value& k = parameters["classification"];
    if (k.isNull()) {
        return 0;
    }
    if (!k.isInt() || k.asInt() <= 0 || k.asInt() > 100000) {
        return invalid(where + "\"classification\" must be a positive integer");
    }
    return k.asInt();
}

// An optional boolean parameter (binary_data, binary_data_output); `fallback` when absent.
Result<bool> boolParameter(const Json::Value& parameters, const char* key, bool fallback,
                           const std::string& where) {
    if (!parameters.isObject() || !parameters.isMember(key)) {
        return fallback;
    }
    const Json::Value& v = parameters[key];
    if (!v.isBool()) {
        return invalid(where + "\"" + key + "\" must be true or false");
    }
    return v.asBool();
}

// The input's "binary_data_size" parameter, or -1 when it has none.
Result<std::int64_t> binaryDataSize(const Json::Value& parameters) {
    if (!parameters.isObject() || !parameters.isMember("binary_data_size")) {
        return std::int64_t{-1};
    }
    const Json::Value& v = parameters["binary_data_size"];
    if (!v.isUInt64()) {
        return invalid("inputs[0]: \"binary_data_size\" must be a non-negative integer");
    }
    return static_cast<std::int64_t>(std::min<std::uint64_t>(v.asUInt64(), kMaxElements));
}

// Reads the input's data from its slice of the binary section.
std::optional<ApiError> readBinaryInput(std::string_view data, std::uint64_t elements,
                                        const RequestLimits& limits, V2Input& input) {
    const auto count = static_cast<std::size_t>(elements);
    if (input.datatype == "BYTES") {
        // The bytes that limits.max_base64_bytes of base64 text carry: the same image limit as
        // in JSON.
        const std::size_t max_bytes = limits.max_base64_bytes / 4 * 3;
        auto raw = readV2BinaryBytes(data, count, max_bytes, "inputs[0]");
        if (!raw.ok()) {
            return raw.error();
        }
        input.raw_elements = std::move(raw).value();
        return std::nullopt;
    }
    auto values = readV2BinaryNumbers(data, input.datatype, count, "inputs[0]");
    if (!values.ok()) {
        return values.error();
    }
    input.values = std::move(values).value();
    return std::nullopt;
}

// Appends the leaves of `data` (flat or nested arrays) in row-major order.
std::optional<ApiError> flatten(const Json::Value& data, const std::string& datatype,
                                std::size_t max_elements, V2Input& input) {
    if (data.isArray()) {
        for (const Json::Value& member : data) {
            if (auto e = flatten(member, datatype, max_elements, input)) {
                return e;
            }
        }
        return std::nullopt;
    }
    if (input.elements.size() + input.values.size() >= max_elements) {
        return invalid("\"data\" holds more elements than \"shape\" says");
    }
    if (datatype == "BYTES") {
        if (!data.isString()) {
            return invalid("BYTES data must be strings (base64 of an encoded image)");
        }
        input.elements.push_back(data.asString());
    } else if (datatype == "FP32") {
        if (!data.isNumeric()) {
            return invalid("FP32 data must be numbers");
        }
        input.values.push_back(static_cast<float>(data.asDouble()));
    } else {  // UINT8
        if (!data.isUInt() || data.asUInt() > 255) {
            return invalid("UINT8 data must be integers 0..255");
        }
        input.values.push_back(static_cast<float>(data.asUInt()));
    }
    return std::nullopt;
}

// The requested outputs: names, classification counts, binary or JSON.
Result<V2InferRequest> parseOutputs(const Json::Value& root, V2InferRequest& request) {
    if (root.isMember("outputs")) {
        const Json::Value& outputs = root["outputs"];
        if (!outputs.isArray()) {
            return invalid("\"outputs\" must be an array");
        }
        for (Json::ArrayIndex i = 0; i < outputs.size(); ++i) {
            const Json::Value& o = outputs[i];
            const std::string where = "outputs[" + std::to_string(i) + "]: ";
            if (!o.isObject() || !o["name"].isString()) {
                return invalid(where + "must be an object with a \"name\"");
            }
            auto count = classificationCount(o["parameters"], where);
            if (!count.ok()) {
                return count.error();
            }
            auto binary =
                boolParameter(o["parameters"], "binary_data", request.binary_output, where);
            if (!binary.ok()) {
                return binary.error();
            }
            request.outputs.push_back({o["name"].asString(), count.value(), binary.value()});
        }
    }
    return std::move(request);
}

Result<V2InferRequest> parseTree(const Json::Value& root, const RequestLimits& limits,
                                 std::optional<std::string_view> binary) {
    V2InferRequest request;
    if (root.isMember("id")) {
        if (!root["id"].isString()) {
            return invalid("\"id\" must be a string");
        }
        request.id = root["id"].asString();
    }
    auto k = classificationCount(root["parameters"], "");
    if (!k.ok()) {
        return k.error();
    }
    request.classification = k.value();
    auto binary_output = boolParameter(root["parameters"], "binary_data_output", false, "");
    if (!binary_output.ok()) {
        return binary_output.error();
    }
    request.binary_output = binary_output.value();

    const Json::Value& inputs = root["inputs"];
    if (!inputs.isArray() || inputs.empty()) {
        return invalid("\"inputs\" must be a non-empty array");
    }
    if (inputs.size() != 1) {
        return invalid("the model takes one input; the request has " +
                       std::to_string(inputs.size()));
    }
    const Json::Value& in = inputs[0];
    if (!in.isObject() || !in["name"].isString() || !in["datatype"].isString() ||
        !in["shape"].isArray()) {
        return invalid(
            "inputs[0] must be an object with \"name\", \"shape\", \"datatype\" and "
            "\"data\" (or \"parameters\": {\"binary_data_size\": n})");
    }
    auto binary_size = binaryDataSize(in["parameters"]);
    if (!binary_size.ok()) {
        return binary_size.error();
    }
    const bool binary_input = binary_size.value() >= 0;
    if (binary_input && in.isMember("data")) {
        return invalid("inputs[0] has both \"data\" and a \"binary_data_size\"");
    }
    if (!binary_input && !in.isMember("data")) {
        return invalid("inputs[0] has neither \"data\" nor a \"binary_data_size\"");
    }
    if (binary_input && !binary) {
        return invalid(
            "inputs[0] has a \"binary_data_size\" but the request has no "
            "Inference-Header-Content-Length header");
    }
    V2Input& input = request.input;
    input.name = in["name"].asString();
    input.datatype = in["datatype"].asString();
    if (input.datatype != "BYTES" && input.datatype != "FP32" && input.datatype != "UINT8") {
        return invalid("datatype " + input.datatype +
                       " is not accepted: BYTES (encoded images), FP32 or UINT8");
    }
    std::uint64_t elements = 1;
    for (const Json::Value& d : in["shape"]) {
        if (!d.isUInt64()) {
            return invalid("\"shape\" must hold non-negative integers");
        }
        const std::uint64_t v = d.asUInt64();
        if (v > kMaxElements) {
            return invalid("\"shape\" has a dimension larger than " + std::to_string(kMaxElements));
        }
        input.shape.push_back(static_cast<std::int64_t>(v));
        // Saturates above kMaxElements: no request's data can hold that many anyway.
        elements = v == 0 ? 0 : (elements > kMaxElements / v ? kMaxElements + 1 : elements * v);
    }
    if (input.shape.empty() || input.shape.front() == 0) {
        return invalid("\"shape\" must have a first (batch) dimension of at least 1");
    }
    if (static_cast<std::uint64_t>(input.shape.front()) > limits.max_batch) {
        return ApiError{413, "batch_too_large",
                        "batch of " + std::to_string(input.shape.front()) +
                            " exceeds the limit of " + std::to_string(limits.max_batch)};
    }
    if (binary) {
        // The binary section holds the binary inputs' data in the JSON's input order: here the
        // one input's, which must take all of it.
        const auto size =
            static_cast<std::uint64_t>(std::max<std::int64_t>(binary_size.value(), 0));
        if (size != binary->size()) {
            return invalid("the binary data after the JSON is " + std::to_string(binary->size()) +
                           " bytes; the inputs' binary_data_size add up to " +
                           std::to_string(size));
        }
    }
    if (binary_input) {
        if (elements > kMaxElements) {
            return invalid("\"shape\" holds more elements than the binary data can");
        }
        if (auto e = readBinaryInput(*binary, elements, limits, input)) {
            return *e;
        }
        return parseOutputs(root, request);
    }
    const auto max_elements = static_cast<std::size_t>(elements);
    if (auto e = flatten(in["data"], input.datatype, max_elements, input)) {
        return *e;
    }
    const std::size_t got = input.elements.size() + input.values.size();
    if (got != elements) {
        return invalid("\"data\" holds " + std::to_string(got) + " elements; shape needs " +
                       std::to_string(elements));
    }
    for (std::size_t i = 0; i < input.elements.size(); ++i) {
        if (input.elements[i].size() > limits.max_base64_bytes) {
            return ApiError{413, "image_too_large",
                            "inputs[0].data[" + std::to_string(i) + "]: image is " +
                                std::to_string(input.elements[i].size()) +
                                " bytes of base64 text; the limit is " +
                                std::to_string(limits.max_base64_bytes) + " bytes"};
        }
    }

    return parseOutputs(root, request);
}

}  // namespace

Result<V2InferRequest> parseV2InferRequest(std::string_view body, const RequestLimits& limits,
                                           std::optional<std::string_view> header_length) {
    std::optional<std::string_view> binary;
    if (header_length) {
        auto split = splitV2BinaryBody(body, *header_length);
        if (!split.ok()) {
            return split.error();
        }
        body = split.value().json;
        binary = split.value().binary;
    }
    auto root = parseJsonBody(body, limits);
    if (!root.ok()) {
        return root.error();
    }
    try {
        return parseTree(root.value(), limits, binary);
    } catch (const std::exception& e) {
        return invalid(std::string("cannot read the request: ") + e.what());
    }
}

}  // namespace predictd
