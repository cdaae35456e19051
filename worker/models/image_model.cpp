// image_model.cpp — input resolution against the graph, blob building, output splitting.
#include "models/image_model.hpp"

#include <array>
#include <cstring>
#include <exception>
#include <optional>
#include <utility>

#include <opencv2/core.hpp>

namespace predictd {
namespace {

// Fills what the config left out from the graph's input shape, and checks what it declared.
std::optional<std::string> resolveInput(const TensorInfo& graph, InputSpec& in) {
    if (in.name.empty()) {
        in.name = graph.name;
    } else if (in.name != graph.name) {
        return "the config names input '" + in.name + "', the graph's is '" + graph.name + "'";
    }
    if (graph.shape.size() != 4 && !graph.shape.empty()) {
        return "input '" + graph.name + "' has " + std::to_string(graph.shape.size()) +
               " dimensions; an image model takes 4 ([N,C,H,W] or [N,H,W,C])";
    }
    if (graph.shape.size() == 4) {
        const bool nchw = in.layout == TensorLayout::kNCHW;
        const std::int64_t c = graph.shape[nchw ? 1 : 3];
        const std::int64_t h = graph.shape[nchw ? 2 : 1];
        const std::int64_t w = graph.shape[nchw ? 3 : 2];
        const auto take = [](std::int64_t graph_dim, int& declared,
                             const char* what) -> std::optional<std::string> {
            if (graph_dim > 0) {
                if (declared != 0 && declared != graph_dim) {
                    return std::string("input ") + what + " is " + std::to_string(graph_dim) +
                           " in the graph but " + std::to_string(declared) + " in the config";
                }
                declared = static_cast<int>(graph_dim);
            }
            return std::nullopt;
        };
        if (auto e = take(c, in.channels, "channels")) {
            return e;
        }
        if (auto e = take(h, in.height, "height")) {
            return e;
        }
        if (auto e = take(w, in.width, "width")) {
            return e;
        }
    }
    if (in.width <= 0 || in.height <= 0 || in.channels <= 0) {
        return "the input size is dynamic in the graph: declare input.width, height and channels";
    }
    if (in.channels != 1 && in.channels != 3) {
        return "input has " + std::to_string(in.channels) + " channels; 1 or 3 are served";
    }
    return std::nullopt;
}

// Copies HWC float images into one blob in the model's layout: one pass per image, no
// intermediate Mats (cv::dnn::blobFromImages would allocate and, for NHWC, not apply).
Result<cv::Mat> makeBlob(const std::vector<cv::Mat>& images, const InputSpec& in) {
    const int n = static_cast<int>(images.size());
    const bool nchw = in.layout == TensorLayout::kNCHW;
    const std::array<int, 4> shape = nchw ? std::array<int, 4>{n, in.channels, in.height, in.width}
                                          : std::array<int, 4>{n, in.height, in.width, in.channels};
    cv::Mat blob(4, shape.data(), CV_32F);
    const std::size_t plane = static_cast<std::size_t>(in.height) * in.width;
    for (int i = 0; i < n; ++i) {
        const cv::Mat& img = images[static_cast<std::size_t>(i)];
        if (img.depth() != CV_32F || img.channels() != in.channels || img.rows != in.height ||
            img.cols != in.width) {
            return inferenceFailed("image " + std::to_string(i) + " is not " +
                                   std::to_string(in.width) + "x" + std::to_string(in.height) +
                                   "x" + std::to_string(in.channels) + " float");
        }
        auto* dst = blob.ptr<float>(i);
        if (!nchw || in.channels == 1) {  // HWC rows as they are
            const std::size_t row = static_cast<std::size_t>(in.width) * in.channels;
            for (int r = 0; r < in.height; ++r) {
                std::memcpy(dst + row * r, img.ptr<float>(r), sizeof(float) * row);
            }
            continue;
        }
        std::array<cv::Mat, 3> planes;  // NCHW: split the channels straight into the blob
        for (int c = 0; c < 3; ++c) {
            planes[static_cast<std::size_t>(c)] =
                cv::Mat(in.height, in.width, CV_32F, dst + plane * c);
        }
        cv::split(img, planes.data());
    }
    return blob;
}

}  // namespace

ImageModel::ImageModel(std::unique_ptr<InferenceBackend> backend, ModelSpec spec, std::string path)
    : backend_(std::move(backend)), spec_(std::move(spec)), path_(std::move(path)) {}

Result<std::unique_ptr<ImageModel>> ImageModel::load(const std::string& onnx_path, ModelSpec spec) {
    try {
        auto backend = openBackend(onnx_path, spec);
        if (!backend.ok()) {
            return backend.error();
        }
        InferenceBackend& engine = *backend.value();
        if (engine.inputs().size() != 1) {
            return modelLoadFailed(onnx_path, "the graph has " +
                                                  std::to_string(engine.inputs().size()) +
                                                  " inputs; an image model has one");
        }
        if (auto e = resolveInput(engine.inputs().front(), spec.input)) {
            return modelLoadFailed(onnx_path, *e);
        }
        if (spec.output.names.empty()) {
            for (const auto& o : engine.outputs()) {
                spec.output.names.push_back(o.name);
                if (spec.output.kind != OutputKind::kScores) {
                    break;  // classification and distributions read one output
                }
            }
        }
        for (const auto& wanted : spec.output.names) {
            bool found = false;
            for (const auto& o : engine.outputs()) {
                found = found || o.name == wanted;
            }
            if (!found) {
                return modelLoadFailed(onnx_path, "the graph has no output '" + wanted + "'");
            }
        }
        auto model =
            std::make_unique<ImageModel>(std::move(backend).value(), std::move(spec), onnx_path);
        // Warm-up (the first pass allocates and optimises) and output check.
        const InputSpec& in = model->spec_.input;
        const cv::Mat blank(in.height, in.width, CV_32FC(in.channels), cv::Scalar::all(0));
        const auto out = model->predict({blank});
        if (!out.ok()) {
            return modelLoadFailed(onnx_path,
                                   "warm-up forward pass failed: " + out.error().message);
        }
        return model;
    } catch (const std::exception& e) {
        return modelLoadFailed(onnx_path, e.what());
    }
}

Result<std::vector<Prediction>> ImageModel::predict(const std::vector<cv::Mat>& images) {
    try {
        std::vector<Prediction> predictions;
        if (images.empty()) {
            return predictions;
        }
        const auto blob = makeBlob(images, spec_.input);
        if (!blob.ok()) {
            return blob.error();
        }
        auto outs = backend_->run(blob.value(), spec_.output.names);
        if (!outs.ok()) {
            return outs.error();
        }
        const std::size_t n = images.size();
        predictions.resize(n);
        for (const BatchOutput& o : outs.value()) {
            if (o.shape.empty() || o.shape[0] != static_cast<std::int64_t>(n) ||
                o.values.size() % n != 0) {
                return inferenceFailed("output '" + o.name + "' does not have the batch size " +
                                       std::to_string(n) + " as its first dimension");
            }
            const std::size_t per = o.values.size() / n;
            const std::vector<std::int64_t> shape(o.shape.begin() + 1, o.shape.end());
            for (std::size_t i = 0; i < n; ++i) {
                const auto first = o.values.begin() + static_cast<std::ptrdiff_t>(i * per);
                predictions[i].outputs.push_back(
                    {o.name, shape,
                     std::vector<float>(first, first + static_cast<std::ptrdiff_t>(per))});
            }
        }
        return predictions;
    } catch (const cv::Exception& e) {
        return inferenceFailed(e.err);
    } catch (const std::exception& e) {
        return inferenceFailed(e.what());
    }
}

}  // namespace predictd
