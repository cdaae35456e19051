// tfs_request.cpp — schema checks of TF Serving REST bodies (jsoncpp tree from parseJsonBody).
#include "api/tfs_request.hpp"

#include <json/json.h>

#include <exception>

#include "api/json_body.hpp"

namespace predictd {
namespace {

ApiError invalid(std::string message) {
    return ApiError{400, "invalid_request", std::move(message)};
}

std::string shapeText(const std::vector<std::int64_t>& shape) {
    std::string s = "[";
    for (std::size_t i = 0; i < shape.size(); ++i) {
        if (i != 0) {
            s += ',';
        }
        s += std::to_string(shape[i]);  // appended apart: GCC 12 -Wrestrict (bug 105329)
    }
    return s + "]";
}

ApiError tooMany(std::size_t count, const char* what, const RequestLimits& limits) {
    return ApiError{413, "batch_too_large",
                    "batch of " + std::to_string(count) + " " + what + " exceeds the limit of " +
                        std::to_string(limits.max_batch)};
}

// api_rest.md: "signature_name" is optional; predictd's models have one signature.
std::optional<ApiError> checkSignature(const Json::Value& root) {
    if (!root.isMember("signature_name")) {
        return std::nullopt;
    }
    const Json::Value& s = root["signature_name"];
    if (!s.isString()) {
        return invalid("\"signature_name\" must be a string");
    }
    if (!s.asString().empty() && s.asString() != "serving_default") {
        return invalid("Serving signature name: \"" + s.asString() +
                       "\" not found in signature def (the only one is \"serving_default\")");
    }
    return std::nullopt;
}

// {"b64": ...}: the one way api_rest.md carries binary values.
bool isB64(const Json::Value& v) {
    return v.isObject() && v.size() == 1 && v.isMember("b64");
}

std::optional<ApiError> addImage(const Json::Value& v, const std::string& where,
                                 const RequestLimits& limits, TfsInput& input) {
    const Json::Value& text = v["b64"];
    if (!text.isString()) {
        return invalid(where + ": \"b64\" must be a string of base64 text");
    }
    const char* begin = nullptr;
    const char* end = nullptr;
    text.getString(&begin, &end);
    const auto size = static_cast<std::size_t>(end - begin);
    if (size > limits.max_base64_bytes) {
        return ApiError{413, "image_too_large",
                        where + ": image is " + std::to_string(size) +
                            " bytes of base64 text; the limit is " +
                            std::to_string(limits.max_base64_bytes) + " bytes"};
    }
    input.images.emplace_back(begin, size);
    return std::nullopt;
}

// A tensor's shape, read down its first members (a number is a scalar: shape []).
Result<std::vector<std::int64_t>> shapeOf(const Json::Value& v, const std::string& where) {
    std::vector<std::int64_t> shape;
    for (const Json::Value* p = &v; p->isArray(); p = &(*p)[0]) {
        if (p->empty()) {
            return invalid(where + ": an empty list is not a tensor");
        }
        shape.push_back(static_cast<std::int64_t>(p->size()));
    }
    return shape;
}

// Appends the numbers of `v` row-major, checking every list against `shape` (no ragged lists).
std::optional<ApiError> flatten(const Json::Value& v, const std::vector<std::int64_t>& shape,
                                std::size_t depth, const std::string& where,
                                std::vector<float>& values) {
    if (depth == shape.size()) {
        if (v.isNumeric()) {
            values.push_back(static_cast<float>(v.asDouble()));
            return std::nullopt;
        }
        if (isB64(v) || v.isString()) {
            return invalid(where +
                           ": an encoded image is one value, {\"b64\": \"<base64>\"}, not part of "
                           "a list of numbers");
        }
        return invalid(where + ": tensor values must be numbers (an encoded image is sent as " +
                       "{\"b64\": \"<base64>\"})");
    }
    if (!v.isArray() || static_cast<std::int64_t>(v.size()) != shape[depth]) {
        return invalid(where + ": the tensor is ragged: its shape from the first members is " +
                       shapeText(shape) + " but a list at depth " + std::to_string(depth) +
                       " does not have " + std::to_string(shape[depth]) + " members");
    }
    for (const Json::Value& member : v) {
        if (auto e = flatten(member, shape, depth + 1, where, values)) {
            return e;
        }
    }
    return std::nullopt;
}

// One instance's value (row format, :classify): an image or a tensor of one instance's shape,
// the same kind and shape as the instances before it.
std::optional<ApiError> addInstance(const Json::Value& v, const std::string& where,
                                    const RequestLimits& limits, bool first, TfsInput& input) {
    if (isB64(v)) {
        if (!input.values.empty()) {
            return invalid(where + ": an image among tensors; every instance must be of one kind");
        }
        return addImage(v, where, limits, input);
    }
    if (!input.images.empty()) {
        return invalid(where + ": not {\"b64\": ...} among images; every instance must be an " +
                       "image, {\"b64\": \"<base64>\"}, or every one a tensor");
    }
    auto shape = shapeOf(v, where);
    if (!shape.ok()) {
        return shape.error();
    }
    if (input.flat) {  // a tf.Example feature: a list of numbers, its nesting ignored
        std::vector<float> values;
        if (auto e = flatten(v, shape.value(), 0, where, values)) {
            return e;
        }
        const std::vector<std::int64_t> length{static_cast<std::int64_t>(values.size())};
        if (!first && length != input.shape) {
            return invalid(where + " has " + std::to_string(values.size()) +
                           " values; the first has " + std::to_string(input.shape.front()));
        }
        input.shape = length;
        input.values.insert(input.values.end(), values.begin(), values.end());
        return std::nullopt;
    }
    if (!first && shape.value() != input.shape) {
        return invalid(where + " has shape " + shapeText(shape.value()) + "; the first has " +
                       shapeText(input.shape));
    }
    input.shape = shape.value();
    return flatten(v, input.shape, 0, where, input.values);
}

// The named form: {"<input>": value}. One input, and the same name in every instance.
Result<const Json::Value*> unwrapName(const Json::Value& v, const std::string& where, bool first,
                                      TfsInput& input) {
    if (!v.isObject() || isB64(v)) {
        if (!first && input.name) {
            return invalid(where + " does not name the input; the first names \"" + *input.name +
                           "\"");
        }
        return &v;
    }
    if (v.size() != 1) {
        return invalid(where + ": the model has one input; this names " + std::to_string(v.size()));
    }
    const std::string name = v.getMemberNames().front();
    if (!first && input.name != name) {
        return invalid(where + " names input \"" + name + "\"; the first names " +
                       (input.name ? "\"" + *input.name + "\"" : std::string("none")));
    }
    input.name = name;
    return &v[name];
}

Result<TfsInput> rowFormat(const Json::Value& instances, const RequestLimits& limits) {
    TfsInput input;
    input.where = "instances";
    if (!instances.isArray() || instances.empty()) {
        return invalid("\"instances\" must be a non-empty list, one member per instance");
    }
    if (instances.size() > limits.max_batch) {
        return tooMany(instances.size(), "instances", limits);
    }
    for (Json::ArrayIndex i = 0; i < instances.size(); ++i) {
        const std::string where = "instances[" + std::to_string(i) + "]";
        auto value = unwrapName(instances[i], where, i == 0, input);
        if (!value.ok()) {
            return value.error();
        }
        if (auto e = addInstance(*value.value(), where, limits, i == 0, input)) {
            return *e;
        }
    }
    input.count = instances.size();
    return input;
}

Result<TfsInput> columnarFormat(const Json::Value& inputs, const RequestLimits& limits) {
    TfsInput input;
    input.where = "inputs";
    auto unwrapped = unwrapName(inputs, "inputs", true, input);
    if (!unwrapped.ok()) {
        return unwrapped.error();
    }
    const Json::Value& v = *unwrapped.value();
    std::string where = input.name ? "inputs." + *input.name : std::string("inputs");
    if (input.name) {
        input.where = where;
    }
    if (isB64(v)) {  // one image, no batch dimension: a batch of one
        input.count = 1;
        if (auto e = addImage(v, where, limits, input)) {
            return *e;
        }
        return input;
    }
    if (v.isArray() && !v.empty() && v[0].isObject()) {  // a list of images
        if (v.size() > limits.max_batch) {
            return tooMany(v.size(), "images", limits);
        }
        for (Json::ArrayIndex i = 0; i < v.size(); ++i) {
            const std::string item = where + "[" + std::to_string(i) + "]";
            if (!isB64(v[i])) {
                return invalid(item + ": an image is {\"b64\": \"<base64>\"}");
            }
            if (auto e = addImage(v[i], item, limits, input)) {
                return *e;
            }
        }
        input.count = v.size();
        return input;
    }
    auto shape = shapeOf(v, where);
    if (!shape.ok()) {
        return shape.error();
    }
    if (shape.value().empty()) {
        return invalid(where + ": a scalar is not an image model's input; send images as " +
                       "{\"b64\": \"<base64>\"} or a tensor [N, <the model's input shape>]");
    }
    const auto count = static_cast<std::size_t>(shape.value().front());
    if (count > limits.max_batch) {
        return tooMany(count, "tensors", limits);
    }
    if (auto e = flatten(v, shape.value(), 0, where, input.values)) {
        return *e;
    }
    input.count = count;
    input.shape.assign(shape.value().begin() + 1, shape.value().end());
    return input;
}

Result<TfsPredictRequest> predictTree(const Json::Value& root, const RequestLimits& limits) {
    if (auto e = checkSignature(root)) {
        return *e;
    }
    const bool row = root.isMember("instances");
    const bool columnar = root.isMember("inputs");
    if (row == columnar) {
        return invalid(row ? "a request has either \"instances\" (row format) or \"inputs\" "
                             "(columnar format), not both"
                           : "Missing 'inputs' or 'instances' key");
    }
    auto input =
        row ? rowFormat(root["instances"], limits) : columnarFormat(root["inputs"], limits);
    if (!input.ok()) {
        return input.error();
    }
    return TfsPredictRequest{row ? TfsFormat::kRow : TfsFormat::kColumnar,
                             std::move(input).value()};
}

Result<TfsInput> classifyTree(const Json::Value& root, const RequestLimits& limits) {
    if (auto e = checkSignature(root)) {
        return *e;
    }
    if (root.isMember("context")) {
        const Json::Value& context = root["context"];
        if (!context.isObject()) {
            return invalid("\"context\" must be an object of features");
        }
        if (!context.empty()) {
            return invalid(
                "\"context\" features are not supported: an image model has one "
                "input; send it in each example");
        }
    }
    const Json::Value& examples = root["examples"];
    if (!examples.isArray() || examples.empty()) {
        return invalid("\"examples\" must be a non-empty list of examples");
    }
    if (examples.size() > limits.max_batch) {
        return tooMany(examples.size(), "examples", limits);
    }
    TfsInput input;
    input.where = "examples";
    input.flat = true;
    for (Json::ArrayIndex i = 0; i < examples.size(); ++i) {
        const std::string where = "examples[" + std::to_string(i) + "]";
        const Json::Value& example = examples[i];
        if (!example.isObject() || isB64(example) || example.size() != 1) {
            return invalid(where + ": an example is an object with one feature, the image: " +
                           "{\"<feature>\": {\"b64\": \"<base64>\"}}");
        }
        auto value = unwrapName(example, where, i == 0, input);
        if (!value.ok()) {
            return value.error();
        }
        if (auto e = addInstance(*value.value(), where, limits, i == 0, input)) {
            return *e;
        }
    }
    input.count = examples.size();
    return input;
}

template <typename T, typename F>
Result<T> parseWith(std::string_view body, const RequestLimits& limits, F tree) {
    auto root = parseJsonBody(body, limits);
    if (!root.ok()) {
        return root.error();
    }
    try {
        return tree(root.value(), limits);
    } catch (const std::exception& e) {
        return invalid(std::string("cannot read the request: ") + e.what());
    }
}

}  // namespace

Result<TfsPredictRequest> parseTfsPredictRequest(std::string_view body,
                                                 const RequestLimits& limits) {
    return parseWith<TfsPredictRequest>(body, limits, predictTree);
}

Result<TfsInput> parseTfsClassifyRequest(std::string_view body, const RequestLimits& limits) {
    return parseWith<TfsInput>(body, limits, classifyTree);
}

}  // namespace predictd
