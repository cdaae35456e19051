// model_preload.hpp — server.preload: the supervisor loads the model repository once, before it
// forks, so every worker starts with the models already in its (copy-on-write) memory, as
// gunicorn's --preload does. The workers share those pages instead of each holding its own copy,
// and a respawned worker serves at once instead of loading for a second or more.
//
// Owns what makes loading safe to do before fork(): nothing that starts a thread (OpenCV runs
// serially while loading; a model whose ONNX Runtime session would own a thread pool is refused,
// since its threads would not exist in the children: the workers then load for themselves), and
// returning the load's freed heap to the system so the children inherit a compact one.
#pragma once

#include <memory>
#include <string>

#include "models/model_repository.hpp"
#include "ops/service_config.hpp"

namespace predictd {

struct ServiceMetrics;

struct Preload {
    std::unique_ptr<ModelRepository> models;  // null: see error / skipped
    std::string error;    // the default model does not load (the workers could not load it either)
    std::string skipped;  // a model needs engine threads: the workers load for themselves
};

// Never throws.
Preload preloadModels(const ServiceConfig& config, ServiceMetrics* metrics);

}  // namespace predictd
