//! # headless-browser: Debian's Chromium, headless, for tests that click like a person
//!
//! Starts `chromedriver` (Debian's `chromium-driver`) on a free loopback port, opens one
//! headless Chromium session with a fresh profile and the flags that keep it off the
//! network, and offers the few steps the page tests need: open a URL, fill and click by CSS
//! selector, wait for an element or a text, and save a full-page screenshot.
//!
//! Where Chromium or chromedriver is missing, [`Browser::start_or_skip`] prints a loud
//! skip and answers `None`, so `cargo test --workspace` passes on a machine without them;
//! with `CI=true` their absence is a failure instead.
//!
//! ```no_run
//! # async fn demo() -> Result<(), headless_browser::BrowserError> {
//! let Some(browser) = headless_browser::Browser::start_or_skip("demo").await else {
//!     return Ok(()); // skipped loudly: no Chromium here
//! };
//! browser.goto("http://127.0.0.1:4010/verify").await?;
//! browser.fill("#code", "amber-otter-plum").await?;
//! browser.click("button[type=submit]").await?;
//! browser.wait_for_text("h1", "Connect a device").await?;
//! browser.screenshot("verify").await?;
//! browser.quit().await;
//! # Ok(())
//! # }
//! ```

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use fantoccini::elements::Element;
use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::{Map, json};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

/// How long a wait for an element or a text lasts at most.
pub const WAIT: Duration = Duration::from_secs(15);

/// The flags Chromium needs on a closed network: without them it hangs trying to reach
/// Google's services (sync, component updates, QUIC probes) or to set up a GPU.
pub const CHROMIUM_FLAGS: &[&str] = &[
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
    // The largest window a screenshot may grow to: headless Chromium never makes a
    // window larger than the one it started with. Sessions shrink it to [`WINDOW`] at once.
    "--window-size=1024,4000",
];

/// The window a session works in (width, height).
pub const WINDOW: (u32, u32) = (1024, 900);

/// Why the browser could not be used.
#[derive(Debug, thiserror::Error)]
pub enum BrowserError {
    /// Chromium or chromedriver is not installed (the caller may skip).
    #[error(
        "{0} (install Debian's chromium and chromium-driver: apt-get install -y chromium chromium-driver)"
    )]
    Absent(String),
    /// Installed, but it did not start.
    #[error("the browser did not start: {0}")]
    Start(String),
    /// A WebDriver command failed (element missing, timeout, ...).
    #[error("{step}: {source}")]
    Command {
        step: String,
        #[source]
        source: fantoccini::error::CmdError,
    },
    /// What a step waited for did not show in time.
    #[error("{0}")]
    Timeout(String),
    /// A screenshot could not be saved.
    #[error("saving {path}: {source}")]
    Save {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

fn command_error(
    step: impl Into<String>,
) -> impl FnOnce(fantoccini::error::CmdError) -> BrowserError {
    let step = step.into();
    move |source| BrowserError::Command { step, source }
}

/// The first of `candidates` that exists as a file, or the first `names` found on `PATH`.
fn locate(env_var: &str, candidates: &[&str], names: &[&str]) -> Option<PathBuf> {
    if let Some(path) = std::env::var_os(env_var).filter(|path| !path.is_empty()) {
        // Set but not there counts as absent, like not installed.
        return Some(PathBuf::from(path)).filter(|path| path.is_file());
    }
    let on_path = std::env::var_os("PATH")
        .map(|paths| std::env::split_paths(&paths).collect::<Vec<_>>())
        .unwrap_or_default();
    candidates
        .iter()
        .map(PathBuf::from)
        .chain(
            names
                .iter()
                .flat_map(|name| on_path.iter().map(move |dir| dir.join(name))),
        )
        .find(|path| path.is_file())
}

/// Chromium's binary: `$CHROMIUM`, Debian's real binary (not its shell wrapper), or one on `PATH`.
pub fn chromium_path() -> Option<PathBuf> {
    locate(
        "CHROMIUM",
        &["/usr/lib/chromium/chromium"],
        &["chromium", "chromium-browser", "google-chrome"],
    )
}

/// chromedriver: `$CHROMEDRIVER`, or on `PATH` (Debian: `/usr/bin/chromedriver`).
pub fn chromedriver_path() -> Option<PathBuf> {
    locate("CHROMEDRIVER", &[], &["chromedriver"])
}

/// Where screenshots go: `$BROWSER_SCREENSHOTS`, else `target/browser-screenshots` of the workspace.
pub fn screenshot_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os("BROWSER_SCREENSHOTS") {
        return PathBuf::from(dir);
    }
    let target = std::env::var_os("CARGO_TARGET_DIR").map_or_else(
        || Path::new(env!("CARGO_MANIFEST_DIR")).join("../target"),
        PathBuf::from,
    );
    target.join("browser-screenshots")
}

/// Whether this run is CI's (`CI=true`), where a missing browser is a failure.
pub fn in_ci() -> bool {
    std::env::var("CI").is_ok_and(|value| value == "true" || value == "1")
}

