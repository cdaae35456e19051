// tfs_response.hpp — TF Serving REST answers (tensorflow/serving
// tensorflow_serving/g3doc/api_rest.md and model_servers/http_rest_api_util.cc): model status,
// model metadata, predict in row and columnar form, classify.
//
// Owns the response schemas. The status and metadata bodies are the proto3 JSON mapping of
// GetModelStatusResponse / GetModelMetadataResponse as TF Serving prints them (int64 fields as
// strings, field names as in the .proto, primitive fields always printed). Floats are the
// shortest text that reads back to the same float32 (the model's own precision); a non-finite
// value is null.
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "api/tfs_request.hpp"
#include "models/prediction.hpp"

namespace predictd {

// {"model_version_status":[{"version":"1","state":"AVAILABLE",
//   "status":{"error_code":"OK","error_message":""}},...]}
std::string encodeTfsModelStatus(const std::vector<int>& versions);

struct TfsTensorInfo {
    std::string name;
    std::vector<std::int64_t> shape;  // -1: any size (the batch dimension)
};

// {"model_spec":{"name":..,"signature_name":"","version":"1"},"metadata":{"signature_def":
//   {"signature_def":{"serving_default":{"inputs":{<name>:{"dtype":"DT_FLOAT","tensor_shape":
//   {"dim":[{"size":"-1","name":""},...],"unknown_rank":false},"name":<name>}},"outputs":{...},
//   "method_name":"tensorflow/serving/predict"}}}}}
std::string encodeTfsModelMetadata(const std::string& model, int version,
                                   const std::vector<TfsTensorInfo>& inputs,
                                   const std::vector<TfsTensorInfo>& outputs);

// Row format: {"predictions":[<instance>,...]}, an instance being its one output's value, or
// {"<output>": value, ...} when the model has several. Columnar: {"outputs": <value with the
// batch dimension>} or {"outputs": {"<output>": value, ...}}. Values nested by their shape.
std::string encodeTfsPredict(TfsFormat format, const std::vector<Prediction>& predictions);

// {"results":[[["<label>",<score>],...],...]}: per example, its classes' label/score pairs
// (the key TF Serving's json_tensor.cc writes, kClassifyRegressResponseKey).
std::string encodeTfsClassify(
    const std::vector<std::vector<std::pair<std::string, float>>>& results);

}  // namespace predictd
