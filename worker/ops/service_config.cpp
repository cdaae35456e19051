// service_config.cpp — reading and validating predictd's settings (see service_config.hpp).
#include "ops/service_config.hpp"

#include <Poco/AutoPtr.h>
#include <Poco/Exception.h>
#include <Poco/NumberParser.h>
#include <Poco/Path.h>
#include <Poco/StringTokenizer.h>
#include <Poco/Util/IniFileConfiguration.h>
#include <Poco/Util/LayeredConfiguration.h>
#include <Poco/Util/MapConfiguration.h>

#include <algorithm>
#include <stdexcept>

namespace predictd {

const char* processManagerName(ProcessManager pm) {
    switch (pm) {
        case ProcessManager::kStatic:
            return "static";
        case ProcessManager::kDynamic:
            return "dynamic";
        case ProcessManager::kOndemand:
            return "ondemand";
    }
    return "static";
}

bool resolveControlListen(const ServiceConfig& config, const ListenAddress& served,
                          std::optional<ListenAddress>* out, std::string* error) {
    out->reset();
    if (config.control_listen == "off") {
        return true;
    }
    if (config.control_listen == "auto") {
        if (served.kind != ListenAddress::Kind::kUnix) {
            return true;
        }
        ListenAddress control = served;
        const std::string suffix = ".sock";
        const std::string& p = served.path;
        control.path = p.size() > suffix.size() && p.ends_with(suffix)
                           ? p.substr(0, p.size() - suffix.size()) + "-control.sock"
                           : p + ".control";
        *out = control;
        return true;
    }
    ListenAddress control;
    if (!parseListenAddress(config.control_listen, &control, error)) {
        return false;
    }
    if (control.describe() == served.describe()) {
        *error = "must differ from server.listen";
        return false;
    }
    *out = control;
    return true;
}

bool loadServiceConfig(const std::string& ini_path,
                       const std::vector<std::pair<std::string, std::string>>& overrides,
                       ServiceConfig* out, std::string* error) {
    try {
        Poco::AutoPtr<Poco::Util::LayeredConfiguration> conf(
            new Poco::Util::LayeredConfiguration);  // NOLINT: Poco's ref-counted ownership
        Poco::AutoPtr<Poco::Util::MapConfiguration> flags(new Poco::Util::MapConfiguration);
        for (const auto& [key, value] : overrides) {
            flags->setString(key, value);
        }
        conf->add(flags, 0);
        std::string base_dir;
        if (!ini_path.empty()) {
            Poco::AutoPtr<Poco::Util::IniFileConfiguration> ini(
                new Poco::Util::IniFileConfiguration(ini_path));
            conf->add(ini, 10);
            base_dir = Poco::Path(ini_path).makeAbsolute().parent().toString();
            // A misspelt key would otherwise be ignored and its default used without a word.
            Poco::Util::AbstractConfiguration::Keys sections;
            ini->keys(sections);
            for (const auto& section : sections) {
                Poco::Util::AbstractConfiguration::Keys names;
                ini->keys(section, names);
                for (const auto& name : names) {
                    const std::string key = section + "." + name;
                    const auto& table = settingsTable();
                    if (std::none_of(table.begin(), table.end(),
                                     [&](const Setting& s) { return key == s.key; })) {
                        throw std::invalid_argument(ini_path + ": unknown setting " + key);
                    }
                }
            }
        }

        ServiceConfig c;
        c.source = ini_path.empty() ? "built-in defaults" : ini_path;
        for (const Setting& setting : settingsTable()) {
            const SettingContext ctx{base_dir, flags->has(setting.key)};
            setting.apply(c, conf->getString(setting.key, setting.fallback), ctx);
        }
        // What depends on several keys.
        std::string why;
        std::optional<ListenAddress> control;
        if (!resolveControlListen(c, c.listen, &control, &why)) {
            throw std::invalid_argument("server.control_listen: " + why);
        }
        // Spare counts above `workers` are capped at it (they cannot be reached anyway).
        c.min_spare = std::min(c.workers, c.min_spare);
        c.max_spare = std::min(c.workers, c.max_spare);
        if (c.min_spare > c.max_spare) {
            throw std::invalid_argument("pm.min_spare (" + std::to_string(c.min_spare) +
                                        ") must not exceed pm.max_spare (" +
                                        std::to_string(c.max_spare) + ")");
        }
        if (c.start_workers < 0) {  // auto
            c.start_workers = std::max(1, c.min_spare + (c.max_spare - c.min_spare) / 2);
        }
        c.start_workers = std::min(c.start_workers, c.workers);
        *out = std::move(c);
        return true;
    } catch (const Poco::Exception& e) {
        *error = e.displayText();
    } catch (const std::exception& e) {
        *error = e.what();
    }
    return false;
}

}  // namespace predictd