/// One headless Chromium session and the chromedriver that runs it.
pub struct Browser {
    client: Client,
    driver: Child,
    _profile: tempfile::TempDir,
}

impl Browser {
    /// Starts the browser, or prints a loud skip and answers `None` where Chromium or
    /// chromedriver is not installed. Under `CI=true` a missing browser panics, and so does
    /// a browser that is installed but does not start (anywhere).
    pub async fn start_or_skip(test: &str) -> Option<Self> {
        match Self::start().await {
            Ok(browser) => Some(browser),
            Err(BrowserError::Absent(missing)) if !in_ci() => {
                // Straight to stderr, not `eprintln!`: the test harness captures the print
                // macros of passing tests, and a skip must be seen.
                let _ = writeln!(
                    std::io::stderr(),
                    "\n!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!\n\
                     !!! SKIPPED browser test `{test}`: {missing}.\n\
                     !!! Install Debian's chromium and chromium-driver to run it; under\n\
                     !!! CI=true a missing browser fails the test.\n\
                     !!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!\n"
                );
                None
            }
            Err(error) => panic!("browser test `{test}`: {error}"),
        }
    }

    /// Starts chromedriver on a free loopback port and opens a headless Chromium session
    /// with a fresh profile.
    pub async fn start() -> Result<Self, BrowserError> {
        let chromium = chromium_path().ok_or_else(|| {
            BrowserError::Absent("Chromium is not installed (no chromium on PATH)".into())
        })?;
        let chromedriver = chromedriver_path().ok_or_else(|| {
            BrowserError::Absent("chromedriver is not installed (no chromedriver on PATH)".into())
        })?;
        let profile = tempfile::Builder::new()
            .prefix("headless-browser-")
            .tempdir()
            .map_err(|e| BrowserError::Start(format!("a profile directory: {e}")))?;
        let mut driver = Command::new(&chromedriver)
            .arg("--port=0")
            .arg(format!(
                "--log-path={}",
                profile.path().join("chromedriver.log").display()
            ))
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            // Its own process group: dropping the browser ends chromedriver and the
            // Chromium processes it started, even when a test panics.
            .process_group(0)
            .kill_on_drop(true)
            .spawn()
            .map_err(|e| BrowserError::Start(format!("{}: {e}", chromedriver.display())))?;
        let port = match driver_port(&mut driver).await {
            Ok(port) => port,
            Err(error) => {
                kill_group(&driver);
                return Err(error);
            }
        };
        let user_data_dir = profile.path().join("profile");
        let mut args: Vec<String> = CHROMIUM_FLAGS
            .iter()
            .map(|flag| (*flag).to_owned())
            .collect();
        args.push(format!("--user-data-dir={}", user_data_dir.display()));
        let mut capabilities = Map::new();
        capabilities.insert(
            "goog:chromeOptions".into(),
            json!({ "binary": chromium, "args": args }),
        );
        let connector = hyper_util::client::legacy::connect::HttpConnector::new();
        let client = ClientBuilder::new(connector)
            .capabilities(capabilities)
            .connect(&format!("http://127.0.0.1:{port}"))
            .await;
        match client {
            Ok(client) => {
                let browser = Self {
                    client,
                    driver,
                    _profile: profile,
                };
                browser.resize(WINDOW.0, WINDOW.1).await?;
                Ok(browser)
            }
            Err(error) => {
                kill_group(&driver);
                Err(BrowserError::Start(format!(
                    "no Chromium session ({}): {error}",
                    chromium.display()
                )))
            }
        }
    }

    /// The WebDriver client, for what the helpers below do not cover.
    pub fn client(&self) -> &Client {
        &self.client
    }

    /// Opens `url`.
    pub async fn goto(&self, url: &str) -> Result<(), BrowserError> {
        self.client
            .goto(url)
            .await
            .map_err(command_error(format!("opening {url}")))
    }

    /// The element `css` selects, waiting for it to appear.
    pub async fn find(&self, css: &str) -> Result<Element, BrowserError> {
        self.client
            .wait()
            .at_most(WAIT)
            .for_element(Locator::Css(css))
            .await
            .map_err(command_error(format!("waiting for {css}")))
    }

    /// Whether the page has an element `css` selects now (no waiting).
    pub async fn has(&self, css: &str) -> bool {
        self.client.find(Locator::Css(css)).await.is_ok()
    }

    /// Clicks the element `css` selects.
    pub async fn click(&self, css: &str) -> Result<(), BrowserError> {
        self.find(css)
            .await?
            .click()
            .await
            .map_err(command_error(format!("clicking {css}")))
    }

    /// Types `text` into the field `css` selects, replacing what was there.
    pub async fn fill(&self, css: &str, text: &str) -> Result<(), BrowserError> {
        let field = self.find(css).await?;
        field
            .clear()
            .await
            .map_err(command_error(format!("clearing {css}")))?;
        field
            .send_keys(text)
            .await
            .map_err(command_error(format!("typing into {css}")))
    }

