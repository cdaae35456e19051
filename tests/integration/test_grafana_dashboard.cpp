// test_grafana_dashboard.cpp — grafana/predictd.json against the real /metrics: every metric
// name its PromQL expressions (panel targets and template-variable queries) use is a series the
// running service exports, after a few requests so that the labelled series exist. A panel that
// names a metric predictd does not export fails here. The extractor is tested first, on
// expressions with known answers, so that a broken extractor cannot pass an empty list.
#include <gtest/gtest.h>

#include <cctype>
#include <fstream>
#include <set>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

#include "service_harness.hpp"

namespace predictd::testing {
namespace {

bool identStart(char c) {
    return std::isalpha(static_cast<unsigned char>(c)) != 0 || c == '_' || c == ':';
}
bool identChar(char c) {
    return identStart(c) || std::isdigit(static_cast<unsigned char>(c)) != 0;
}

// Index just past the bracket matching the one at `open` ('{', '[' or '('), skipping strings.
std::size_t pastMatching(std::string_view e, std::size_t open) {
    const char o = e[open];
    const char c = o == '{' ? '}' : o == '[' ? ']' : ')';
    int depth = 0;
    for (std::size_t i = open; i < e.size(); ++i) {
        if (e[i] == '"' || e[i] == '\'' || e[i] == '`') {
            const char q = e[i];
            for (++i; i < e.size() && e[i] != q; ++i) {
                if (e[i] == '\\' && q != '`') {
                    ++i;
                }
            }
        } else if (e[i] == o) {
            ++depth;
        } else if (e[i] == c && --depth == 0) {
            return i + 1;
        }
    }
    return e.size();
}

// The metric names a PromQL expression selects. Hand-written (no PromQL parser is packaged for
// C++): a small tokenizer that skips strings, label matchers {…}, ranges […], Grafana variables
// ($x, ${x}), numbers and durations, the label lists of by/without/on/ignoring/group_left/
// group_right, keywords and aggregation operators, and function names (an identifier followed by
// '('); every other identifier is a metric name.
std::set<std::string> metricNames(std::string_view e) {
    static const std::set<std::string> kLabelLists = {"by",       "without",    "on",
                                                      "ignoring", "group_left", "group_right"};
    static const std::set<std::string> kKeywords = {
        "sum",          "min",     "max",    "avg",      "group",  "stddev",      "stdvar", "count",
        "count_values", "bottomk", "topk",   "quantile", "limitk", "limit_ratio", "and",    "or",
        "unless",       "bool",    "offset", "atan2",    "inf",    "nan"};
    std::set<std::string> names;
    std::size_t i = 0;
    const auto skipSpace = [&](std::size_t j) {
        while (j < e.size() && std::isspace(static_cast<unsigned char>(e[j])) != 0) {
            ++j;
        }
        return j;
    };
    while (i < e.size()) {
        const char c = e[i];
        if (c == '"' || c == '\'' || c == '`' || c == '{' || c == '[') {
            if (c == '{' || c == '[') {
                i = pastMatching(e, i);
            } else {
                std::size_t j = i + 1;
                while (j < e.size() && e[j] != c) {
                    j += e[j] == '\\' && c != '`' ? 2 : 1;
                }
                i = j + 1;
            }
        } else if (c == '$') {
            i = i + 1 < e.size() && e[i + 1] == '{' ? pastMatching(e, i + 1) : i + 1;
            while (i < e.size() && identChar(e[i])) {
                ++i;
            }
        } else if (std::isdigit(static_cast<unsigned char>(c)) != 0 ||
                   (c == '.' && i + 1 < e.size() &&
                    std::isdigit(static_cast<unsigned char>(e[i + 1])) != 0)) {
            while (i < e.size() && (identChar(e[i]) || e[i] == '.')) {
                ++i;  // 0.99, 1e3, 5m, 1h30m
            }
        } else if (identStart(c)) {
            std::size_t j = i;
            while (j < e.size() && identChar(e[j])) {
                ++j;
            }
            const std::string word(e.substr(i, j - i));
            const std::size_t next = skipSpace(j);
            i = j;
            if (kLabelLists.contains(word)) {
                if (next < e.size() && e[next] == '(') {
                    i = pastMatching(e, next);
                }
            } else if (!kKeywords.contains(word) && !(next < e.size() && e[next] == '(')) {
                names.insert(word);
            }
        } else {
            ++i;
        }
    }
    return names;
}

// Every PromQL expression of the dashboard: each "expr" anywhere (panels, rows' nested panels),
// and the query of each template variable, with label_values(<metric>, <label>) reduced to its
// metric (label_values(<label>) names none).
void collectExpressions(const Json::Value& node, std::vector<std::string>& out) {
    if (node.isObject()) {
        for (const std::string& key : node.getMemberNames()) {
            if (key == "expr" && node[key].isString()) {
                out.push_back(node[key].asString());
            } else {
                collectExpressions(node[key], out);
            }
        }
    } else if (node.isArray()) {
        for (const Json::Value& item : node) {
            collectExpressions(item, out);
        }
    }
}

std::vector<std::string> dashboardExpressions(const Json::Value& dashboard) {
    std::vector<std::string> out;
    collectExpressions(dashboard["panels"], out);
    for (const Json::Value& var : dashboard["templating"]["list"]) {
        if (var["type"].asString() != "query") {
            continue;
        }
        std::string q =
            var["query"].isObject() ? var["query"]["query"].asString() : var["query"].asString();
        if (q.starts_with("label_values(")) {
            const std::size_t comma = q.find(',');
            q = comma == std::string::npos ? "" : q.substr(13, comma - 13);
        }
        if (!q.empty()) {
            out.push_back(q);
        }
    }
    return out;
}

// The series names of a Prometheus text exposition (comment lines skipped).
std::set<std::string> exportedNames(const std::string& text) {
    std::set<std::string> names;
    std::istringstream in(text);
    std::string line;
    while (std::getline(in, line)) {
        if (line.empty() || line[0] == '#') {
            continue;
        }
        names.insert(line.substr(0, line.find_first_of("{ ")));
    }
    return names;
}

std::set<std::string> missingFrom(const std::vector<std::string>& expressions,
                                  const std::set<std::string>& exported) {
    std::set<std::string> missing;
    for (const std::string& expr : expressions) {
        for (const std::string& name : metricNames(expr)) {
            if (!exported.contains(name)) {
                missing.insert(name);
            }
        }
    }
    return missing;
}

Json::Value loadDashboard() {
    std::ifstream in(sourceDir() + "/grafana/predictd.json");
    Json::CharReaderBuilder builder;
    builder["rejectDupKeys"] = true;
    Json::Value doc;
    std::string errors;
    EXPECT_TRUE(Json::parseFromStream(builder, in, &doc, &errors)) << errors;
    return doc;
}

using Names = std::set<std::string>;

TEST(GrafanaDashboard, MetricNamesAreExtractedFromPromql) {
    EXPECT_EQ(metricNames("histogram_quantile(0.99, sum by (le) (rate(predictd_request_duration_"
                          "seconds_bucket{instance=~\"$instance\"}[$__rate_interval])))"),
              Names{"predictd_request_duration_seconds_bucket"});
    EXPECT_EQ(metricNames("time() - max(predictd_start_time_seconds)"),
              Names{"predictd_start_time_seconds"});
    EXPECT_EQ(metricNames("sum(rate(a_total{x=\"y} b\",z!~'w'}[5m] offset 1h)) by (route) / on "
                          "(instance) group_left(name) b_info * 1e3 > bool 0.5 unless c:rule"),
              (Names{"a_total", "b_info", "c:rule"}));
    EXPECT_EQ(metricNames("sum without (le) (x_bucket[${__range}])"), Names{"x_bucket"});
    EXPECT_EQ(metricNames("vector(1)"), Names{});
    // A misspelt metric is found missing from what the service exports.
    EXPECT_EQ(missingFrom({"rate(predictd_requests_totl[5m])", "predictd_workers"},
                          {"predictd_requests_total", "predictd_workers"}),
              Names{"predictd_requests_totl"});
    EXPECT_EQ(exportedNames("# HELP a_total x\n# TYPE a_total counter\na_total{r=\"/\"} 3\n"
                            "b_bucket{le=\"+Inf\"} 1\nc 2\n"),
              (Names{"a_total", "b_bucket", "c"}));
}

TEST(GrafanaDashboard, EveryMetricItUsesIsExported) {
    const Json::Value dashboard = loadDashboard();
    const std::vector<std::string> expressions = dashboardExpressions(dashboard);
    ASSERT_GE(expressions.size(), 10u);
    Names used;
    for (const std::string& expr : expressions) {
        const Names names = metricNames(expr);
        EXPECT_FALSE(names.empty()) << "no metric in: " << expr;
        used.insert(names.begin(), names.end());
    }
    // What the issue asks the dashboard to show: throughput, latency quantiles, workers by state,
    // restarts, listen queue, the model.
    for (const char* want :
         {"predictd_requests_total", "predictd_request_duration_seconds_bucket",
          "predictd_inference_duration_seconds_bucket", "predictd_workers",
          "predictd_worker_restarts_total", "predictd_listen_queue", "predictd_model_info"}) {
        EXPECT_TRUE(used.contains(want)) << "the dashboard does not use " << want;
    }

    PredictdService::Options options;
    options.workers = 2;
    options.model_repository = sourceDir() + "/model";
    PredictdService service(options);
    ASSERT_TRUE(service.waitReady()) << service.predictdLog();
    // A few requests, so the labelled request counters exist: good predictions, a bad body.
    for (int digit = 0; digit < 3; ++digit) {
        EXPECT_EQ(service.predictDigit(digit), digit);
    }
    EXPECT_EQ(service.post("/predict", "{}").status, 400);
    EXPECT_EQ(service.get("/models").status, 200);
    const HttpResult metrics = service.get("/metrics");
    ASSERT_EQ(metrics.status, 200) << metrics.body;
    const Names exported = exportedNames(metrics.body);
    ASSERT_TRUE(exported.contains("predictd_requests_total")) << metrics.body;

    const Names missing = missingFrom(expressions, exported);
    std::string list;
    for (const std::string& name : missing) {
        list += " " + name;
    }
    EXPECT_TRUE(missing.empty()) << "grafana/predictd.json uses metrics /metrics does not export:"
                                 << list << "\n/metrics:\n"
                                 << metrics.body;
    // Exported but shown nowhere (informational: a new metric wants a panel).
    std::string unused;
    for (const std::string& name : exported) {
        if (!used.contains(name)) {
            unused += " " + name;
        }
    }
    RecordProperty("metrics_not_on_the_dashboard", unused);
}

}  // namespace
}  // namespace predictd::testing
