// decode_cost.cpp — what one image costs a worker before inference: plan (header, shrink on
// load), decode, preprocess, exactly as the request path runs them, for a model's config.
// Owns only the timing loop; the images come from bench/costly_images.py or anywhere else.
//
// usage: bench_decode_cost MODEL_DIR IMAGE...
// stdout: one line per image: name, bytes, JPEG reduction, planned cost (MiB of pixels), decode
// ms, preprocess ms, total ms (medians of up to 15 runs or 2 s), or the error the request path
// would answer. PREDICTD_FULL_DECODE=1 decodes at full size (no shrink on load), for comparison.
#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <iterator>
#include <string>
#include <vector>

#include "api/request_limits.hpp"
#include "codecs/image_decode.hpp"
#include "models/image_input.hpp"
#include "models/model_spec.hpp"
#include "models/preprocess.hpp"

namespace {

double median(std::vector<double> v) {
    std::sort(v.begin(), v.end());
    return v[v.size() / 2];
}

double msSince(std::chrono::steady_clock::time_point t0) {
    return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
}

}  // namespace

int main(int argc, char** argv) {
    if (argc < 3) {
        std::cerr << "usage: bench_decode_cost MODEL_DIR IMAGE...\n";
        return 2;
    }
    const std::filesystem::path dir(argv[1]);
    auto spec = predictd::loadModelSpec(dir.string(), dir.filename().string());
    if (!spec.ok()) {
        std::cerr << spec.error().message << "\n";
        return 2;
    }
    predictd::RequestLimits limits;
    limits.max_decode_bytes = UINT64_MAX;  // report the cost, do not refuse it
    const bool full = std::getenv("PREDICTD_FULL_DECODE") != nullptr;
    std::printf("%-24s %9s %3s %8s %9s %9s %9s\n", "image", "bytes", "red", "cost_MiB", "decode_ms",
                "prep_ms", "total_ms");
    for (int i = 2; i < argc; ++i) {
        std::ifstream in(argv[i], std::ios::binary);
        const std::string bytes((std::istreambuf_iterator<char>(in)), {});
        const std::string name = std::filesystem::path(argv[i]).filename().string();
        auto planned = predictd::planImageInput(bytes, limits, spec.value());
        if (!planned.ok()) {
            std::printf("%-24s %9zu  %d %s: %s\n", name.c_str(), bytes.size(),
                        planned.error().status, planned.error().code.c_str(),
                        planned.error().message.c_str());
            continue;
        }
        predictd::PlannedImage plan = planned.value();
        if (full) {
            auto wants = predictd::decodeWantsFor(spec.value(), plan.header);
            wants.max_reduction = 1;
            plan.plan = predictd::planDecode(plan.header, wants);
        }
        std::vector<double> decode_ms;
        std::vector<double> prep_ms;
        const auto started = std::chrono::steady_clock::now();
        while (decode_ms.size() < 15 && (decode_ms.size() < 3 || msSince(started) < 2000)) {
            auto t0 = std::chrono::steady_clock::now();
            auto image = predictd::decodeInspected(bytes, plan.header, plan.plan, limits);
            decode_ms.push_back(msSince(t0));
            if (!image.ok()) {
                std::printf("%-24s %9zu  %d %s: %s\n", name.c_str(), bytes.size(),
                            image.error().status, image.error().code.c_str(),
                            image.error().message.c_str());
                break;
            }
            t0 = std::chrono::steady_clock::now();
            auto input = predictd::preprocessImage(image.value(), spec.value());
            prep_ms.push_back(msSince(t0));
            if (!input.ok()) {
                std::printf("%-24s preprocess: %s\n", name.c_str(), input.error().message.c_str());
                break;
            }
        }
        if (prep_ms.size() == decode_ms.size()) {
            std::printf("%-24s %9zu %3d %8.1f %9.2f %9.2f %9.2f\n", name.c_str(), bytes.size(),
                        plan.plan.reduction, static_cast<double>(plan.plan.cost_bytes) / (1 << 20),
                        median(decode_ms), median(prep_ms), median(decode_ms) + median(prep_ms));
        }
    }
    return 0;
}
