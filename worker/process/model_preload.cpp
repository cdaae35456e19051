// model_preload.cpp — loading the repository in the supervisor, before fork (see the header).
#include "process/model_preload.hpp"

#include <malloc.h>

#include <Poco/Logger.h>
#include <opencv2/core.hpp>

#include <chrono>
#include <exception>

namespace predictd {

Preload preloadModels(const ServiceConfig& config, ServiceMetrics* metrics) {
    Preload result;
    Poco::Logger& log = Poco::Logger::get("supervisor");
    try {
        // OpenCV's thread pool must not exist at fork: with one thread OpenCV runs serially and
        // starts none (each worker sets its own count after fork).
        cv::setNumThreads(1);
        BatchingOptions batching;
        batching.max_batch_size = config.max_batch_size;
        batching.max_queue_delay = std::chrono::microseconds(config.max_queue_delay_us);
        std::string first_error;
        auto models = std::make_unique<ModelRepository>(
            ModelRepository::load(config.modelSource(), config.limits, batching, metrics,
                                  [&](bool ok, const std::string& line) {
                                      if (ok) {
                                          log.debug(line);
                                      } else {
                                          log.error(line);
                                          if (first_error.empty()) {
                                              first_error = line;
                                          }
                                      }
                                  }));
        if (models->defaultModel() == nullptr) {
            result.error = "the default model '" + config.default_model + "' is not served" +
                           (first_error.empty() ? std::string() : ": " + first_error);
            return result;
        }
        for (const auto& model : models->models()) {
            for (const auto& version : model->versions) {
                const ModelSpec& spec = version->model->spec();
                if (spec.backend == Backend::kOnnxRuntime &&
                    (spec.intra_op_threads > 1 || spec.inter_op_threads > 1)) {
                    result.skipped = "model '" + model->name +
                                     "' runs ONNX Runtime with more than one thread, whose pool "
                                     "would not exist in forked workers";
                    return result;
                }
            }
        }
        // Loading frees much more than it keeps (the ONNX protobuf, graph-optimisation copies of
        // the weights, the self-check's images): hand the freed pages back before forking.
        ::malloc_trim(0);
        result.models = std::move(models);
    } catch (const std::exception& e) {
        result.error = std::string("loading the models failed: ") + e.what();
    }
    return result;
}

}  // namespace predictd
