// test_model_card.cpp — the committed ONNX files are the ones the model card describes.
#include <gtest/gtest.h>

#include <Poco/DigestEngine.h>
#include <Poco/DigestStream.h>
#include <Poco/SHA2Engine.h>
#include <Poco/StreamCopier.h>

#include <fstream>
#include <sstream>

namespace {

std::string readText(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

std::string sha256Of(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    Poco::SHA2Engine engine(Poco::SHA2Engine::SHA_256);
    Poco::DigestOutputStream out(engine);
    Poco::StreamCopier::copyStream(in, out);
    out.close();
    return Poco::DigestEngine::digestToHex(engine.digest());
}

class ModelCard : public ::testing::TestWithParam<const char*> {};

TEST_P(ModelCard, Sha256MatchesTheRecordedOneAndTheCard) {
    const std::string dir = std::string(PREDICTD_SOURCE_DIR) + "/model/";
    const std::string name = GetParam();
    const std::string actual = sha256Of(dir + name);
    ASSERT_EQ(actual.size(), 64u);
    const std::string recorded = readText(dir + name + ".sha256");
    EXPECT_EQ(recorded.substr(0, 64), actual) << name << ".sha256 is stale";
    EXPECT_NE(recorded.find(name.substr(name.rfind('/') + 1)), std::string::npos);
    EXPECT_NE(readText(dir + "README.md").find(actual), std::string::npos)
        << "model/README.md does not state the sha256 of " << name;
}

INSTANTIATE_TEST_SUITE_P(Committed, ModelCard,
                         ::testing::Values("mnist/1/model.onnx", "mnist-seedlike.onnx"));

}  // namespace
