//! The main flows in a real browser: headless Chromium, driven over WebDriver (chromedriver),
//! against the server of the same build (`buendel serve --demo`) on loopback. Every page a
//! flow visits is audited with axe-core; a serious or critical finding fails the suite. A buyer
//! also places a call-off with the keyboard alone. Screenshots of each step go to
//! `target/browser-screenshots/`.
//!
//! Needs `/usr/bin/chromium`, `/usr/bin/chromedriver` (Debian's chromium, chromium-driver),
//! and `tests/browser/node_modules/axe-core` (`npm ci` in `tests/browser`). Without them the
//! tests say so and pass, except with `CI=true`, where they fail. `.ci/run` installs them. The
//! server is the binary cargo built with these tests (debug under `cargo test`): no separate
//! release build, which cost a cold CI run a quarter of its time.

mod common;

use base64::Engine;
use common::process::{free_port, Process};
use fantoccini::actions::{InputSource, KeyAction, KeyActions};
use fantoccini::key::Key;
use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::{json, Value};
use std::path::PathBuf;
use std::process::Command;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Where the clock of every server starts: a Monday, so that the deadlines below fall on
/// working days. Each phase of the flow restarts the server with a larger `BUENDEL_CLOCK_SHIFT`.
const T0: &str = "2027-01-11T08:00:00Z";
/// The demo's open demand call ends 14 days after loading; the officer closes it in phase 2.
const SHIFT_CALL_CLOSED: i64 = 15;
/// Published on day 15, the bid deadline (day 46, 12:00) is 31 days later (§ 15 VgV: 30 days
/// with electronic submission); phase 3 opens on day 47.
const BID_DEADLINE_DATE: &str = "2027-02-26";
const SHIFT_DEADLINE_PASSED: i64 = 47;
/// The award on day 47 starts the 10-day standstill (§ 134 GWB), which ends on day 57; phase 4
/// concludes on day 62.
const SHIFT_STANDSTILL_PASSED: i64 = 62;

const SECRET: &str = "ZmFrZS1rZXktZm9yLXRlc3RzLW9ubHktZmFrZS1rZXktZm9yLXRlc3RzLW9ubHktZmFrZS1rZXktZm9yLXRlc3Rz";
const DEMO_PASSWORD: &str = "Demo-Passwort-2026";

const CALL_TITLE: &str = "IT-Arbeitsplatzausstattung";
const NEW_VENDOR: &str = "Taunus Testlieferant GmbH";
const NEW_VENDOR_EMAIL: &str = "angebote@taunus-testlieferant.example";
const NEW_VENDOR_PASSWORD: &str = "Bieter-Passwort-2027";

/// Chromium is heavy on two cores: the tests of this file run one after the other.
static SERIAL: Mutex<()> = Mutex::new(());

fn manifest_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// What the suite needs outside Cargo.
struct Tools {
    chromium: PathBuf,
    chromedriver: PathBuf,
    server: PathBuf,
    axe: String,
}

impl Tools {
    /// The tools, or `None` (after saying why) when one is missing outside CI.
    fn find() -> Option<Tools> {
        let root = manifest_dir();
        let chromium = PathBuf::from("/usr/bin/chromium");
        let chromedriver = PathBuf::from("/usr/bin/chromedriver");
        let server = PathBuf::from(env!("CARGO_BIN_EXE_buendel"));
        let axe_path = root.join("tests/browser/node_modules/axe-core/axe.min.js");
        let mut missing = Vec::new();
        for (path, how) in [
            (&chromium, "apt-get install chromium"),
            (&chromedriver, "apt-get install chromium-driver"),
            (&server, "cargo build --bin buendel"),
            (&axe_path, "npm ci --prefix tests/browser"),
        ] {
            if !path.exists() {
                missing.push(format!("{} fehlt ({how})", path.display()));
            }
        }
        if !missing.is_empty() {
            let message = format!("Browsertests: {}", missing.join("; "));
            if std::env::var("CI").is_ok_and(|v| v == "true") {
                panic!("{message} – mit CI=true ist das ein Fehler.");
            }
            eprintln!("{message} – übersprungen.");
            return None;
        }
        let axe = std::fs::read_to_string(&axe_path).expect("read axe.min.js");
        Some(Tools {
            chromium,
            chromedriver,
            server,
            axe,
        })
    }
}

/// One audited browser with its chromedriver and the server it talks to.
struct Suite {
    tools: Tools,
    work: tempfile::TempDir,
    shots: PathBuf,
    prefix: &'static str,
    step: u32,
    wd: Client,
    base: String,
    server: Option<Process>,
    _driver: Process,
    /// Serious and critical axe findings, one block per page; checked at the end.
    findings: Vec<String>,
    audited: u32,
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("tokio runtime")
}

impl Suite {
    async fn new(tools: Tools, prefix: &'static str) -> Suite {
        let work = tempfile::tempdir().expect("temp folder of the browser suite");
        let shots = manifest_dir().join("target/browser-screenshots");
        std::fs::create_dir_all(&shots).expect("create target/browser-screenshots");
        // Old screenshots of this test only; the other test's stay.
        for entry in std::fs::read_dir(&shots).expect("list screenshots").flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            let ours = if prefix.is_empty() {
                name.starts_with(|c: char| c.is_ascii_digit())
            } else {
                name.starts_with(prefix)
            };
            if ours && name.ends_with(".png") {
                let _ = std::fs::remove_file(entry.path());
            }
        }