    /// Chooses the option with `value` in the `<select>` `css` selects.
    pub async fn select(&self, css: &str, value: &str) -> Result<(), BrowserError> {
        self.find(css)
            .await?
            .select_by_value(value)
            .await
            .map_err(command_error(format!("choosing {value} in {css}")))
    }

    /// The visible text of the element `css` selects.
    pub async fn text(&self, css: &str) -> Result<String, BrowserError> {
        self.find(css)
            .await?
            .text()
            .await
            .map_err(command_error(format!("reading {css}")))
    }

    /// Waits until an element `css` selects shows `needle` (after a click that navigates,
    /// or while a page updates itself).
    pub async fn wait_for_text(&self, css: &str, needle: &str) -> Result<Element, BrowserError> {
        let deadline = tokio::time::Instant::now() + WAIT;
        loop {
            // An XPath text test would need `css` in XPath; check each match instead. The
            // wait is WebDriver's own (an element to appear), then a bounded re-check.
            let elements = self
                .client
                .find_all(Locator::Css(css))
                .await
                .map_err(command_error(format!("looking for {css}")))?;
            for element in elements {
                if element.text().await.is_ok_and(|text| text.contains(needle)) {
                    return Ok(element);
                }
            }
            if tokio::time::Instant::now() >= deadline {
                let page = self.client.source().await.unwrap_or_default();
                return Err(BrowserError::Timeout(format!(
                    "no {css} showing {needle:?} within {WAIT:?}; the page was:\n{page:.3000}"
                )));
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// The current page's URL.
    pub async fn url(&self) -> Result<String, BrowserError> {
        self.client
            .current_url()
            .await
            .map(|url| url.to_string())
            .map_err(command_error("reading the URL"))
    }

    /// Resizes the window (e.g. 390 wide for a phone).
    pub async fn resize(&self, width: u32, height: u32) -> Result<(), BrowserError> {
        self.client
            .set_window_size(width, height)
            .await
            .map_err(command_error("resizing the window"))
    }

    /// Saves a screenshot of the whole page as `<screenshot_dir>/<name>.png` and answers its path.
    pub async fn screenshot(&self, name: &str) -> Result<PathBuf, BrowserError> {
        let size = self
            .client
            .execute(
                "return [window.outerWidth, document.documentElement.scrollHeight + window.outerHeight - window.innerHeight];",
                vec![],
            )
            .await
            .map_err(command_error("measuring the page"))?;
        let width = size[0].as_u64().unwrap_or(1024) as u32;
        let height = size[1].as_u64().unwrap_or(900).clamp(300, 4000) as u32;
        let window = self
            .client
            .get_window_size()
            .await
            .map_err(command_error("reading the window size"))?;
        // Headless, the window is the viewport: grow it to the page for one picture.
        self.resize(width, height).await?;
        let png = self
            .client
            .screenshot()
            .await
            .map_err(command_error(format!("screenshot {name}")));
        self.resize(window.0 as u32, window.1 as u32).await?;
        let png = png?;
        let dir = screenshot_dir();
        let path = dir.join(format!("{name}.png"));
        std::fs::create_dir_all(&dir)
            .and_then(|()| std::fs::write(&path, png))
            .map_err(|source| BrowserError::Save {
                path: path.clone(),
                source,
            })?;
        Ok(path)
    }

    /// Ends the session (Chromium quits) and stops chromedriver.
    pub async fn quit(mut self) {
        let _ = self.client.clone().close().await;
        kill_group(&self.driver);
        let _ = self.driver.wait().await;
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        kill_group(&self.driver);
    }
}

/// Ends chromedriver's process group (chromedriver and the Chromium it started), by id.
fn kill_group(driver: &Child) {
    if let Some(pid) = driver.id() {
        let _ = std::process::Command::new("kill")
            .args(["-KILL", "--", &format!("-{pid}")])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
    }
}

/// Reads chromedriver's startup line for the port it listens on (its readiness signal).
async fn driver_port(driver: &mut Child) -> Result<u16, BrowserError> {
    let stdout = driver
        .stdout
        .take()
        .ok_or_else(|| BrowserError::Start("chromedriver has no stdout".into()))?;
    let mut lines = BufReader::new(stdout).lines();
    let read_port = async {
        while let Ok(Some(line)) = lines.next_line().await {
            if !line.contains("started successfully") {
                continue;
            }
            if let Some(port) = line
                .split("on port ")
                .nth(1)
                .and_then(|rest| rest.trim_end_matches('.').trim().parse::<u16>().ok())
            {
                return Some(port);
            }
        }
        None
    };
    let port = tokio::time::timeout(WAIT, read_port)
        .await
        .ok()
        .flatten()
        .ok_or_else(|| BrowserError::Start("chromedriver did not say its port".into()))?;
    // Keep draining its stdout so a chatty chromedriver never blocks on a full pipe.
    tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
    Ok(port)
}
