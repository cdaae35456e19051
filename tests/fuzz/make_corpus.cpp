// make_corpus.cpp — writes the seed corpora of the fuzz targets into tests/fuzz/corpus/.
//
// Not a test: run it by hand after changing it (the corpora are committed, so a fuzz run needs
// neither this program nor a build of it):
//   cmake --build build-fuzz --target fuzz_make_corpus && build-fuzz/tests/fuzz/fuzz_make_corpus
// Seeds: the sample digits of tests/data/samples in every format OpenCV decodes (and GIF),
// with depth/alpha/shape variants and forged headers; base64 variants; JSON bodies for every
// error code; whole requests for the handler (first byte 'P' = POST /predict JSON, see
// fuzz_request_handler.cpp).
#include <Poco/Base64Encoder.h>

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>
#include <string>
#include <vector>

#include <opencv2/core.hpp>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

namespace fs = std::filesystem;

namespace {

const fs::path kSource = PREDICTD_SOURCE_DIR;
fs::path kOut = kSource / "tests/fuzz/corpus";  // or argv[1]

void put(const std::string& target, const std::string& name, const std::string& bytes) {
    const fs::path dir = kOut / target;
    fs::create_directories(dir);
    std::ofstream(dir / name, std::ios::binary) << bytes;
}

std::string encode(const std::string& ext, const cv::Mat& image,
                   const std::vector<int>& params = {}) {
    std::vector<uchar> buf;
    cv::imencode(ext, image, buf, params);
    return {buf.begin(), buf.end()};
}

std::string base64(const std::string& bytes, int lineLength = 0) {
    std::ostringstream out;
    Poco::Base64Encoder enc(out);
    enc.rdbuf()->setLineLength(lineLength);
    enc << bytes;
    enc.close();
    return out.str();
}

}  // namespace

