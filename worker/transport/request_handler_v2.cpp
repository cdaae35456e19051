// request_handler_v2.cpp — the Open Inference Protocol v2 routes of RequestHandler (KServe v2 /
// Triton): health, server and model metadata, model readiness, inference with Triton's
// classification and binary tensor data extensions. Parsing is api/v2_request, encoding
// api/v2_response; the middle (decode budget, preprocessing, deadline, batcher) is
// inference_pipeline, shared with every route. Errors are {"error":"..."} (inference_rest.md)
// through the one error renderer.
#include <algorithm>
#include <string>
#include <vector>

#include "api/v2_request.hpp"
#include "api/v2_response.hpp"
#include "transport/inference_pipeline.hpp"
#include "transport/request_handler.hpp"

#ifndef PREDICTD_VERSION
#define PREDICTD_VERSION "unknown"
#endif

namespace predictd {
namespace {

constexpr ApiProtocol kV2 = ApiProtocol::kV2;

// The extensions that really work (reported in server metadata; Triton's names).
const std::vector<std::string>& v2Extensions() {
    static const std::vector<std::string> kExtensions = {"classification", "binary_tensor_data"};
    return kExtensions;
}

HttpResponse ok(std::string body) {
    HttpResponse r;
    r.body = std::move(body);
    return r;
}

V2ModelMetadata metadataOf(const ServedModel& model, const LoadedVersion& v) {
    const ModelSpec& spec = v.model->spec();
    V2ModelMetadata m;
    m.name = model.name;
    for (const auto& lv : model.versions) {
        m.versions.push_back(std::to_string(lv->version));
    }
    m.platform = spec.backend == Backend::kOnnxRuntime ? "onnxruntime_onnx" : "opencv_onnx";
    std::vector<std::int64_t> shape{-1};
    for (const std::int64_t d : inputDims(spec)) {
        shape.push_back(d);
    }
    m.inputs.push_back({inputName(v), "FP32", shape});
    for (const std::string& name : spec.output.names) {
        std::vector<std::int64_t> out_shape{-1};
        for (const std::int64_t d : outputDims(v, name)) {
            out_shape.push_back(d);
        }
        m.outputs.push_back({name, "FP32", out_shape});
    }
    return m;
}

}  // namespace

HttpResponse RequestHandler::v2Route(const HttpRequest& req, const RouteMatch& match) {
    switch (match.route->id) {
        case RouteId::kV2Server:
            return ok(encodeV2ServerMetadata("predictd", PREDICTD_VERSION, v2Extensions()));
        case RouteId::kV2Live:
            return ok(R"({"live":true})");
        case RouteId::kV2Ready:
            if (!models_.serving()) {
                HttpResponse r = ok(R"({"ready":false})");
                r.status = 503;
                return r;
            }
            return ok(R"({"ready":true})");
        default:
            break;
    }
    auto version = resolve(match);
    if (!version.ok()) {
        return errorResponse(version.error(), kV2);
    }
    LoadedVersion& v = *version.value();
    const ServedModel& model = *models_.find(match.param("model").value_or(""));
    switch (match.route->id) {
        case RouteId::kV2Model:
            return ok(encodeV2ModelMetadata(metadataOf(model, v)));
        case RouteId::kV2ModelReady:
            return ok(encodeV2ModelReady(model.name, true));
        case RouteId::kV2Infer:
            return v2Infer(req, model.name, v);
        default:
            break;
    }
    return errorResponse(ApiError{404, "not_found", "no such endpoint: " + req.path}, kV2);
}

HttpResponse RequestHandler::v2Infer(const HttpRequest& req, const std::string& model_name,
                                     LoadedVersion& version) {
    if (auto refused = checkBody(req)) {
        return errorResponse(*refused, kV2);
    }
    std::optional<std::string_view> header_length;
    if (req.inference_header_length) {
        header_length = *req.inference_header_length;
    }
    auto parsed = parseV2InferRequest(req.body, limits_, header_length);
    if (!parsed.ok()) {
        return errorResponse(parsed.error(), kV2);
    }
    const V2InferRequest& request = parsed.value();
    const V2Input& input = request.input;
    const ModelSpec& spec = version.model->spec();
    const std::string expected_name = inputName(version);
    if (input.name != expected_name) {
        return errorResponse(ApiError{400, "invalid_request",
                                      "unexpected input '" + input.name +
                                          "': the model's input is '" + expected_name + "'"},
                             kV2);
    }
    const auto count = static_cast<std::size_t>(input.shape.front());
    const Deadline deadline(req.received, limits_.request_deadline);
    Result<std::vector<cv::Mat>> inputs{std::vector<cv::Mat>{}};
    if (input.datatype == "BYTES") {
        if (input.shape.size() > 2 || (input.shape.size() == 2 && input.shape[1] != 1)) {
            return errorResponse(ApiError{400, "invalid_request",
                                          "a BYTES input (encoded images) has shape [N] or [N,1]"},
                                 kV2);
        }
        EncodedImages images;
        if (input.raw_elements.empty()) {
            images.items.assign(input.elements.begin(), input.elements.end());
        } else {
            images.items = input.raw_elements;
            images.base64 = false;
        }
        images.name = "inputs[0].data";
        images.batch = true;
        inputs = prepareImages(images, limits_, spec, deadline);
    } else {
        std::vector<std::int64_t> want{static_cast<std::int64_t>(count)};
        for (const std::int64_t d : inputDims(spec)) {
            want.push_back(d);
        }
        if (input.shape != want) {
            std::string text;
            for (std::size_t i = 1; i < want.size(); ++i) {
                text += "," + std::to_string(want[i]);
            }
            return errorResponse(
                ApiError{400, "invalid_request",
                         "a tensor input has the model's input shape [N" + text + "]"},
                kV2);
        }
        inputs = tensorInputs(input.values, count, spec);
    }
    if (!inputs.ok()) {
        return errorResponse(inputs.error(), kV2);
    }
    const auto predictions = runModel(version, inputs.value(), deadline);
    if (!predictions.ok()) {
        return errorResponse(predictions.error(), kV2);
    }
    const auto& list = predictions.value();

    // The outputs asked for (all by default), in the order asked.
    std::vector<V2RequestedOutput> wanted = request.outputs;
    if (wanted.empty()) {
        for (const auto& o : list.front().outputs) {
            wanted.push_back({o.name, 0, request.binary_output});
        }
    }
    std::vector<V2OutputTensor> outputs;
    for (const V2RequestedOutput& w : wanted) {
        std::size_t index = list.front().outputs.size();
        for (std::size_t i = 0; i < list.front().outputs.size(); ++i) {
            if (list.front().outputs[i].name == w.name) {
                index = i;
            }
        }
        if (index == list.front().outputs.size()) {
            return errorResponse(
                ApiError{400, "invalid_request", "unknown output '" + w.name + "'"}, kV2);
        }
        V2OutputTensor t;
        t.name = w.name;
        t.binary = w.binary;
        const int k = w.classification > 0 ? w.classification : request.classification;
        const OutputValues& first = list.front().outputs[index];
        if (k > 0) {
            t.datatype = "BYTES";
            const auto classes = static_cast<std::int64_t>(first.values.size());
            t.shape = {static_cast<std::int64_t>(list.size()), std::min<std::int64_t>(k, classes)};
            for (const Prediction& p : list) {
                for (auto& s : v2Classification(p.outputs[index].values, k, spec.output.labels)) {
                    t.strings.push_back(std::move(s));
                }
            }
        } else {
            t.datatype = "FP32";
            t.shape = {static_cast<std::int64_t>(list.size())};
            t.shape.insert(t.shape.end(), first.shape.begin(), first.shape.end());
            for (const Prediction& p : list) {
                const auto& values = p.outputs[index].values;
                t.values.insert(t.values.end(), values.begin(), values.end());
            }
        }
        outputs.push_back(std::move(t));
    }
    V2InferBody encoded =
        encodeV2InferResponse(model_name, std::to_string(version.version), request.id, outputs);
    HttpResponse r = ok(std::move(encoded.body));
    if (encoded.json_length != 0) {
        // Triton's binary tensor data: the JSON's length in a header, the whole as octets.
        r.content_type = "application/octet-stream";
        r.headers.emplace_back("Inference-Header-Content-Length",
                               std::to_string(encoded.json_length));
    }
    return r;
}

}  // namespace predictd
