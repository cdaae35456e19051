// worker_process.cpp — the worker's boot sequence, then its loop (see worker_process.hpp).
#include "process/worker_process.hpp"

#include <fcgiapp.h>
#include <fcntl.h>
#include <malloc.h>
#include <sys/prctl.h>
#include <unistd.h>

#include <Poco/Logger.h>
#include <opencv2/core.hpp>

#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstring>
#include <optional>
#include <string>

#include "models/model_repository.hpp"
#include "process/worker_signals.hpp"
#include "transport/worker_loop.hpp"

namespace predictd {
namespace {

void wakeSupervisor(int fd) {
    if (fd >= 0) {
        const char byte = 0;  // 0 = "a worker changed state" (signals use their number)
        [[maybe_unused]] ssize_t n = ::write(fd, &byte, 1);
    }
}

}  // namespace

int runWorker(const WorkerContext& ctx) {
    Poco::Logger& log = Poco::Logger::get("worker");
    ScoreboardSlot& slot = ctx.scoreboard->slot(ctx.slot);
    try {
        // Die with the supervisor even if it is SIGKILLed (no orphans holding the socket).
        ::prctl(PR_SET_PDEATHSIG, SIGTERM);

        // The self-pipe a stop signal writes to: the loop sleeps in poll() on its read end.
        int pipe_fds[2];
        if (::pipe2(pipe_fds, O_CLOEXEC | O_NONBLOCK) != 0) {
            log.error(std::string("pipe2: ") + std::strerror(errno));
            return kWorkerExitFatal;
        }

        cv::setNumThreads(ctx.config->threads_per_worker);
        std::optional<ModelRepository> own;
        const ModelRepository* models = ctx.preloaded;
        if (models == nullptr) {
            BatchingOptions batching;
            batching.max_batch_size = ctx.config->max_batch_size;
            batching.max_queue_delay = std::chrono::microseconds(ctx.config->max_queue_delay_us);
            own.emplace(ModelRepository::load(ctx.config->modelSource(), ctx.config->limits,
                                              batching, &ctx.scoreboard->metrics(),
                                              [&log](bool ok, const std::string& line) {
                                                  ok ? log.debug(line) : log.error(line);
                                              }));
            models = &*own;
            if (models->defaultModel() == nullptr) {
                log.error("the default model '" + ctx.config->default_model + "' is not served");
                return kWorkerExitBootFailure;
            }
            // Loading frees much more than it keeps (the ONNX protobuf, graph-optimisation
            // copies of the weights, the self-check's images), and glibc keeps freed heap pages
            // mapped: hand them back before serving. Measured on the photo model: 72 → 53 MB PSS
            // per worker.
            ::malloc_trim(0);
        }

        if (FCGX_Init() != 0) {
            log.error("FCGX_Init failed");
            return kWorkerExitFatal;
        }
        // After FCGX_Init: replace libfcgi's handlers with ours.
        installWorkerSignals(pipe_fds[1]);
        sigset_t none;
        sigemptyset(&none);
        ::sigprocmask(SIG_SETMASK, &none, nullptr);

        slot.ready_ms.store(monotonicMs(), std::memory_order_relaxed);
        slot.state.store(WorkerState::kIdle, std::memory_order_release);
        wakeSupervisor(ctx.supervisor_wake_fd);

        return runWorkerLoop(ctx, *models, pipe_fds[0]);
    } catch (const std::exception& e) {
        log.error(std::string("worker failed: ") + e.what());
        return slot.ready_ms.load() == 0 ? kWorkerExitBootFailure : kWorkerExitFatal;
    }
}

}  // namespace predictd
