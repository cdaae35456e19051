// test_web_page.cpp — the page to try predictd (web/, served by NGINX at GET / and /ui/*) used
// as a person would, end to end: the real NGINX and supervisor with the shipped model
// repository, Debian's chromedriver and headless Chromium driven through W3C WebDriver
// (webdriver_client.hpp). Draws digits on the canvas with pointer (mouse) actions and reads the
// label shown; picks the photo model, gives it a photo through the file input and another through
// a synthetic drop on the drop zone, and reads the bars; checks the page fetched nothing from
// another origin; saves screenshots as test artefacts (<build>/test-artefacts/) and decodes them.
// Skips, saying so, when chromium or chromium-driver is not installed. Every wait is bounded.
#include <gtest/gtest.h>
#include <unistd.h>

#include <opencv2/core.hpp>
#include <opencv2/imgcodecs.hpp>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <numbers>
#include <string>
#include <utility>
#include <vector>

#include "service_harness.hpp"
#include "webdriver_client.hpp"

namespace predictd::testing {
namespace {

using namespace std::chrono_literals;

constexpr int kWindowWidth = 1100;
constexpr int kWindowHeight = 1300;

// Polls a JavaScript condition every 100 ms until it is true or `timeout` passes.
bool waitFor(WebDriverSession& browser, const std::string& condition,
             std::chrono::milliseconds timeout) {
    const auto end = std::chrono::steady_clock::now() + timeout;
    const std::string script = "return !!(" + condition + ");";
    while (std::chrono::steady_clock::now() < end) {
        if (browser.executeScript(script).asBool()) {
            return true;
        }
        ::usleep(100'000);
    }
    return browser.executeScript(script).asBool();
}

std::string statusLine(WebDriverSession& browser) {
    return browser.executeScript("return document.getElementById('status').textContent;")
        .asString();
}

using Points = std::vector<std::pair<double, double>>;

// One pen stroke through `points` (pixels from the centre of `element`), as pointer actions:
// move to the first point, press, move through the others in steps of at most 8 px, release.
Json::Value stroke(const std::string& element, const Points& points) {
    Json::Value actions(Json::arrayValue);
    const auto move = [&](double x, double y) {
        Json::Value a(Json::objectValue);
        a["type"] = "pointerMove";
        a["duration"] = 0;
        a["origin"] = WebDriverSession::elementReference(element);
        a["x"] = static_cast<int>(std::lround(x));
        a["y"] = static_cast<int>(std::lround(y));
        actions.append(a);
    };
    const auto button = [&](const char* type) {
        Json::Value a(Json::objectValue);
        a["type"] = type;
        a["button"] = 0;
        actions.append(a);
    };
    move(points.front().first, points.front().second);
    button("pointerDown");
    for (std::size_t i = 1; i < points.size(); ++i) {
        const auto [x0, y0] = points[i - 1];
        const auto [x1, y1] = points[i];
        const int steps = std::max(1, static_cast<int>(std::hypot(x1 - x0, y1 - y0) / 8));
        for (int s = 1; s <= steps; ++s) {
            const double t = static_cast<double>(s) / steps;
            move(x0 + (x1 - x0) * t, y0 + (y1 - y0) * t);
        }
    }
    button("pointerUp");
    return actions;
}

// A seven on the 280×280 pad: the top bar, then the diagonal down to the left.
const Points kSeven = {{-75, -95}, {75, -95}, {-15, 100}};

// A zero: an ellipse 120 × 190 px, closed.
Points zero() {
    Points p;
    for (int i = 0; i <= 36; ++i) {
        const double a = 2 * std::numbers::pi * i / 36;
        p.emplace_back(60 * std::sin(a), -95 * std::cos(a));
    }
    return p;
}

// Draws, waits for the answer, and returns the label the page shows.
std::string drawAndRead(WebDriverSession& browser, const Points& points) {
    const std::string pad = browser.findElement("#pad");
    browser.performPointerActions(stroke(pad, points));
    // The page predicts when the pen lifts ("predict when the pen lifts" is ticked by default).
    if (!waitFor(browser, "document.getElementById('drawing-result').dataset.state === 'done'",
                 30s)) {
        ADD_FAILURE() << "no answer for the drawing within 30 s; status: " << statusLine(browser);
        return {};
    }
    return browser.text(browser.findElement("#digit-label"));
}

// The newest result on the photo panel (listed first), once it is no longer pending: its file
// name, state and top label. Fails the test if `count` results are not there within 60 s.
struct PhotoResult {
    std::string name, state, top;
};
PhotoResult newestPhotoOf(WebDriverSession& browser, int count) {
    if (!waitFor(browser,
                 "document.querySelectorAll('.photo').length === " + std::to_string(count) +
                     " && document.querySelector('.photo').dataset.state !== 'pending'",
                 60s)) {
        ADD_FAILURE() << "no answer for photo " << count
                      << " within 60 s; status: " << statusLine(browser);
        return {};
    }
    const Json::Value v = browser.executeScript(
        "const p = document.querySelector('.photo');"
        "return [p.dataset.name, p.dataset.state, p.dataset.top || ''];");
    return {v[0].asString(), v[1].asString(), v[2].asString()};
}

// The bars a result shows: [label, width of the fill as a fraction of its track].
std::vector<std::pair<std::string, double>> bars(WebDriverSession& browser,
                                                 const std::string& list_selector) {
    const Json::Value v = browser.executeScript(
        "return Array.from(document.querySelectorAll(arguments[0] + ' li.bar')).map(li => ["
        "li.dataset.label, li.querySelector('.fill').getBoundingClientRect().width / "
        "li.querySelector('.track').getBoundingClientRect().width]);",
        [&] {
            Json::Value args(Json::arrayValue);
            args.append(list_selector);
            return args;
        }());
    std::vector<std::pair<std::string, double>> out;
    for (const Json::Value& row : v) {
        out.emplace_back(row[0].asString(), row[1].asDouble());
    }
    return out;
}

// A screenshot saved under <build>/test-artefacts/ and decoded again: a real image of the
// window's size, not blank.
cv::Mat saveScreenshot(WebDriverSession& browser, const std::string& name) {
    const std::filesystem::path dir = PREDICTD_TEST_ARTEFACT_DIR;
    std::filesystem::create_directories(dir);
    const std::string png = browser.screenshotPng();
    std::ofstream(dir / name, std::ios::binary) << png;
    ::testing::Test::RecordProperty(name, (dir / name).string());
    cv::Mat image = cv::imdecode(std::vector<uchar>(png.begin(), png.end()), cv::IMREAD_GRAYSCALE);
    EXPECT_FALSE(image.empty()) << name << " does not decode as an image";
    if (!image.empty()) {
        EXPECT_EQ(image.cols, kWindowWidth) << name;
        cv::Scalar mean;
        cv::Scalar stddev;
        cv::meanStdDev(image, mean, stddev);
        EXPECT_GT(stddev[0], 10.0) << name << " looks blank";
    }
    return image;
}

TEST(WebPage, DrawDigitsAndDropPhotosInHeadlessChromium) {
    if (!chromiumInstalled()) {
        GTEST_SKIP() << "Debian's chromium and chromium-driver are not installed "
                        "(/usr/bin/chromium, /usr/bin/chromedriver; tools/install-deps installs "
                        "them): the page is not tested in a browser";
    }
    const std::string src = sourceDir();
    const std::string photo = src + "/model/nsfw-mobilenetv2/self_check.jpg";
    const std::string dropped = src + "/model/nsfw-mobilenetv2/samples/flower.jpg";
    ASSERT_TRUE(std::filesystem::exists(photo) && std::filesystem::exists(dropped))
        << "the photo model's photos are missing: run tools/fetch-models";

    PredictdService::Options options;
    options.workers = 2;
    options.model_repository = src + "/model";
    PredictdService service(options);
    ASSERT_TRUE(service.waitReady()) << service.predictdLog();
    const std::string origin = "http://127.0.0.1:" + std::to_string(service.port());

    // The page's own answers: HTML that keeps the browser to this origin.
    HttpResult page = service.get("/");
    ASSERT_EQ(page.status, 200) << page.body;
    EXPECT_EQ(page.headers["content-type"], "text/html; charset=utf-8");
    EXPECT_NE(page.headers["content-security-policy"].find("default-src 'self'"),
              std::string::npos);
    EXPECT_EQ(page.body, readFile(src + "/web/index.html"));
    EXPECT_EQ(service.get("/ui/app.js").body, readFile(src + "/web/app.js"));

    ChromeDriver driver(service.dir());
    ASSERT_TRUE(driver.waitReady(30s)) << readFile(service.dir() + "/chromedriver.log");
    WebDriverSession browser(driver.port(), kWindowWidth, kWindowHeight);

    browser.navigate(origin + "/");
    ASSERT_TRUE(waitFor(browser, "document.body.dataset.ready === 'true'", 20s))
        << "the page did not list the models: " << statusLine(browser);
    const Json::Value listed = browser.executeScript(
        "return Array.from(document.querySelectorAll('#model option')).map(o => o.value);");
    std::vector<std::string> names;
    for (const Json::Value& n : listed) {
        names.push_back(n.asString());
    }
    EXPECT_EQ(names, (std::vector<std::string>{"mnist", "nsfw-mobilenetv2"}));
    // The default model (mnist) is selected: the drawing pad is shown.
    EXPECT_EQ(browser.executeScript("return document.getElementById('model').value;").asString(),
              "mnist");
    EXPECT_FALSE(
        browser.executeScript("return document.getElementById('draw-panel').hidden;").asBool());

    // Draw a seven with the mouse: the page shows 7, its bars (7 first and longest), latency.
    EXPECT_EQ(drawAndRead(browser, kSeven), "7");
    const auto seven_bars = bars(browser, "#digit-bars");
    ASSERT_EQ(seven_bars.size(), 5u);
    EXPECT_EQ(seven_bars.front().first, "7");
    EXPECT_GT(seven_bars.front().second, 0.5);
    for (std::size_t i = 1; i < seven_bars.size(); ++i) {
        EXPECT_LE(seven_bars[i].second, seven_bars[i - 1].second);
    }
    EXPECT_EQ(browser.text(browser.findElement("#digit-latency")).rfind("round trip ", 0), 0u);

    // Clear, then draw a zero.
    browser.click(browser.findElement("#clear"));
    EXPECT_EQ(browser.text(browser.findElement("#digit-label")), "–");
    EXPECT_EQ(drawAndRead(browser, zero()), "0");
    const cv::Mat digit_shot = saveScreenshot(browser, "web-page-digit.png");
    // The screenshot shows the drawing: the pad's area has white ink on black.
    const Json::Value rect = browser.executeScript(
        "const r = document.getElementById('pad').getBoundingClientRect();"
        "return [r.left, r.top, r.width, r.height];");
    if (!digit_shot.empty()) {
        const cv::Rect pad_area(rect[0].asInt() + 4, rect[1].asInt() + 4, rect[2].asInt() - 8,
                                rect[3].asInt() - 8);
        ASSERT_TRUE((pad_area & cv::Rect(0, 0, digit_shot.cols, digit_shot.rows)) == pad_area);
        const cv::Mat pad_pixels = digit_shot(pad_area);
        const auto area = static_cast<int>(pad_pixels.total());
        EXPECT_GT(cv::countNonZero(pad_pixels > 200), area / 50)
            << "no ink in the screenshot's pad";
        EXPECT_GT(cv::countNonZero(pad_pixels < 50), area / 2) << "the pad is not black there";
    }

    // Pick the photo model from the list: the pad goes, the drop zone stays.
    browser.click(browser.findElement("#model option[value='nsfw-mobilenetv2']"));
    ASSERT_TRUE(waitFor(browser, "document.getElementById('draw-panel').hidden", 5s));
    EXPECT_FALSE(
        browser.executeScript("return document.getElementById('photo-panel').hidden;").asBool());

    // A photo through the file input (Element Send Keys with its path).
    browser.sendKeys(browser.findElement("#files"), photo);
    const PhotoResult chosen = newestPhotoOf(browser, 1);
    EXPECT_EQ(chosen.state, "done");
    EXPECT_EQ(chosen.top, "Neutral");
    const auto photo_bars = bars(browser, ".photo:first-child");
    ASSERT_EQ(photo_bars.size(), 5u) << "the model's 5 classes";
    EXPECT_EQ(photo_bars.front().first, "Neutral");
    EXPECT_GT(photo_bars.front().second, 0.9);

    // Another dropped on the drop zone: a File in a DataTransfer, with the drag events a browser
    // fires (dragenter, dragover, drop).
    Json::Value drop_args(Json::arrayValue);
    drop_args.append(base64(readFile(dropped)));
    drop_args.append("flower.jpg");
    browser.executeScript(
        "const bytes = Uint8Array.from(atob(arguments[0]), c => c.charCodeAt(0));"
        "const data = new DataTransfer();"
        "data.items.add(new File([bytes], arguments[1], {type: 'image/jpeg'}));"
        "const zone = document.getElementById('dropzone');"
        "for (const type of ['dragenter', 'dragover', 'drop']) {"
        "  zone.dispatchEvent(new DragEvent(type, {bubbles: true, cancelable: true, "
        "dataTransfer: data}));"
        "}",
        drop_args);
    const PhotoResult dropped_result = newestPhotoOf(browser, 2);
    EXPECT_EQ(dropped_result.name, "flower.jpg");
    EXPECT_EQ(dropped_result.state, "done");
    EXPECT_EQ(dropped_result.top, "Neutral");
    EXPECT_EQ(bars(browser, ".photo:first-child").size(), 5u);

    // Nothing came from another site: every resource the page loaded is on this origin.
    const Json::Value resources =
        browser.executeScript("return performance.getEntriesByType('resource').map(e => e.name);");
    EXPECT_GE(resources.size(), 5u) << "style, script, /models and the predictions";
    for (const Json::Value& url : resources) {
        EXPECT_EQ(url.asString().rfind(origin + "/", 0), 0u) << url.asString();
    }
    saveScreenshot(browser, "web-page-photos.png");
}

}  // namespace
}  // namespace predictd::testing
