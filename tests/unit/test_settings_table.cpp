// test_settings_table.cpp — the settings table is the one source: every key is documented in the
// README's configuration table (with its flag and default) and in config/predictd.ini (set to
// its default, or shown commented out), and the built-in defaults are what the table says.
#include <gtest/gtest.h>

#include <fstream>
#include <sstream>
#include <string>
#include <string_view>

#include "ops/service_config.hpp"

namespace predictd {
namespace {

std::string readText(const std::string& path) {
    std::ifstream in(path);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

// a + b + c, appended in place: `"literal" + std::string(...)` trips GCC 12's -Wrestrict false
// positive at -O3 (GCC bug 105329).
std::string cat(std::initializer_list<std::string_view> parts) {
    std::string out;
    for (const auto p : parts) {
        out.append(p);
    }
    return out;
}

// The README row of `key`, or "".
std::string readmeRow(const std::string& readme, const std::string& key) {
    const auto pos = readme.find(cat({"\n| `", key, "` |"}));
    if (pos == std::string::npos) {
        return "";
    }
    return readme.substr(pos + 1, readme.find('\n', pos + 1) - pos - 1);
}

TEST(SettingsTable, EveryKeyIsDocumentedInTheReadmeWithItsFlagAndDefault) {
    const std::string readme = readText(std::string(PREDICTD_SOURCE_DIR) + "/README.md");
    for (const Setting& s : settingsTable()) {
        const std::string row = readmeRow(readme, s.key);
        ASSERT_FALSE(row.empty()) << s.key << " has no row in the README's configuration table";
        EXPECT_NE(row.find(cat({"| `", s.flag, "` |"})), std::string::npos) << row;
        if (*s.fallback != '\0') {
            EXPECT_NE(row.find(cat({"`", s.fallback, "`"})), std::string::npos)
                << s.key << ": the README's default differs from " << s.fallback << "\n"
                << row;
        }
    }
}

TEST(SettingsTable, EveryKeyIsInTheShippedIniAtItsDefault) {
    const std::string ini = readText(std::string(PREDICTD_SOURCE_DIR) + "/config/predictd.ini");
    for (const Setting& s : settingsTable()) {
        const std::string key = s.key;
        const std::string section = cat({"[", key.substr(0, key.find('.')), "]"});
        const std::string name = key.substr(key.find('.') + 1);
        const auto start = ini.find(cat({"\n", section}));
        ASSERT_NE(start, std::string::npos) << section;
        const auto end = ini.find("\n[", start + 1);
        const std::string body = ini.substr(start, end - start);
        const std::string line = *s.fallback != '\0' ? cat({name, " = ", s.fallback})
                                                     : cat({name, " ="});  // empty: "name ="
        const bool set = body.find(cat({"\n", line, "\n"})) != std::string::npos;
        const bool shown = body.find(cat({"\n; ", name, " ="})) != std::string::npos;
        EXPECT_TRUE(set || shown) << key << " is not in config/predictd.ini's " << section
                                  << " as `" << name << " = " << s.fallback
                                  << "` (or commented out)";
    }
}

TEST(SettingsTable, BuiltInDefaultsAreTheTablesAndEveryValueShowsBack) {
    ServiceConfig c;
    std::string error;
    // Enough workers that no spare count is capped at the number of CPUs.
    ASSERT_TRUE(loadServiceConfig("", {{"server.workers", "8"}}, &c, &error)) << error;
    for (const Setting& s : settingsTable()) {
        if (std::string(s.fallback) == "auto") {
            continue;  // resolved: CPUs, the socket beside listen, the start count
        }
        EXPECT_EQ(s.show(c), s.fallback) << s.key;
    }
}

TEST(SettingsTable, FlagsAndKeysAreUnique) {
    const auto& table = settingsTable();
    for (std::size_t i = 0; i < table.size(); ++i) {
        for (std::size_t j = i + 1; j < table.size(); ++j) {
            EXPECT_STRNE(table[i].key, table[j].key);
            EXPECT_STRNE(table[i].flag, table[j].flag);
        }
    }
}

TEST(SettingsTable, AMisspeltKeyInTheIniIsAnError) {
    const std::string path = ::testing::TempDir() + "predictd-typo.ini";
    std::ofstream(path) << "[server]\nworkrs = 2\n";
    ServiceConfig c;
    std::string error;
    EXPECT_FALSE(loadServiceConfig(path, {}, &c, &error));
    EXPECT_NE(error.find("unknown setting server.workrs"), std::string::npos) << error;
}

}  // namespace
}  // namespace predictd