int main(int argc, char** argv) {
    if (argc > 1) {
        kOut = argv[1];
    }
    fs::remove_all(kOut);
    std::vector<cv::Mat> digits;
    for (int d = 0; d < 10; ++d) {
        digits.push_back(cv::imread(
            (kSource / "tests/data/samples").string() + "/digit-" + std::to_string(d) + ".png",
            cv::IMREAD_GRAYSCALE));
    }

    // Images: each digit in one format, plus variants.
    const std::vector<std::pair<std::string, std::string>> formats = {
        {".png", "png"}, {".jpg", "jpg"}, {".bmp", "bmp"}, {".webp", "webp"}, {".tiff", "tiff"},
        {".pgm", "pgm"}, {".ppm", "ppm"}, {".pbm", "pbm"}, {".png", "png"},   {".jpg", "jpg"}};
    std::vector<std::string> images;
    for (int d = 0; d < 10; ++d) {
        cv::Mat img = digits[d];
        if (formats[d].first == ".ppm") {
            cv::cvtColor(img, img, cv::COLOR_GRAY2BGR);
        }
        images.push_back(encode(formats[d].first, img));
        put("image_decode", "digit-" + std::to_string(d) + "." + formats[d].second, images.back());
    }
    cv::Mat inverted = 255 - digits[3];
    put("image_decode", "inverted-3.jpg", encode(".jpg", inverted, {cv::IMWRITE_JPEG_QUALITY, 60}));
    cv::Mat deep;
    digits[4].convertTo(deep, CV_16U, 257);
    put("image_decode", "16bit-4.png", encode(".png", deep));
    put("image_decode", "16bit-4.tiff", encode(".tiff", deep));
    cv::Mat bgra;
    cv::cvtColor(digits[5], bgra, cv::COLOR_GRAY2BGRA);
    put("image_decode", "bgra-5.png", encode(".png", bgra));
    put("image_decode", "bgra-5.webp", encode(".webp", bgra, {cv::IMWRITE_WEBP_QUALITY, 101}));
    cv::Mat wide;
    cv::resize(digits[6], wide, cv::Size(40, 20));
    put("image_decode", "wide-6.bmp", encode(".bmp", wide));
    put("image_decode", "lossy-7.webp", encode(".webp", digits[7], {cv::IMWRITE_WEBP_QUALITY, 50}));
    put("image_decode", "progressive-8.jpg",
        encode(".jpg", digits[8], {cv::IMWRITE_JPEG_PROGRESSIVE, 1}));
    put("image_decode", "1x1.png", encode(".png", cv::Mat(1, 1, CV_8UC1, cv::Scalar(255))));
    put("image_decode", "ascii-9.pgm", encode(".pgm", digits[9], {cv::IMWRITE_PXM_BINARY, 0}));
    put("image_decode", "1x1.gif",
        std::string("GIF89a\x01\x00\x01\x00\x80\x00\x00\xFF\xFF\xFF\x00\x00\x00"
                    "!\xF9\x04\x01\x00\x00\x00\x00,\x00\x00\x00\x00\x01\x00\x01\x00\x00"
                    "\x02\x02\x44\x01\x00;",
                    43));
    put("image_decode", "huge-header.png",
        std::string("\x89PNG\r\n\x1A\n\x00\x00\x00\x0DIHDR\x00\x00\xEA\x60\x00\x00\xEA\x60"
                    "\x08\x00\x00\x00\x00\xDE\xAD\xBE\xEF",
                    33));
    put("image_decode", "huge-header.jpg",
        std::string("\xFF\xD8\xFF\xE0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00"
                    "\xFF\xC0\x00\x0B\x08\xEA\x60\xEA\x60\x01\x01\x11\x00\xFF\xD9",
                    35));
    put("image_decode", "truncated.png", images[0].substr(0, 40));
    // Hand-made headers the encoders never write: a TIFF with a duplicated ImageWidth (libtiff
    // keeps the first), a big-endian TIFF, a top-down BMP, a BITMAPCOREHEADER BMP, an extended
    // (VP8X) WebP, a PGM with comments.
    const auto le = [](std::uint32_t v, int bytes) {
        std::string s;
        for (int i = 0; i < bytes; ++i) {
            s.push_back(static_cast<char>((v >> (8 * i)) & 0xFF));
        }
        return s;
    };
    const auto be = [](std::uint32_t v, int bytes) {
        std::string s;
        for (int i = bytes - 1; i >= 0; --i) {
            s.push_back(static_cast<char>((v >> (8 * i)) & 0xFF));
        }
        return s;
    };
    {
        const std::vector<std::pair<int, std::uint32_t>> tags = {
            {256, 16}, {256, 8}, {257, 8}, {258, 8}, {259, 1},
            {262, 1},  {273, 0}, {277, 1}, {278, 8}, {279, 64}};
        for (const bool big : {false, true}) {
            const auto& num = big ? be : le;
            std::string t = big ? std::string("MM\0*", 4) : std::string("II*\0", 4);
            t += num(8, 4) + num(static_cast<std::uint32_t>(tags.size()), 2);
            const auto dataAt = static_cast<std::uint32_t>(8 + 2 + 12 * tags.size() + 4);
            for (const auto& [tag, value] : tags) {
                const bool isLong = tag == 273 || tag == 279;
                t += num(static_cast<std::uint32_t>(tag), 2) + num(isLong ? 4 : 3, 2) + num(1, 4);
                const std::uint32_t v = tag == 273 ? dataAt : value;
                t += isLong ? num(v, 4) : num(v, 2) + std::string(2, '\0');
            }
            t += num(0, 4) + std::string(128, '\x80');
            put("image_decode", big ? "dup-width-be.tiff" : "dup-width-le.tiff", t);
        }
    }
    {
        cv::Mat small;
        cv::resize(digits[2], small, cv::Size(8, 8), 0, 0, cv::INTER_AREA);
        std::string bmp = encode(".bmp", small);
        const std::string topDown = le(static_cast<std::uint32_t>(-8), 4);
        put("image_decode", "top-down.bmp", bmp.replace(22, 4, topDown));
        std::string core = "BM" + le(14 + 12 + 8 * 8 * 3, 4) + le(0, 4) + le(26, 4) + le(12, 4) +
                           le(8, 2) + le(8, 2) + le(1, 2) + le(24, 2);
        core += std::string(8 * 8 * 3, '\x40');
        put("image_decode", "core-header.bmp", core);
    }
    {
        const std::string vp8 = encode(".webp", digits[0], {cv::IMWRITE_WEBP_QUALITY, 80});
        const std::string chunk = vp8.substr(12);  // "VP8 " + size + frame
        std::string x = "VP8X" + le(10, 4) + std::string(4, '\0') + le(27, 3) + le(27, 3);
        const std::string body = "WEBP" + x + chunk;
        put("image_decode", "extended.webp",
            "RIFF" + le(static_cast<std::uint32_t>(body.size()), 4) + body);
    }
    put("image_decode", "comments.pgm",
        "P5\n# a comment\n8 # width\n#\n8\n255\n" + std::string(64, '\x20'));

    // Base64: the variants the API accepts, and broken ones.
    const std::string png = images[0];
    const std::string b64 = base64(png);
    std::string urlSafe = base64(std::string("\xFB\xFF\xBF\xFE", 4) + png);
    for (char& c : urlSafe) {
        c = c == '+' ? '-' : c == '/' ? '_' : c;
    }
    std::string unpadded = base64(png.substr(0, png.size() - 1));
    while (!unpadded.empty() && unpadded.back() == '=') {
        unpadded.pop_back();
    }
    put("base64_decode", "standard", b64);
    put("base64_decode", "url-safe", urlSafe);
    put("base64_decode", "unpadded", unpadded);
    put("base64_decode", "wrapped-76", base64(png, 76));
    put("base64_decode", "data-url", "data:image/png;base64," + b64);
    put("base64_decode", "short", "SGk=");
    put("base64_decode", "illegal", "SGVs!G8=");
    put("base64_decode", "bad-padding", "SGVsbG8===");
    put("base64_decode", "data-not-base64", "data:text/plain,hello");

    // Request bodies.
    const std::string small = base64(images[1]);
    const std::vector<std::pair<std::string, std::string>> bodies = {
        {"single", R"({"image": ")" + small + R"("})"},
        {"batch", R"({"images": [")" + small + R"(", ")" + base64(images[2]) + R"("]})"},
        {"batch-of-one", R"({"images": ["QUJD"]})"},
        {"escapes", R"({"image": "\u0041\/\"[{", "x": {"y": [1, 2.5e3, true, null]}})"},
        {"both", R"({"image": "QQ==", "images": ["QQ=="]})"},
        {"missing", R"({"picture": "QQ=="})"},
        {"wrong-type", R"({"images": ["QQ==", 5]})"},
        {"empty-batch", R"({"images": []})"},
        {"too-many", R"({"images": ["a","b","c","d","e","f","g","h","i"]})"},
        {"deep", R"({"image": [[[[[[[[[[[[[[[[[[[["x"]]]]]]]]]]]]]]]]]]]]})"},
        {"not-object", R"(["image"])"},
        {"trailing", R"({"image": "QQ=="} x)"},
    };
    for (const auto& [name, body] : bodies) {
        put("predict_request", name, body);
        put("request_handler", "post-" + name, "P" + body);
    }
    put("request_handler", "post-data-url",
        "P" + std::string(R"({"image": "data:image/png;base64,)") + base64(images[8]) + R"("})");
    put("request_handler", "post-jpeg",
        "P" + std::string(R"({"image": ")") + base64(images[1]) + R"("})");
    put("request_handler", "post-webp",
        "P" + std::string(R"({"image": ")") + base64(images[3]) + R"("})");
    put("request_handler", "post-gif",
        "P" + std::string(
                  R"({"image": "R0lGODlhAQABAIAAAP///wAAACH5BAEAAAAALAAAAAABAAEAAAICRAEAOw=="})"));
    put("request_handler", "get-health", std::string(1, '\x05'));            // GET /health
    put("request_handler", "get-ready", std::string(1, '\x09'));             // GET /ready
    put("request_handler", "get-predict", std::string(1, '\x01'));           // GET /predict
    put("request_handler", "post-text-plain", "\x20{\"image\": \"QQ==\"}");  // text/plain
    std::cout << "wrote " << kOut << "\n";
    return 0;
}
