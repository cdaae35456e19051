// model_ceiling.cpp — bare inference throughput of one model of the repository, in process, the
// way a worker runs it (ImageModel: the configured engine, its threads, the blob it builds), on
// inputs already preprocessed: no decoding, no HTTP. Owns only that timing loop; run one copy per
// core at once (bench/photo_throughput.py does) for the machine's ceiling.
//
// usage: bench_model_ceiling MODEL_DIR MODEL_ONNX SECONDS BATCH[,BATCH...]
// (MODEL_DIR holds config.json; MODEL_ONNX is one of its versions, e.g. MODEL_DIR/1/model.onnx)
// stdout: {"1": images_per_second, "8": ...}
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <sstream>
#include <string>
#include <vector>

#include <opencv2/core.hpp>

#include "models/image_model.hpp"
#include "models/model_spec.hpp"

int main(int argc, char** argv) {
    if (argc != 5) {
        std::cerr << "usage: bench_model_ceiling MODEL_DIR MODEL_ONNX SECONDS BATCH[,BATCH...]\n";
        return 2;
    }
    const std::filesystem::path dir(argv[1]);
    auto spec = predictd::loadModelSpec(dir.string(), dir.filename().string());
    if (!spec.ok()) {
        std::cerr << spec.error().message << "\n";
        return 2;
    }
    const std::string onnx = argv[2];
    auto model = predictd::ImageModel::load(onnx, spec.value());
    if (!model.ok()) {
        std::cerr << model.error().message << "\n";
        return 2;
    }
    const predictd::InputSpec& in = model.value()->spec().input;
    const double seconds = std::stod(argv[3]);
    std::stringstream list(argv[4]);
    std::string out = "{";
    for (std::string item; std::getline(list, item, ',');) {
        const int batch = std::stoi(item);
        std::vector<cv::Mat> inputs;
        for (int i = 0; i < batch; ++i) {
            cv::Mat m(in.height, in.width, CV_32FC(in.channels));
            cv::randu(m, 0.0, 1.0);
            inputs.push_back(m);
        }
        (void)model.value()->predict(inputs);  // warm
        long images = 0;
        const auto t0 = std::chrono::steady_clock::now();
        double elapsed = 0;
        while (elapsed < seconds) {
            if (!model.value()->predict(inputs).ok()) {
                std::cerr << "inference failed\n";
                return 1;
            }
            images += batch;
            elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
        }
        char entry[64];
        std::snprintf(entry, sizeof(entry), "%s\"%d\": %.1f", out.size() > 1 ? ", " : "", batch,
                      static_cast<double>(images) / elapsed);
        out += entry;
    }
    std::cout << out << "}\n";
    return 0;
}
