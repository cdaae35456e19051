// request_handler_tfs.cpp — the TF Serving REST routes of RequestHandler
// (tensorflow/serving tensorflow_serving/g3doc/api_rest.md): model status, model metadata,
// :predict (row and columnar) and :classify, for /v1/models/{m}[/versions/{v}|/labels/{l}].
// Parsing is api/tfs_request, encoding api/tfs_response; the middle (decode budget,
// preprocessing, deadline, batcher) is inference_pipeline, shared with every route. Errors are
// {"error":"..."} (api_rest.md) through the one error renderer, with the statuses TF Serving's
// http_server.cc maps its codes to: INVALID_ARGUMENT 400, NOT_FOUND 404, INTERNAL 500,
// UNAVAILABLE 503 (predictd's limits keep their 413, as NGINX's own does).
#include <string>
#include <utility>
#include <vector>

#include "api/tfs_request.hpp"
#include "api/tfs_response.hpp"
#include "models/postprocess.hpp"
#include "transport/inference_pipeline.hpp"
#include "transport/request_handler.hpp"

namespace predictd {
namespace {

constexpr ApiProtocol kTf = ApiProtocol::kTfServing;

HttpResponse ok(std::string body) {
    HttpResponse r;
    r.body = std::move(body);
    return r;
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

// The graph outputs a prediction carries, as the config names them (else the graph's first).
std::vector<std::string> outputNames(const LoadedVersion& v) {
    const ModelSpec& spec = v.model->spec();
    if (!spec.output.names.empty()) {
        return spec.output.names;
    }
    const auto& outputs = v.model->backend().outputs();
    return outputs.empty() ? std::vector<std::string>{} : std::vector{outputs.front().name};
}

// The model's inputs for a parsed request: encoded images through the shared pipeline (the
// model's preprocessing), a tensor of the model's input shape as it is.
Result<std::vector<cv::Mat>> modelInputs(const TfsInput& input, const LoadedVersion& version,
                                         const RequestLimits& limits, const Deadline& deadline) {
    const ModelSpec& spec = version.model->spec();
    const std::string expected = inputName(version);
    if (input.name && !input.flat && *input.name != expected) {
        return ApiError{
            400, "invalid_request",
            "unknown input \"" + *input.name + "\": the model's input is \"" + expected + "\""};
    }
    if (input.isImages()) {
        EncodedImages images;
        images.items.assign(input.images.begin(), input.images.end());
        images.name = input.where;
        images.batch = true;
        return prepareImages(images, limits, spec, deadline);
    }
    const std::vector<std::int64_t> dims = inputDims(spec);
    std::int64_t size = 1;
    for (const std::int64_t d : dims) {
        size *= d;
    }
    if (input.flat ? input.shape != std::vector<std::int64_t>{size} : input.shape != dims) {
        std::vector<std::int64_t> batch{-1};
        batch.insert(batch.end(), dims.begin(), dims.end());
        return ApiError{400, "invalid_request",
                        input.where + ": a tensor of shape " + shapeText(input.shape) +
                            "; the model's input is " + shapeText(batch) + " (each instance " +
                            shapeText(dims) + ", " + std::to_string(size) +
                            " numbers), or send encoded images as {\"b64\": \"<base64>\"}"};
    }
    return tensorInputs(input.values, input.count, spec);
}

}  // namespace

HttpResponse RequestHandler::tfsRoute(const HttpRequest& req, const RouteMatch& match) {
    auto version = resolve(match);
    if (!version.ok()) {
        return errorResponse(version.error(), kTf);
    }
    LoadedVersion& v = *version.value();
    const ServedModel& model = *models_.find(match.param("model").value_or(""));
    switch (match.route->id) {
        case RouteId::kTfsStatus: {
            // api_rest.md: without /versions/{v}, the status of every version.
            std::vector<int> versions;
            if (match.param("version") || match.param("label")) {
                versions.push_back(v.version);
            } else {
                for (const auto& lv : model.versions) {
                    versions.push_back(lv->version);
                }
            }
            return ok(encodeTfsModelStatus(versions));
        }
        case RouteId::kTfsMetadata: {
            std::vector<std::int64_t> in_shape{-1};
            for (const std::int64_t d : inputDims(v.model->spec())) {
                in_shape.push_back(d);
            }
            std::vector<TfsTensorInfo> outputs;
            for (const std::string& name : outputNames(v)) {
                std::vector<std::int64_t> out_shape{-1};
                for (const std::int64_t d : outputDims(v, name)) {
                    out_shape.push_back(d);
                }
                outputs.push_back({name, out_shape});
            }
            return ok(
                encodeTfsModelMetadata(model.name, v.version, {{inputName(v), in_shape}}, outputs));
        }
        case RouteId::kTfsPredict:
            return tfsPredict(req, v);
        case RouteId::kTfsClassify:
            return tfsClassify(req, v);
        default:
            break;
    }
    return errorResponse(ApiError{404, "not_found", "no such endpoint: " + req.path}, kTf);
}

HttpResponse RequestHandler::tfsPredict(const HttpRequest& req, LoadedVersion& version) {
    if (auto refused = checkBody(req)) {
        return errorResponse(*refused, kTf);
    }
    auto parsed = parseTfsPredictRequest(req.body, limits_);
    if (!parsed.ok()) {
        return errorResponse(parsed.error(), kTf);
    }
    const Deadline deadline(req.received, limits_.request_deadline);
    const auto inputs = modelInputs(parsed.value().input, version, limits_, deadline);
    if (!inputs.ok()) {
        return errorResponse(inputs.error(), kTf);
    }
    const auto predictions = runModel(version, inputs.value(), deadline);
    if (!predictions.ok()) {
        return errorResponse(predictions.error(), kTf);
    }
    return ok(encodeTfsPredict(parsed.value().format, predictions.value()));
}

HttpResponse RequestHandler::tfsClassify(const HttpRequest& req, LoadedVersion& version) {
    const ModelSpec& spec = version.model->spec();
    if (spec.output.kind != OutputKind::kClassification) {
        return errorResponse(ApiError{400, "invalid_request",
                                      "this model is not a classification model; use :predict"},
                             kTf);
    }
    if (auto refused = checkBody(req)) {
        return errorResponse(*refused, kTf);
    }
    auto parsed = parseTfsClassifyRequest(req.body, limits_);
    if (!parsed.ok()) {
        return errorResponse(parsed.error(), kTf);
    }
    const Deadline deadline(req.received, limits_.request_deadline);
    const auto inputs = modelInputs(parsed.value(), version, limits_, deadline);
    if (!inputs.ok()) {
        return errorResponse(inputs.error(), kTf);
    }
    const auto predictions = runModel(version, inputs.value(), deadline);
    if (!predictions.ok()) {
        return errorResponse(predictions.error(), kTf);
    }
    // Every class with its probability, in the model's class order; a class without a label
    // name is named by its index.
    std::vector<std::vector<std::pair<std::string, float>>> results;
    for (const Prediction& p : predictions.value()) {
        auto answer = postprocess(p, spec.output, 0);
        if (!answer.ok()) {
            return errorResponse(answer.error(), kTf);
        }
        auto& classes = results.emplace_back();
        const auto& probabilities = answer.value().probabilities;
        for (std::size_t i = 0; i < probabilities.size(); ++i) {
            classes.emplace_back(
                i < spec.output.labels.size() ? spec.output.labels[i] : std::to_string(i),
                probabilities[i]);
        }
    }
    return ok(encodeTfsClassify(results));
}

}  // namespace predictd
