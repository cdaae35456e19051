// ceiling.cpp — bare in-process inference throughput from C++, the way predictd's workers call
// OpenCV DNN: one cv::dnn::Net, cv::setNumThreads(1), net.setInput + net.forward in a loop.
// Owns only that timing loop; bench/ceiling.py runs one copy per core and adds them up.
// No decoding, no HTTP: the input is held-out digits already scaled to [0,1].
//
// usage: bench_ceiling MODEL HELDOUT_BIN SECONDS_PER_BATCH START_AT_UNIX BATCH[,BATCH...]
// stdout: {"1": images_per_second, "16": ...}
#include <opencv2/core.hpp>
#include <opencv2/dnn.hpp>

#include <chrono>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

int main(int argc, char** argv) {
    if (argc != 6) {
        std::cerr << "usage: bench_ceiling MODEL HELDOUT_BIN SECONDS START_AT BATCHES\n";
        return 2;
    }
    const std::string model = argv[1];
    const double seconds = std::stod(argv[3]);
    const double start_at = std::stod(argv[4]);
    std::vector<int> batches;
    std::stringstream list(argv[5]);
    for (std::string item; std::getline(list, item, ',');) {
        batches.push_back(std::stoi(item));
    }

    // Held-out records: 1 label byte + 784 pixel bytes, light on dark.
    std::ifstream in(argv[2], std::ios::binary);
    std::vector<unsigned char> raw((std::istreambuf_iterator<char>(in)), {});
    const int n = static_cast<int>(raw.size() / 785);
    if (n == 0) {
        std::cerr << "no digits in " << argv[2] << "\n";
        return 2;
    }
    cv::Mat all(n, 784, CV_32F);
    for (int i = 0; i < n; ++i) {
        for (int j = 0; j < 784; ++j) {
            all.at<float>(i, j) = raw[static_cast<size_t>(i) * 785 + 1 + j] / 255.0f;
        }
    }

    cv::setNumThreads(1);
    cv::dnn::Net net = cv::dnn::readNetFromONNX(model);

    using clock = std::chrono::steady_clock;
    const double now_unix =
        std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
    if (start_at > now_unix) {
        std::this_thread::sleep_for(std::chrono::duration<double>(start_at - now_unix));
    }

    std::printf("{");
    for (size_t bi = 0; bi < batches.size(); ++bi) {
        const int b = batches[bi];
        std::vector<cv::Mat> blobs;
        for (int i = 0; i + b <= n && blobs.size() < 64; i += b) {
            int shape[] = {b, 1, 28, 28};
            blobs.push_back(all.rowRange(i, i + b).clone().reshape(1, 4, shape));
        }
        for (int w = 0; w < 3; ++w) {  // warm-up
            net.setInput(blobs[w % blobs.size()]);
            net.forward();
        }
        long images = 0;
        size_t k = 0;
        const auto t0 = clock::now();
        double elapsed = 0;
        do {
            net.setInput(blobs[k]);
            cv::Mat out = net.forward();
            k = (k + 1) % blobs.size();
            images += b;
            elapsed = std::chrono::duration<double>(clock::now() - t0).count();
        } while (elapsed < seconds);
        std::printf("%s\"%d\": %.3f", bi ? ", " : "", b, images / elapsed);
    }
    std::printf("}\n");
    return 0;
}
