// v2_response.hpp — the Open Inference Protocol v2 answers: server and model metadata, readiness
// and the inference response (kserve/open-inference-protocol inference_rest.md), with Triton's
// classification extension's "value:index[:label]" strings.
//
// Owns the response schemas. Floats are written as the shortest text that reads back to the same
// float32 (the model's own precision); a non-finite value is null.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace predictd {

struct V2TensorMetadata {
    std::string name;
    std::string datatype;             // "FP32", "BYTES"
    std::vector<std::int64_t> shape;  // -1: variable (the batch dimension)
};

struct V2ModelMetadata {
    std::string name;
    std::vector<std::string> versions;
    std::string platform;  // "onnxruntime_onnx" (Triton's name for ONNX Runtime models)
    std::vector<V2TensorMetadata> inputs;
    std::vector<V2TensorMetadata> outputs;
};

struct V2OutputTensor {
    std::string name;
    std::string datatype;             // "FP32" (values) or "BYTES" (strings)
    std::vector<std::int64_t> shape;  // with the batch dimension
    std::vector<float> values;
    std::vector<std::string> strings;
    bool binary = false;  // sent as binary data after the JSON (Triton's binary tensor data)
};

// An inference response body: the JSON object, then any binary outputs' data in output order.
struct V2InferBody {
    std::string body;
    // Length of the JSON object when binary data follows it (the Inference-Header-Content-Length
    // response header); 0 when no output is binary (the body is JSON only).
    std::size_t json_length = 0;
};

// {"name":"predictd","version":"0.1.0","extensions":[...]}
std::string encodeV2ServerMetadata(const std::string& name, const std::string& version,
                                   const std::vector<std::string>& extensions);
std::string encodeV2ModelMetadata(const V2ModelMetadata& metadata);
// {"name":"mnist","ready":true}
std::string encodeV2ModelReady(const std::string& name, bool ready);
// {"model_name":...,"model_version":"1","id":...,"outputs":[{name,datatype,shape,data}]}; a
// binary output has "parameters":{"binary_data_size":n} instead of "data".
V2InferBody encodeV2InferResponse(const std::string& model_name, const std::string& version,
                                  const std::optional<std::string>& id,
                                  const std::vector<V2OutputTensor>& outputs);

// Triton's classification strings for one image's output: the k highest values, best first,
// each "value:index" or "value:index:label" when the model has labels.
std::vector<std::string> v2Classification(const std::vector<float>& values, int k,
                                          const std::vector<std::string>& labels);

// The shortest text that reads back as `v` (float32), "null" when not finite.
void appendFloat(std::string& out, float v);

}  // namespace predictd
