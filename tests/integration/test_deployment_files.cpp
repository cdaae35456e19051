// test_deployment_files.cpp — the shipped systemd unit and NGINX site config are valid.
#include <gtest/gtest.h>

#include <cstdio>
#include <filesystem>
#include <fstream>

#include "service_harness.hpp"

namespace predictd::testing {
namespace {

struct CommandResult {
    int status = -1;
    std::string output;
};

CommandResult run(const std::string& command) {
    CommandResult r;
    FILE* p = ::popen((command + " 2>&1").c_str(), "r");
    if (p == nullptr) {
        return r;
    }
    char buf[4096];
    std::size_t n = 0;
    while ((n = std::fread(buf, 1, sizeof(buf), p)) > 0) {
        r.output.append(buf, n);
    }
    r.status = ::pclose(p);
    return r;
}

// The unit as shipped, with ExecStart pointing at the binary just built (verify checks that the
// executable exists).
std::string unitForThisBuild(const std::string& dir) {
    std::string unit = readFile(sourceDir() + "/systemd/predictd.service");
    const std::string installed = "/usr/sbin/predictd";
    auto pos = unit.find("ExecStart=" + installed);
    EXPECT_NE(pos, std::string::npos);
    unit.replace(pos + 10, installed.size(), PREDICTD_BINARY);
    std::string path = dir + "/predictd.service";
    std::ofstream(path) << unit;
    return path;
}

TEST(DeploymentFiles, SystemdUnitVerifies) {
    std::string dir = makeTempDir();
    std::string unit = unitForThisBuild(dir);
    // --man=no: the unit's Documentation= names predictd(8), which is not installed here.
    CommandResult r = run("systemd-analyze verify --man=no " + unit);
    EXPECT_EQ(r.status, 0) << r.output;
    EXPECT_EQ(r.output.find("predictd.service:"), std::string::npos) << r.output;
    std::filesystem::remove_all(dir);
}

TEST(DeploymentFiles, SystemdUnitIsHardened) {
    std::string dir = makeTempDir();
    std::string unit = unitForThisBuild(dir);
    CommandResult r = run("systemd-analyze security --offline=true " + unit);
    auto pos = r.output.find("Overall exposure level for predictd.service: ");
    ASSERT_NE(pos, std::string::npos) << r.output;
    double exposure = std::stod(r.output.substr(pos + 45));
    RecordProperty("exposure", std::to_string(exposure));
    EXPECT_LE(exposure, 2.0) << r.output;
    std::filesystem::remove_all(dir);
}

TEST(DeploymentFiles, ProductionNginxSiteParses) {
    // nginx -t on a minimal main config that includes the shipped site the way Debian does,
    // with the snippet path rewritten to the repository.
    const NginxCheck r = checkShippedNginxSite(sourceDir() + "/nginx/predictd.conf");
    EXPECT_EQ(r.status, 0) << r.output;
    EXPECT_NE(r.output.find("test is successful"), std::string::npos) << r.output;
}

TEST(DeploymentFiles, ShippedConfigValidates) {
    // --check-config also reads the model repository: the source tree's stands in for the
    // installed one.
    CommandResult r =
        run(std::string(PREDICTD_BINARY) + " --config " + sourceDir() +
            "/config/predictd.ini --model-repository " + sourceDir() + "/model --check-config");
    EXPECT_EQ(r.status, 0) << r.output;
    EXPECT_NE(r.output.find("listen = unix:/run/predictd/predictd.sock"), std::string::npos)
        << r.output;
    EXPECT_NE(r.output.find("pm = static"), std::string::npos) << r.output;
    CommandResult bad = run(std::string(PREDICTD_BINARY) + " --workers 0 --check-config");
    EXPECT_EQ(WEXITSTATUS(bad.status), 2) << bad.output;
}

}  // namespace
}  // namespace predictd::testing
