// unit_test_support.cpp — see unit_test_support.hpp.
#include "unit_test_support.hpp"

#include <gtest/gtest.h>

#include <Poco/Base64Encoder.h>

#include <fstream>
#include <iterator>
#include <memory>
#include <sstream>

namespace predictd::test_support {

std::string readFile(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    EXPECT_TRUE(in.good()) << path;
    return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

std::string base64(const std::string& bytes) {
    std::ostringstream out;
    Poco::Base64Encoder enc(out);
    enc.rdbuf()->setLineLength(0);
    enc << bytes;
    enc.close();
    return out.str();
}

std::string sampleDigitB64(int label) {
    return base64(readFile(std::string(PREDICTD_SOURCE_DIR) + "/tests/data/samples/digit-" +
                           std::to_string(label) + ".png"));
}

Json::Value parseJson(const std::string& text) {
    Json::CharReaderBuilder b;
    const std::unique_ptr<Json::CharReader> reader(b.newCharReader());
    Json::Value v;
    std::string errors;
    EXPECT_TRUE(reader->parse(text.data(), text.data() + text.size(), &v, &errors)) << text;
    return v;
}

}  // namespace predictd::test_support
