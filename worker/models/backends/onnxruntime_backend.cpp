// onnxruntime_backend.cpp — the ONNX Runtime engine (C++ API), predictd's default: it runs every
// ONNX image model tried here and is 2.6–4.3× faster than OpenCV DNN (FIELD-NOTES).
//
// One Ort::Env per process, created on first use: in the supervisor before fork when it
// preloads the models (server.preload; the workers inherit it and the sessions), else in each
// worker. Sessions run sequentially with the model's intra-/inter-op thread counts (default 1
// and 1: the workers are the parallelism; with 1, ONNX Runtime starts no thread, which is what
// makes loading before fork safe). The input tensor wraps the
// blob's memory; the outputs are copied out once.
#include <onnxruntime_cxx_api.h>

#include <filesystem>
#include <system_error>
#include <utility>

#include "models/backends/inference_backend.hpp"

namespace predictd {
namespace {

Ort::Env& environment() {
    static Ort::Env env(ORT_LOGGING_LEVEL_ERROR, "predictd");
    return env;
}

class OnnxRuntimeBackend final : public InferenceBackend {
  public:
    explicit OnnxRuntimeBackend(Ort::Session session) : session_(std::move(session)) {
        Ort::AllocatorWithDefaultOptions alloc;
        for (std::size_t i = 0; i < session_.GetInputCount(); ++i) {
            inputs_.push_back(
                {session_.GetInputNameAllocated(i, alloc).get(),
                 session_.GetInputTypeInfo(i).GetTensorTypeAndShapeInfo().GetShape()});
        }
        for (std::size_t i = 0; i < session_.GetOutputCount(); ++i) {
            auto info = session_.GetOutputTypeInfo(i);
            std::vector<std::int64_t> shape;
            if (info.GetONNXType() == ONNX_TYPE_TENSOR) {
                shape = info.GetTensorTypeAndShapeInfo().GetShape();
            }
            outputs_.push_back({session_.GetOutputNameAllocated(i, alloc).get(), shape});
        }
    }

    Result<std::vector<BatchOutput>> run(const cv::Mat& blob,
                                         const std::vector<std::string>& names) override {
        try {
            if (!blob.isContinuous() || blob.type() != CV_32F || inputs_.empty()) {
                return inferenceFailed("input blob is not a continuous float32 tensor");
            }
            std::vector<std::int64_t> shape(static_cast<std::size_t>(blob.dims));
            for (int d = 0; d < blob.dims; ++d) {
                shape[static_cast<std::size_t>(d)] = blob.size[d];
            }
            const Ort::MemoryInfo memory =
                Ort::MemoryInfo::CreateCpu(OrtArenaAllocator, OrtMemTypeDefault);
            // ONNX Runtime only reads the input; the API takes a non-const pointer.
            auto* data = const_cast<float*>(blob.ptr<float>());
            Ort::Value input = Ort::Value::CreateTensor<float>(memory, data, blob.total(),
                                                               shape.data(), shape.size());
            const char* input_name = inputs_.front().name.c_str();
            std::vector<const char*> output_names;
            output_names.reserve(names.size());
            for (const auto& n : names) {
                output_names.push_back(n.c_str());
            }
            std::vector<Ort::Value> outs =
                session_.Run(runOptions(shape.empty() ? 1 : shape.front()), &input_name, &input, 1,
                             output_names.data(), output_names.size());
            std::vector<BatchOutput> result;
            result.reserve(outs.size());
            for (std::size_t i = 0; i < outs.size(); ++i) {
                auto info = outs[i].GetTensorTypeAndShapeInfo();
                if (info.GetElementType() != ONNX_TENSOR_ELEMENT_DATA_TYPE_FLOAT) {
                    return inferenceFailed("output '" + names[i] + "' is not float32");
                }
                BatchOutput o;
                o.name = names[i];
                o.shape = info.GetShape();
                const float* p = outs[i].GetTensorData<float>();
                o.values.assign(p, p + info.GetElementCount());
                result.push_back(std::move(o));
            }
            return result;
        } catch (const std::exception& e) {  // Ort::Exception included
            return inferenceFailed(e.what());
        }
    }

    [[nodiscard]] const std::vector<TensorInfo>& inputs() const override { return inputs_; }
    [[nodiscard]] const std::vector<TensorInfo>& outputs() const override { return outputs_; }

  private:
    // ONNX Runtime's CPU arena keeps every chunk it ever took: after one 64-photo batch a
    // MobileNetV2 worker held 675 MiB (PSS) instead of 34, for good. A batch larger than
    // kShrinkAboveBatch asks the arena to give back, at the end of that Run, the regions it no
    // longer uses (83 MiB after the same batch). Not for every batch: refaulting the memory made
    // 16-photo batches 1.25-1.45x slower, so batches up to 16 (a bulk client's usual size) keep
    // their memory warm; larger ones pay for their own.
    static constexpr std::int64_t kShrinkAboveBatch = 16;
    static Ort::RunOptions runOptions(std::int64_t batch) {
        Ort::RunOptions options;
        if (batch > kShrinkAboveBatch) {
            options.AddConfigEntry("memory.enable_memory_arena_shrinkage", "cpu:0");
        }
        return options;
    }

    Ort::Session session_;
    std::vector<TensorInfo> inputs_;
    std::vector<TensorInfo> outputs_;
};

}  // namespace

Result<std::unique_ptr<InferenceBackend>> openOnnxRuntime(const std::string& onnx_path,
                                                          const ModelSpec& spec) {
    try {
        Ort::SessionOptions options;
        options.SetIntraOpNumThreads(spec.intra_op_threads);
        options.SetInterOpNumThreads(spec.inter_op_threads);
        options.SetExecutionMode(ExecutionMode::ORT_SEQUENTIAL);
        switch (spec.onnxruntime.graph_optimization) {
            case GraphOptimization::kDisabled:
                options.SetGraphOptimizationLevel(GraphOptimizationLevel::ORT_DISABLE_ALL);
                break;
            case GraphOptimization::kBasic:
                options.SetGraphOptimizationLevel(GraphOptimizationLevel::ORT_ENABLE_BASIC);
                break;
            case GraphOptimization::kExtended:
                options.SetGraphOptimizationLevel(GraphOptimizationLevel::ORT_ENABLE_EXTENDED);
                break;
            case GraphOptimization::kAll:
                options.SetGraphOptimizationLevel(GraphOptimizationLevel::ORT_ENABLE_ALL);
                break;
        }
        if (!spec.onnxruntime.memory_arena) {
            options.DisableCpuMemArena();
        }
        // Idle intra-op threads must not spin on a machine whose cores the workers share.
        options.AddConfigEntry("session.intra_op.allow_spinning", "0");
        Ort::Session session(environment(), onnx_path.c_str(), options);
        if (session.GetInputCount() == 0) {
            return modelLoadFailed(onnx_path, "the graph has no input");
        }
        std::unique_ptr<InferenceBackend> backend =
            std::make_unique<OnnxRuntimeBackend>(std::move(session));
        return backend;
    } catch (const std::exception& e) {
        return modelLoadFailed(onnx_path, e.what());
    }
}

}  // namespace predictd