        let port = free_port();
        let mut cmd = Command::new(&tools.chromedriver);
        cmd.arg(format!("--port={port}"));
        let driver = Process::start(
            "chromedriver",
            cmd,
            port,
            &work.path().join("logs"),
            Duration::from_secs(30),
        );
        let profile = work.path().join("profile");
        let caps = json!({
            "browserName": "chrome",
            "goog:chromeOptions": {
                "binary": tools.chromium,
                "args": [
                    "--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu",
                    "--window-size=1280,1000", "--lang=de-DE", "--no-first-run",
                    "--disable-extensions", "--disable-background-networking",
                    // No smooth scrolling (app.css honours it): clicks land where the element is.
                    "--force-prefers-reduced-motion",
                    format!("--user-data-dir={}", profile.display()),
                ],
            },
        });
        let caps = match caps {
            Value::Object(map) => map,
            _ => unreachable!("capabilities are an object"),
        };
        let wd = ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new())
            .capabilities(caps)
            .connect(&format!("http://127.0.0.1:{port}"))
            .await
            .expect("start a Chromium session through chromedriver");
        Suite {
            tools,
            work,
            shots,
            prefix,
            step: 0,
            wd,
            base: String::new(),
            server: None,
            _driver: driver,
            findings: Vec::new(),
            audited: 0,
        }
    }

    /// (Re)starts the server on the suite's data folder with the clock at `T0 + shift_days`.
    fn start_server(&mut self, shift_days: i64) {
        if let Some(mut old) = self.server.take() {
            old.stop();
        }
        let port = free_port();
        let data = self.work.path().join("data");
        let mut cmd = Command::new(&self.tools.server);
        cmd.args(["serve", "--demo"])
            .current_dir(manifest_dir())
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("DATABASE_URL", self.work.path().join("buendel.db"))
            .env("BUENDEL_DATA_DIR", &data)
            .env("BUENDEL_ADDRESS", "127.0.0.1")
            .env("BUENDEL_PORT", port.to_string())
            .env("BUENDEL_SECRET_KEY", SECRET)
            .env("BUENDEL_MAIL_TRANSPORT", "stub")
            .env("BUENDEL_NOW", T0)
            .env("BUENDEL_CLOCK_SHIFT", format!("+{shift_days}d"));
        let name = format!("buendel-tag-{shift_days}");
        self.server = Some(Process::start(
            &name,
            cmd,
            port,
            &self.work.path().join("logs"),
            Duration::from_secs(60),
        ));
        self.base = format!("http://127.0.0.1:{port}");
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    async fn goto(&self, path: &str) {
        self.wd
            .goto(&self.url(path))
            .await
            .unwrap_or_else(|e| panic!("open {path}: {e}"));
    }

    async fn path(&self) -> String {
        let url = self.wd.current_url().await.expect("current URL");
        url.path().to_string()
    }

    /// The id in the address, e.g. 7 in `/ausschreibungen/7/wertung` after `/ausschreibungen/`.
    async fn id_after(&self, prefix: &str) -> i64 {
        let path = self.path().await;
        path.strip_prefix(prefix)
            .and_then(|rest| rest.split('/').next())
            .and_then(|id| id.parse().ok())
            .unwrap_or_else(|| panic!("no id after {prefix} in {path}"))
    }

    async fn text(&self) -> String {
        self.wd
            .find(Locator::Css("body"))
            .await
            .expect("page body")
            .text()
            .await
            .expect("page text")
    }

    async fn expect_text(&self, what: &str) {
        let text = self.text().await;
        assert!(
            text.contains(what),
            "expected „{what}“ on {}:\n{text}",
            self.path().await
        );
    }

    /// The page confirms the last action (a success message, no error summary).
    async fn expect_success(&self, step: &str) {
        let text = self.text().await;
        let errors = self
            .wd
            .find_all(Locator::Css(".error-summary, .flash-error"))
            .await
            .expect("errors");
        assert!(
            errors.is_empty(),
            "{step}: the page shows an error ({}):\n{text}",
            self.path().await
        );
        let ok = self.wd.find_all(Locator::Css(".flash-success")).await.expect("flash");
        assert!(
            !ok.is_empty(),
            "{step}: no success message on {}:\n{text}",
            self.path().await
        );
    }

    async fn find(&self, css: &str) -> fantoccini::elements::Element {
        match self.wd.find(Locator::Css(css)).await {
            Ok(element) => element,
            Err(e) => panic!("no {css} on {}: {e}", self.path().await),
        }
    }

    async fn fill(&self, css: &str, value: &str) {
        let field = self.find(css).await;
        field.clear().await.unwrap_or_else(|e| panic!("clear {css}: {e}"));
        field
            .send_keys(value)
            .await
            .unwrap_or_else(|e| panic!("type into {css}: {e}"));
    }

    /// Sets a date or time field directly: typing into them depends on the browser's locale.
    async fn set_value(&self, css: &str, value: &str) {
        let field = self.find(css).await;
        self.wd
            .execute(
                "arguments[0].value = arguments[1];",
                vec![serde_json::to_value(&field).expect("element"), json!(value)],
            )
            .await
            .unwrap_or_else(|e| panic!("set {css}: {e}"));
    }

    /// Scrolls `element` to the middle of the window and clicks it.
    async fn click(&self, element: &fantoccini::elements::Element, what: &str) {
        self.wd
            .execute(
                "arguments[0].scrollIntoView({block: 'center', behavior: 'instant'});",
                vec![serde_json::to_value(element).expect("element")],
            )
            .await
            .unwrap_or_else(|e| panic!("scroll to {what}: {e}"));
        if let Err(e) = element.click().await {
            let why = self
                .wd
                .execute(
                    "const r = arguments[0].getBoundingClientRect(); \
                     const o = document.elementFromPoint(r.x + r.width / 2, r.y + r.height / 2); \
                     return [innerWidth, innerHeight, scrollY, r.top, o ? o.outerHTML.slice(0, 200) : null];",
                    vec![serde_json::to_value(element).expect("element")],
                )
                .await;
            panic!("click {what}: {e:?}\n{why:?}");
        }
    }

    /// Marks the current page, so that `wait_for_new_page` can tell it from the next one.
    async fn mark_page(&self) {
        self.wd
            .execute("window.__buendelStale = true;", vec![])
            .await
            .expect("mark the page");
    }

    /// Waits until the marked page has been replaced by a fully loaded new one.
    async fn wait_for_new_page(&self, what: &str) {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let fresh = self
                .wd
                .execute(
                    "return !window.__buendelStale && document.readyState === 'complete';",
                    vec![],
                )
                .await
                .unwrap_or(Value::Bool(false));
            if fresh == Value::Bool(true) {
                return;
            }
            assert!(Instant::now() < deadline, "{what}: no new page");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Clicks and waits until the next page has loaded.
    async fn click_and_wait(&self, element: fantoccini::elements::Element, what: &str) {
        self.mark_page().await;
        self.click(&element, what).await;
        self.wait_for_new_page(what).await;
    }

    /// Presses the submit button labelled `label` (the first whose text starts with it).
    async fn press(&self, label: &str) {
        let xpath = format!("//button[starts-with(normalize-space(.), '{label}')]");
        let button = match self.wd.find(Locator::XPath(&xpath)).await {
            Ok(button) => button,
            Err(e) => panic!(
                "no button „{label}“ on {}: {e}\n{}",
                self.path().await,
                self.text().await
            ),
        };
        self.click_and_wait(button, label).await;
    }

    /// Follows the first link whose text contains `text`.
    async fn follow(&self, text: &str) {
        let xpath = format!("//a[contains(normalize-space(.), '{text}')]");
        let link = match self.wd.find(Locator::XPath(&xpath)).await {
            Ok(link) => link,
            Err(e) => panic!("no link „{text}“ on {}: {e}\n{}", self.path().await, self.text().await),
        };
        self.click_and_wait(link, text).await;
    }

    /// Logs in through the login page, logging out whoever is logged in first.
    async fn login(&self, email: &str, password: &str) {
        self.goto("/anmelden").await;
        let logout = self
            .wd
            .find_all(Locator::XPath("//button[normalize-space(.)='Abmelden']"))
            .await
            .expect("find logout");
        if let Some(button) = logout.into_iter().next() {
            self.click_and_wait(button, "Abmelden").await;
            self.goto("/anmelden").await;
        }
        self.fill("#feld-email", email).await;
        self.fill("#feld-password", password).await;
        self.press("Anmelden").await;
        let text = self.text().await;
        assert!(text.contains("Abmelden"), "login {email} failed:\n{text}");
    }

    /// A screenshot of the whole page and the axe audit of it: one step of a flow.
    async fn step(&mut self, name: &str) {
        self.step += 1;
        let file = self.shots.join(format!("{}{:02}-{name}.png", self.prefix, self.step));
        // The whole page, not only the window: Chromium's own screenshot command.
        let metrics = self
            .wd
            .issue_cmd(Cdp::new("Page.getLayoutMetrics", json!({})))
            .await
            .expect("page size");
        let size = &metrics["cssContentSize"];
        let shot = self
            .wd
            .issue_cmd(Cdp::new(
                "Page.captureScreenshot",
                json!({
                    "format": "png",
                    "captureBeyondViewport": true,
                    "clip": { "x": 0, "y": 0, "scale": 1,
                              "width": size["width"].as_f64().unwrap_or(1280.0),
                              "height": size["height"].as_f64().unwrap_or(1000.0).min(8000.0) },
                }),
            ))
            .await
            .expect("screenshot");
        let png = base64::engine::general_purpose::STANDARD
            .decode(shot["data"].as_str().expect("screenshot data"))
            .expect("screenshot as base64");
        std::fs::write(&file, png).expect("write screenshot");
        // Capturing beyond the window leaves the page laid out for the whole height.
        let _ = self
            .wd
            .issue_cmd(Cdp::new("Emulation.clearDeviceMetricsOverride", json!({})))
            .await;
        self.audit(name).await;
    }

    /// The violations axe-core finds in the page: rule id, impact, help and the selectors.
    async fn axe(&self, name: &str) -> Vec<Value> {
        self.wd.execute(&self.tools.axe, vec![]).await.expect("inject axe-core");
        let result = self
            .wd
            .execute_async(
                r#"const done = arguments[arguments.length - 1];
                axe.run(document, { resultTypes: ['violations'] })
                  .then(r => done(r.violations.map(v => ({
                      id: v.id, impact: v.impact, help: v.help,
                      nodes: v.nodes.map(n => n.target.join(' ')) }))))
                  .catch(e => done({ error: String(e) }));"#,
                vec![],
            )
            .await
            .expect("run axe-core");
        if let Some(error) = result.get("error") {
            panic!("axe-core failed on {name}: {error}");
        }
        result.as_array().cloned().unwrap_or_default()
    }

    /// The audit can fail: a page with an image without text and an unlabelled field has
    /// critical findings.
    async fn audit_finds_known_violations(&self) {
        let page = "<!doctype html><html lang=\"de\"><title>Prüfseite</title><main><h1>Prüfseite</h1>\
                    <img src=\"bild.png\"><input name=\"ohne-beschriftung\"></main></html>";
        let url = format!(
            "data:text/html;charset=utf-8,{}",
            url::form_urlencoded::byte_serialize(page.as_bytes())
                .collect::<String>()
                .replace('+', "%20")
        );
        self.wd.goto(&url).await.expect("open the test page");
        let found: Vec<String> = self
            .axe("Prüfseite")
            .await
            .iter()
            .filter(|v| matches!(v["impact"].as_str(), Some("serious" | "critical")))
            .filter_map(|v| v["id"].as_str().map(str::to_string))
            .collect();
        assert!(
            found.iter().any(|id| id == "image-alt") && found.iter().any(|id| id == "label"),
            "axe-core misses known violations: {found:?}"
        );
    }

    /// Runs axe-core in the page; keeps the serious and critical findings.
    async fn audit(&mut self, name: &str) {
        let violations = self.axe(name).await;
        self.audited += 1;
        let path = self.path().await;
        let mut block = String::new();
        for v in &violations {
            let impact = v["impact"].as_str().unwrap_or("");
            let nodes: Vec<&str> = v["nodes"]
                .as_array()
                .map(|n| n.iter().filter_map(Value::as_str).collect())
                .unwrap_or_default();
            let line = format!(
                "  [{impact}] {}: {} – {}",
                v["id"].as_str().unwrap_or("?"),
                v["help"].as_str().unwrap_or(""),
                nodes.join(", ")
            );
            if impact == "serious" || impact == "critical" {
                eprintln!("axe ({name}, {path}):{line}");
                block.push_str(&line);
                block.push('\n');
            } else {
                eprintln!("axe ({name}, {path}, nicht blockierend):{line}");
            }
        }
        if !block.is_empty() {
            self.findings.push(format!("{name} ({path}):\n{block}"));
        }
    }

    /// Fails with every serious or critical finding of every page.
    fn assert_accessible(&self) {
        assert!(self.audited > 0, "no page was audited");
        assert!(
            self.findings.is_empty(),
            "axe-core: {} von {} Seiten mit ernsten oder kritischen Befunden:\n{}",
            self.findings.len(),
            self.audited,
            self.findings.join("\n")
        );
        eprintln!("axe-core: {} Seiten ohne ernste oder kritische Befunde.", self.audited);
    }

    async fn finish(mut self) {
        self.assert_accessible();
        let _ = self.wd.clone().close().await;
        if let Some(mut server) = self.server.take() {
            server.stop();
        }
    }
}

/// A Chrome DevTools command through chromedriver (full-page screenshots).
#[derive(Debug)]
struct Cdp {
    cmd: &'static str,
    params: Value,
}

impl Cdp {
    fn new(cmd: &'static str, params: Value) -> Cdp {
        Cdp { cmd, params }
    }
}

impl fantoccini::wd::WebDriverCompatibleCommand for Cdp {
    fn endpoint(&self, base: &url::Url, session: Option<&str>) -> Result<url::Url, url::ParseError> {
        base.join(&format!("session/{}/goog/cdp/execute", session.unwrap_or_default()))
    }

    fn method_and_body(&self, _: &url::Url) -> (http::Method, Option<String>) {
        let body = json!({ "cmd": self.cmd, "params": self.params });
        (http::Method::POST, Some(body.to_string()))
    }
}

/// A German VAT id `DE` + 8 digits + the ISO 7064 MOD 11,10 check digit.
fn vat_id(digits: &str) -> String {
    let mut product = 10;
    for d in digits.chars().filter_map(|c| c.to_digit(10)) {
        let mut sum = (d + product) % 10;
        if sum == 0 {
            sum = 10;
        }
        product = (2 * sum) % 11;
    }
    let check = (11 - product) % 10;
    format!("DE{digits}{check}")
}

// ------------------------------------------------------------------------------------------
// The main flow: registration to call-off, in four phases of the configured clock.
// ------------------------------------------------------------------------------------------

#[test]
fn main_flows_in_a_browser_without_accessibility_findings() {
    let Some(tools) = Tools::find() else { return };
    let _serial = SERIAL.lock().unwrap_or_else(|p| p.into_inner());
    let started = Instant::now();
    runtime().block_on(main_flows(tools));
    eprintln!("Hauptablauf im Browser: {:.1} s", started.elapsed().as_secs_f64());
}

async fn main_flows(tools: Tools) {
    let mut s = Suite::new(tools, "").await;
    s.audit_finds_known_violations().await;

    // Phase 1, day 0: registration, approval, demand.
    s.start_server(0);
    vendor_registers_and_is_approved(&mut s).await;
    let call = members_answer_the_demand_call(&mut s).await;

    // Phase 2, day 15: the call's deadline has passed.
    s.start_server(SHIFT_CALL_CLOSED);
    let tender = officer_closes_the_call_and_publishes_a_tender(&mut s, call).await;
    vendors_bid(&mut s, tender).await;

    // Phase 3, day 47: the bid deadline has passed.
    s.start_server(SHIFT_DEADLINE_PASSED);
    two_officers_open(&mut s, tender).await;
    officer_evaluates_and_awards(&mut s, tender).await;

    // Phase 4, day 62: the standstill is over.
    s.start_server(SHIFT_STANDSTILL_PASSED);
    let contract = officer_concludes_the_contract(&mut s, tender).await;
    buyer_calls_off(&mut s, &contract).await;
    board_sees_the_savings(&mut s, &contract).await;

    s.finish().await;
}

async fn vendor_registers_and_is_approved(s: &mut Suite) {
    s.goto("/registrieren").await;
    s.step("registrierung-formular").await;
    // Sent empty first: the error summary and the marked fields are audited too.
    s.press("Registrierung absenden").await;
    s.find(".error-summary").await;
    s.step("registrierung-fehler").await;
    s.fill("#feld-name", NEW_VENDOR).await;
    s.fill("#feld-street", "Bahnhofstraße 12").await;
    s.fill("#feld-postal_code", "61348").await;
    s.fill("#feld-city", "Bad Homburg vor der Höhe").await;
    s.fill("#feld-vat_id", &vat_id("27182818")).await;
    s.fill("#feld-contact_email", NEW_VENDOR_EMAIL).await;
    s.fill("#feld-person_name", "Lena Vogt").await;
    s.fill("#feld-email", NEW_VENDOR_EMAIL).await;
    s.fill("#feld-password", NEW_VENDOR_PASSWORD).await;
    s.fill("#feld-password_repeat", NEW_VENDOR_PASSWORD).await;
    s.press("Registrierung absenden").await;
    s.expect_text("Registrierung eingegangen").await;
    s.step("registrierung-eingegangen").await;

    s.login("admin@buendel.example", DEMO_PASSWORD).await;
    s.step("admin-startseite").await;
    s.goto("/verwaltung/lieferanten").await;
    s.step("admin-lieferanten").await;
    s.follow(NEW_VENDOR).await;
    s.expect_text("wartet auf Freigabe").await;
    s.press("Freigeben").await;
    s.expect_success("approve the vendor").await;
    s.step("lieferant-freigegeben").await;
}

/// Two members answer the demo's open call: TU Darmstadt by form, Marburg-Biedenkopf by CSV.
async fn members_answer_the_demand_call(s: &mut Suite) -> i64 {
    s.login("einkauf@tu-darmstadt.example", DEMO_PASSWORD).await;
    s.goto("/bedarf").await;
    s.step("einkauf-bedarfsabfragen").await;
    s.follow(CALL_TITLE).await;
    let call = s.id_after("/bedarf/").await;
    let quantities =
        s.wd.find_all(Locator::Css("input[id^='feld-q_']"))
            .await
            .expect("quantity fields");
    let prices =
        s.wd.find_all(Locator::Css("input[id^='feld-p_']"))
            .await
            .expect("price fields");
    assert!(quantities.len() >= 8, "the demo call has its 8 positions");
    for (i, (q, p)) in [("400", "939,00"), ("40", "1629,00"), ("500", "146,00")]
        .iter()
        .enumerate()
    {
        quantities[i].send_keys(q).await.expect("type a quantity");
        prices[i].send_keys(p).await.expect("type a price");
    }
    s.press("Bedarf speichern").await;
    s.expect_success("demand by form").await;
    s.step("bedarf-per-formular").await;

    s.login("beschaffung@marburg-biedenkopf.example", DEMO_PASSWORD).await;
    s.goto(&format!("/bedarf/{call}")).await;
    let csv = s.work.path().join("bedarf-marburg-biedenkopf.csv");
    std::fs::write(
        &csv,
        "Pos.;Menge;Referenzpreis (EUR netto)\r\n1;250;955,00\r\n3;300;147,50\r\n8;250;105,00\r\n",
    )
    .expect("write the demand CSV");
    s.find("#feld-file")
        .await
        .send_keys(&csv.to_string_lossy())
        .await
        .expect("choose the CSV file");
    s.press("Datei hochladen").await;
    s.expect_success("demand by CSV").await;
    s.step("bedarf-per-csv").await;
    call
}

async fn officer_closes_the_call_and_publishes_a_tender(s: &mut Suite, call: i64) -> i64 {
    s.login("vergabe@buendel.example", DEMO_PASSWORD).await;
    s.goto(&format!("/bedarf/{call}")).await;
    s.expect_text("6 von").await;
    s.press("Abschließen").await;
    s.expect_success("close the call").await;
    s.step("bedarf-abgeschlossen").await;
    s.goto(&format!("/bedarf/{call}/auswertung")).await;
    s.step("bedarf-auswertung").await;

    s.goto("/ausschreibungen").await;
    s.find("#feld-bedarf")
        .await
        .select_by_value(&call.to_string())
        .await
        .expect("choose the closed call");
    s.press("Ausschreibung vorbereiten").await;
    s.set_value("#feld-deadline_date", BID_DEADLINE_DATE).await;
    s.step("ausschreibung-formular").await;
    s.press("Entwurf anlegen").await;
    s.expect_success("create the tender").await;
    let tender = s.id_after("/ausschreibungen/").await;
    s.step("ausschreibung-entwurf").await;
    s.press("Veröffentlichen").await;
    s.expect_success("publish the tender").await;
    s.step("ausschreibung-veroeffentlicht").await;
    tender
}

/// Unit prices of the 8 positions of the demo call, in its order, a little under the members'
/// reference prices.
const PRICES: [&str; 8] = [
    "889,00", "1.459,00", "134,90", "214,00", "166,00", "29,90", "54,50", "89,00",
];

async fn vendors_bid(s: &mut Suite, tender: i64) {
    for (n, (email, password, factor)) in [
        (NEW_VENDOR_EMAIL, NEW_VENDOR_PASSWORD, 100u32),
        ("vertrieb@mainbogen-systemhaus.example", DEMO_PASSWORD, 103),
    ]
    .into_iter()
    .enumerate()
    {
        s.login(email, password).await;
        s.goto(&format!("/ausschreibungen/{tender}")).await;
        s.step(&format!("bieter{}-ausschreibung", n + 1)).await;
        s.follow("Angebot abgeben").await;
        for lot in s.wd.find_all(Locator::Css("input[name='lot']")).await.expect("lots") {
            s.click(&lot, "bid on the lot").await;
        }
        let fields =
            s.wd.find_all(Locator::Css("input[id^='feld-p_']"))
                .await
                .expect("price fields");
        assert_eq!(fields.len(), PRICES.len(), "one price per position");
        for (field, price) in fields.iter().zip(PRICES) {
            field
                .send_keys(&scaled_price(price, factor))
                .await
                .expect("type a unit price");
        }
        for a in
            s.wd.find_all(Locator::Css("input[id^='feld-a_']"))
                .await
                .expect("A criteria")
        {
            s.click(&a, "confirm an A criterion").await;
        }
        for (i, b) in
            s.wd.find_all(Locator::Css("textarea[id^='feld-b_']"))
                .await
                .expect("B criteria")
                .into_iter()
                .enumerate()
        {
            b.send_keys(&format!(
                "Konzept {} des Bieters {}: Service vor Ort, Rücknahme der Altgeräte.",
                i + 1,
                n + 1
            ))
            .await
            .expect("describe a B criterion");
        }
        s.step(&format!("bieter{}-angebot-formular", n + 1)).await;
        s.press("Angebot verbindlich abgeben").await;
        s.expect_success("submit a bid").await;
        s.expect_text("Quittung").await;
        s.step(&format!("bieter{}-quittung", n + 1)).await;
    }
}

/// `price` (German, two places) × `percent` / 100, to the cent.
fn scaled_price(price: &str, percent: u32) -> String {
    let cents: u64 = price.replace(['.', ','], "").parse().expect("price in cents");
    let scaled = (cents * u64::from(percent) + 50) / 100;
    format!("{},{:02}", scaled / 100, scaled % 100)
}

async fn two_officers_open(s: &mut Suite, tender: i64) {
    s.login("vergabe@buendel.example", DEMO_PASSWORD).await;
    s.goto(&format!("/ausschreibungen/{tender}")).await;
    s.expect_text("Eingegangene Angebote: 2").await;
    s.press("Öffnung beginnen").await;
    s.expect_text("Eine zweite Person der Vergabestelle muss sie bestätigen")
        .await;
    s.step("oeffnung-begonnen").await;

    s.login("vergabe2@buendel.example", DEMO_PASSWORD).await;
    s.goto(&format!("/ausschreibungen/{tender}")).await;
    s.press("Öffnung bestätigen").await;
    s.expect_success("confirm the opening").await;
    s.step("oeffnung-bestaetigt").await;
    s.follow("Niederschrift der Öffnung").await;
    s.expect_text(NEW_VENDOR).await;
    s.step("oeffnungsniederschrift").await;
}

async fn officer_evaluates_and_awards(s: &mut Suite, tender: i64) {
    s.login("vergabe@buendel.example", DEMO_PASSWORD).await;
    let wertung = format!("/ausschreibungen/{tender}/wertung");
    s.goto(&wertung).await;
    s.step("wertung").await;
    let mut links = Vec::new();
    for a in
        s.wd.find_all(Locator::XPath(
            "//a[starts-with(normalize-space(.), 'Bewerten oder ausschließen')]",
        ))
        .await
        .expect("scoring links")
    {
        links.push(a.attr("href").await.expect("href").expect("scoring link target"));
    }
    assert_eq!(links.len(), 2, "both bids are ranked");
    for (n, (href, scores)) in links.iter().zip([("8", "7"), ("6", "9")]).enumerate() {
        s.goto(href).await;
        s.fill("#feld-score_1", scores.0).await;
        s.fill(
            "#feld-reason_1",
            "Servicekonzept nachvollziehbar, Reaktionszeiten belegt.",
        )
        .await;
        s.fill("#feld-score_2", scores.1).await;
        s.fill("#feld-reason_2", "Rücknahme und Verpackung überzeugend beschrieben.")
            .await;
        s.step(&format!("bewertung-angebot{}", n + 1)).await;
        s.press("Bewertung speichern").await;
        s.expect_success("score a bid").await;
    }
    s.goto(&wertung).await;
    s.follow("Preisspiegel").await;
    s.step("preisspiegel").await;
    s.goto(&wertung).await;
    s.press("Zuschlag beschließen").await;
    s.expect_success("award").await;
    s.expect_text("Information nach § 134 GWB und Wartefrist").await;
    // The background sender sends the § 134 letter within seconds; the standstill runs from
    // that sending, and the page then shows how it was counted.
    let mut sent = false;
    for _ in 0..40 {
        s.goto(&wertung).await;
        if s.text().await.contains("Fristende") {
            sent = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    }
    assert!(sent, "the § 134 letter was not sent within 20 s:\n{}", s.text().await);
    s.step("zuschlag").await;
}

/// The contract's number and address.
struct Contract {
    number: String,
    path: String,
}

async fn officer_concludes_the_contract(s: &mut Suite, tender: i64) -> Contract {
    s.login("vergabe@buendel.example", DEMO_PASSWORD).await;
    s.goto(&format!("/ausschreibungen/{tender}/wertung")).await;
    s.press("Rahmenvereinbarung schließen").await;
    s.expect_success("conclude the contract").await;
    let path = s.path().await;
    assert!(path.starts_with("/vertraege/"), "concluding shows the contract: {path}");
    let heading = s.find("h1").await.text().await.expect("contract heading");
    let number = heading
        .strip_prefix("Rahmenvereinbarung ")
        .unwrap_or_else(|| panic!("contract heading: {heading}"))
        .to_string();
    s.step("vertrag-geschlossen").await;
    Contract { number, path }
}

async fn buyer_calls_off(s: &mut Suite, contract: &Contract) {
    s.login("einkauf@tu-darmstadt.example", DEMO_PASSWORD).await;
    s.goto("/vertraege").await;
    s.step("einkauf-vertraege").await;
    s.follow(&contract.number).await;
    assert_eq!(
        s.path().await,
        contract.path,
        "the buyer's register links the new contract"
    );
    s.fill("input[id^='feld-q_']", "25").await;
    s.fill(
        "#feld-delivery_address",
        "Technische Universität Darmstadt, Hochschulrechenzentrum, Karolinenplatz 5, 64289 Darmstadt",
    )
    .await;
    s.fill("#feld-cost_centre", "HRZ-4711").await;
    s.step("abruf-formular").await;
    s.press("Verbindlich abrufen").await;
    s.expect_success("call off").await;
    s.step("abruf").await;
}

/// The board's view at the end of the flow: the savings dashboard lists the new contract with
/// the called-off volume and the realised saving of this call-off, and the register counts it
/// towards utilisation.
async fn board_sees_the_savings(s: &mut Suite, contract: &Contract) {
    s.login("vorstand@buendel.example", DEMO_PASSWORD).await;
    s.goto("/").await;
    s.step("vorstand-startseite").await;
    s.goto("/vertraege").await;
    let row =
        s.wd.find(Locator::XPath(&format!(
            "//tr[.//a[normalize-space(.)='{}']]",
            contract.number
        )))
        .await
        .expect("the board sees the new contract in the register")
        .text()
        .await
        .expect("register row");
    assert!(row.contains("aktiv"), "the contract is active: {row}");
    assert!(
        !row.contains(" 0,00 %"),
        "the call-off counts towards utilisation: {row}"
    );
    s.step("vorstand-vertraege").await;
    s.goto("/auswertung").await;
    // The table "by contract": label, volume, realised saving, rate, contracted, lines.
    let cells: Vec<String> = {
        let row =
            s.wd.find(Locator::XPath(&format!(
                "//table[contains(caption, 'Nach Rahmenvereinbarung')]//tr[th[@scope='row'][contains(., '{}')]]",
                contract.number
            )))
            .await
            .expect("the savings dashboard has a row for the new contract");
        let mut texts = Vec::new();
        for td in row.find_all(Locator::Css("td")).await.expect("cells") {
            texts.push(td.text().await.expect("cell text"));
        }
        texts
    };
    assert!(cells.len() >= 2, "volume and saving columns: {cells:?}");
    assert_ne!(cells[0].trim(), "0,00 €", "the call-off's volume is counted: {cells:?}");
    assert_ne!(
        cells[1].trim(),
        "0,00 €",
        "its saving against the reference is shown: {cells:?}"
    );
    s.step("vorstand-einsparungen").await;
}

// ------------------------------------------------------------------------------------------
// Keyboard only: a buyer logs in and places a call-off with Tab, Shift+Tab, Enter and typing.
// ------------------------------------------------------------------------------------------

#[test]
fn a_buyer_places_a_call_off_with_the_keyboard_alone() {
    let Some(tools) = Tools::find() else { return };
    let _serial = SERIAL.lock().unwrap_or_else(|p| p.into_inner());
    let started = Instant::now();
    runtime().block_on(keyboard_flow(tools));
    eprintln!("Tastaturablauf im Browser: {:.1} s", started.elapsed().as_secs_f64());
}

/// What the focused element is and how it looks, and how the previously focused one looks now.
#[derive(Debug, serde::Deserialize)]
struct Focus {
    /// Unique per element of the page (a data attribute the script sets).
    key: String,
    id: String,
    tag: String,
    label: String,
    href: String,
    top: f64,
    left: f64,
    visible_focus: bool,
    /// The previous element's focus style and its style now, after focus left it.
    prev_label: Option<String>,
    prev_focused: Option<String>,
    prev_unfocused: Option<String>,
}

const FOCUS_JS: &str = r#"
const el = document.activeElement;
const style = e => { const c = getComputedStyle(e);
  return c.outlineStyle + ' ' + c.outlineWidth + ' ' + c.outlineColor + ' | ' + c.boxShadow; };
const visible = e => { const c = getComputedStyle(e);
  return (c.outlineStyle !== 'none' && parseFloat(c.outlineWidth) >= 2) || c.boxShadow !== 'none'; };
const label = e => (e.id ? '#' + e.id + ' ' : '') + e.tagName.toLowerCase() + ' „' +
  ((e.innerText || e.value || e.getAttribute('aria-label') || '').trim().slice(0, 50)) + '“';
const prev = window.__kbPrev;
if (!el.dataset.kbKey) { window.__kbCount = (window.__kbCount || 0) + 1; el.dataset.kbKey = String(window.__kbCount); }
const out = { key: el.dataset.kbKey, id: el.id || '', tag: el.tagName.toLowerCase(), label: label(el),
  href: el.getAttribute('href') || '', top: el.getBoundingClientRect().top + window.scrollY,
  left: el.getBoundingClientRect().left + window.scrollX,
  visible_focus: el === document.body ? false : visible(el),
  prev_label: null, prev_focused: null, prev_unfocused: null };
if (prev && prev !== el && prev.isConnected && prev.tabIndex >= 0) {
  out.prev_label = label(prev); out.prev_focused = window.__kbPrevStyle; out.prev_unfocused = style(prev);
}
window.__kbPrev = el; window.__kbPrevStyle = style(el);
return out;
"#;

struct Keyboard<'s> {
    s: &'s Suite,
    /// Every element focused so far, for the report on failure.
    trail: Vec<String>,
}

impl<'s> Keyboard<'s> {
    async fn keys(&self, keys: &[KeyAction]) {
        let mut actions = KeyActions::new("tastatur".into());
        for k in keys {
            actions = actions.then(k.clone());
        }
        self.s.wd.perform_actions(actions).await.expect("key actions");
    }

    async fn focus(&self) -> Focus {
        let v = self.s.wd.execute(FOCUS_JS, vec![]).await.expect("read the focus");
        serde_json::from_value(v).expect("focus description")
    }

    /// One Tab (or Shift+Tab); the newly focused element must show its focus, and the element
    /// focus left must look different now (so the focus style is not its normal look).
    async fn tab(&mut self, back: bool) -> Focus {
        let tab: char = Key::Tab.into();
        let shift: char = Key::Shift.into();
        if back {
            self.keys(&[
                KeyAction::Down { value: shift },
                KeyAction::Down { value: tab },
                KeyAction::Up { value: tab },
                KeyAction::Up { value: shift },
            ])
            .await;
        } else {
            self.keys(&[KeyAction::Down { value: tab }, KeyAction::Up { value: tab }])
                .await;
        }
        let f = self.focus().await;
        self.trail.push(f.label.clone());
        if f.tag != "body" {
            assert!(
                f.visible_focus,
                "focus not visible on {} ({}); trail: {:?}",
                f.label,
                self.s.path().await,
                self.trail
            );
        }
        if let (Some(label), Some(focused), Some(unfocused)) = (&f.prev_label, &f.prev_focused, &f.prev_unfocused) {
            assert_ne!(
                focused,
                unfocused,
                "{label} looks the same with and without focus ({})",
                self.s.path().await
            );
        }
        f
    }

    /// Tabs forward until `is_target` holds; fails after `max` steps.
    async fn tab_to(&mut self, what: &str, max: usize, is_target: impl Fn(&Focus) -> bool) -> Focus {
        for _ in 0..max {
            let f = self.tab(false).await;
            if is_target(&f) {
                return f;
            }
        }
        panic!(
            "{what} not reached with {max} × Tab on {}; trail: {:?}",
            self.s.path().await,
            self.trail
        );
    }

    async fn type_text(&self, text: &str) {
        let mut keys = Vec::new();
        for c in text.chars() {
            keys.push(KeyAction::Down { value: c });
            keys.push(KeyAction::Up { value: c });
        }
        self.keys(&keys).await;
    }

    /// Enter, and wait for the next page.
    async fn enter_and_wait(&mut self, what: &str) {
        self.s.mark_page().await;
        let enter: char = Key::Enter.into();
        self.keys(&[KeyAction::Down { value: enter }, KeyAction::Up { value: enter }])
            .await;
        self.s.wait_for_new_page(what).await;
        self.trail.clear();
    }

    /// Tabs through the whole page: every tabbable element is reached, focus comes back to the
    /// first one (no trap), and Shift+Tab goes back the same way.
    async fn no_trap(&mut self) {
        let tabbable = self
            .s
            .wd
            .execute(
                r#"return [...document.querySelectorAll('a[href], button, input:not([type=hidden]):not([type=radio]), select, textarea, [tabindex]')]
                  .filter(e => e.tabIndex >= 0 && !e.disabled && e.getClientRects().length > 0).length;"#,
                vec![],
            )
            .await
            .expect("count tabbable elements")
            .as_u64()
            .expect("a count") as usize;
        assert!(tabbable > 0, "nothing to tab to on {}", self.s.path().await);
        let first = self.tab(false).await;
        let mut seen = vec![(first.key.clone(), first.label.clone())];
        let mut back_at_first = false;
        for _ in 0..tabbable + 3 {
            let f = self.tab(false).await;
            if f.key == first.key {
                back_at_first = true;
                break;
            }
            if f.tag != "body" && !seen.iter().any(|(k, _)| *k == f.key) {
                seen.push((f.key.clone(), f.label.clone()));
            }
        }
        assert!(
            back_at_first,
            "Tab does not come back to the start of {} (trap?); trail: {:?}",
            self.s.path().await,
            self.trail
        );
        assert!(
            seen.len() >= tabbable,
            "Tab reached {} of {tabbable} elements on {}: {:?}",
            seen.len(),
            self.s.path().await,
            seen
        );
        eprintln!(
            "Tab durch {}: {} Elemente, dann wieder das erste ({})",
            self.s.path().await,
            seen.len(),
            first.label
        );
        // Backwards: from the first element Shift+Tab leaves the page, once more reaches the last.
        let mut back = Vec::new();
        for _ in 0..3 {
            back.push(self.tab(true).await.key);
        }
        let (last_key, last) = seen.last().cloned().unwrap_or_default();
        assert!(
            back.contains(&last_key),
            "Shift+Tab from the start does not reach the last element {last}: {:?}",
            self.trail
        );
    }
}

async fn keyboard_flow(tools: Tools) {
    let mut s = Suite::new(tools, "tastatur-").await;
    s.start_server(0);
    s.goto("/anmelden").await;
    {
        let mut kb = Keyboard {
            s: &s,
            trail: Vec::new(),
        };
        // The first Tab reaches the skip link, Enter moves the focus to the main content.
        let skip = kb.tab(false).await;
        assert!(
            skip.href == "#inhalt",
            "the first Tab stop is the skip link: {}",
            skip.label
        );
        let enter: char = Key::Enter.into();
        kb.keys(&[KeyAction::Down { value: enter }, KeyAction::Up { value: enter }])
            .await;
        let main = kb.focus().await;
        assert_eq!(main.id, "inhalt", "the skip link moves the focus to the content");

        kb.tab_to("the e-mail field", 20, |f| f.id == "feld-email").await;
        kb.type_text("einkauf@kassel.example").await;
        let password = kb.tab(false).await;
        assert_eq!(password.id, "feld-password", "after the e-mail comes the password");
        kb.type_text(DEMO_PASSWORD).await;
        let submit = kb.tab(false).await;
        assert!(
            submit.label.contains("Anmelden"),
            "then the login button: {}",
            submit.label
        );
        kb.enter_and_wait("login").await;
    }
    s.expect_text("Petra Schmitt").await;
    s.step("startseite").await;
    {
        let mut kb = Keyboard {
            s: &s,
            trail: Vec::new(),
        };
        kb.tab_to("the contracts in the navigation", 30, |f| f.href == "/vertraege")
            .await;
        kb.enter_and_wait("contract register").await;
    }
    s.step("vertraege").await;
    {
        let mut kb = Keyboard {
            s: &s,
            trail: Vec::new(),
        };
        kb.tab_to("the first contract", 40, |f| f.href.starts_with("/vertraege/"))
            .await;
        kb.enter_and_wait("contract").await;
    }
    s.expect_text("Abruf bestellen").await;
    s.step("vertrag").await;
    {
        let mut kb = Keyboard {
            s: &s,
            trail: Vec::new(),
        };
        let first = kb
            .tab_to("the first quantity", 60, |f| f.id.starts_with("feld-q_"))
            .await;
        kb.type_text("2").await;
        // From there on, the order's fields in the order they stand on the page.
        let mut order = vec![first];
        loop {
            let f = kb.tab(false).await;
            let done = f.tag == "button";
            order.push(f);
            if done {
                break;
            }
            assert!(
                order.len() < 40,
                "no submit button after the quantities: {:?}",
                kb.trail
            );
        }
        let ids: Vec<&str> = order.iter().map(|f| f.id.as_str()).collect();
        eprintln!("Tab-Reihenfolge des Abrufformulars: {ids:?}");
        let expected_tail = [
            "feld-delivery_address",
            "feld-cost_centre",
            "feld-leitweg_id",
            "feld-note",
        ];
        assert!(
            ids.iter().take_while(|id| id.starts_with("feld-q_")).count() + expected_tail.len() + 1 == ids.len()
                && ids[ids.len() - 5..ids.len() - 1] == expected_tail,
            "tab order of the order form: {ids:?}"
        );
        for pair in order.windows(2) {
            let (a, b) = (&pair[0], &pair[1]);
            assert!(
                b.top > a.top + 1.0 || ((b.top - a.top).abs() <= 1.0 && b.left > a.left),
                "tab order against the visual order: {} then {}",
                a.label,
                b.label
            );
        }
        // Fill the address and cost centre going back with Shift+Tab.
        for _ in 0..4 {
            kb.tab(true).await;
        }
        let address = kb.focus().await;
        assert_eq!(address.id, "feld-delivery_address", "Shift+Tab goes back the same way");
        kb.type_text("Stadt Kassel, Rathaus, Obere Königsstraße 8, 34117 Kassel")
            .await;
        let cost = kb.tab(false).await;
        assert_eq!(cost.id, "feld-cost_centre");
        kb.type_text("IT-0815").await;
        kb.tab_to("the order button", 5, |f| f.tag == "button").await;
    }
    // The focus stays on the order button: the screenshot shows its focus style.
    s.step("abruf-formular-fokus").await;
    {
        let mut kb = Keyboard {
            s: &s,
            trail: Vec::new(),
        };
        let button = kb.focus().await;
        assert!(
            button.label.contains("Verbindlich abrufen"),
            "focus on the order button: {}",
            button.label
        );
        kb.enter_and_wait("call-off").await;
    }
    s.expect_success("call-off by keyboard").await;
    s.step("abruf").await;
    {
        let mut kb = Keyboard {
            s: &s,
            trail: Vec::new(),
        };
        kb.no_trap().await;
    }
    s.finish().await;
}
