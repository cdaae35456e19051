// open_loop.cpp — command line for the open-loop generator (bench/open_loop_load.hpp).
//
//   bench_open_loop --port 8080 --rate 4000 --duration 60 [--connections 2000]
//   bench_open_loop --port 8080 --saturate 5 --factor 2 --duration 60
//
// Sends POST /predict with the ten sample digits of tests/data/samples (base64 PNG bodies) to
// 127.0.0.1:port and prints one summary line per phase: answers per status, dropped requests,
// and p50/p99 of the 200s measured from each request's scheduled start. With --saturate S it
// first runs closed-loop for S seconds at --connections 64 to find the saturation rate, then
// runs open-loop at --factor times that rate.
#include <Poco/Base64Encoder.h>

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>
#include <string_view>

#include "open_loop_load.hpp"

namespace {

std::string base64File(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) {
        std::fprintf(stderr, "open_loop: cannot read %s\n", path.c_str());
        std::exit(2);
    }
    std::ostringstream out;
    Poco::Base64Encoder enc(out);
    enc.rdbuf()->setLineLength(0);
    enc << in.rdbuf();
    enc.close();
    return out.str();
}

[[noreturn]] void usage() {
    std::fprintf(stderr,
                 "usage: bench_open_loop --port P (--rate R | --saturate S [--factor F])\n"
                 "       [--duration S] [--connections N] [--samples-dir DIR]\n");
    std::exit(2);
}

}  // namespace

int main(int argc, char** argv) {
    using predictd::load::LoadOptions;
    LoadOptions options;
    options.connections = 2000;
    double saturate_s = 0;
    double factor = 2.0;
    std::string samples = PREDICTD_SOURCE_DIR "/tests/data/samples";
    for (int i = 1; i + 1 < argc; i += 2) {
        const std::string_view flag = argv[i];
        const char* value = argv[i + 1];
        if (flag == "--port") {
            options.port = std::atoi(value);
        } else if (flag == "--rate") {
            options.rate = std::atof(value);
        } else if (flag == "--duration") {
            options.duration = std::chrono::milliseconds(std::lround(std::atof(value) * 1000));
        } else if (flag == "--connections") {
            options.connections = std::atoi(value);
        } else if (flag == "--saturate") {
            saturate_s = std::atof(value);
        } else if (flag == "--factor") {
            factor = std::atof(value);
        } else if (flag == "--samples-dir") {
            samples = value;
        } else {
            usage();
        }
    }
    if (argc % 2 == 0 || options.port <= 0 || (options.rate <= 0 && saturate_s <= 0)) {
        usage();
    }
    for (int d = 0; d < 10; ++d) {
        const std::string body =
            R"({"image": ")" + base64File(samples + "/digit-" + std::to_string(d) + ".png") + "\"}";
        options.requests.push_back(predictd::load::predictRequest("127.0.0.1", body, d));
    }
    if (saturate_s > 0) {
        LoadOptions closed = options;
        closed.rate = 0;
        closed.connections = 64;
        closed.duration = std::chrono::milliseconds(std::lround(saturate_s * 1000));
        const auto sat = predictd::load::runLoad(closed);
        std::printf("saturation (closed loop, 64 connections): %s\n", sat.summary().c_str());
        options.rate = factor * sat.ratePerSecond(200);
    }
    const auto r = predictd::load::runLoad(options);
    std::printf("open loop at %.0f/s: %s\n", options.rate, r.summary().c_str());
    return r.wrongLabels() == 0 ? 0 : 1;
}
