// unit_test_support.hpp — small helpers the request-handler and protocol unit tests share:
// reading files, base64, the sample digits, parsing a JSON answer.
#pragma once

#include <json/json.h>

#include <string>

namespace predictd::test_support {

std::string readFile(const std::string& path);  // a gtest failure if it cannot be read
std::string base64(const std::string& bytes);   // standard alphabet, one line
// tests/data/samples/digit-N.png as base64.
std::string sampleDigitB64(int label);
// A gtest failure (and a null value) if `text` is not JSON.
Json::Value parseJson(const std::string& text);

}  // namespace predictd::test_support
