//! What a person watching the run sees: on a terminal, one status line that
//! updates in place, with failures printed above it as they happen; elsewhere
//! (CI logs), one plain line per finished scenario.

use std::io::{IsTerminal as _, Write as _};
use std::sync::Mutex;

use crate::report::{ScenarioResult, Verdict};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    Off,
    Lines,
    Live,
}

#[derive(Debug, Default)]
struct Counts {
    selected: usize,
    done: usize,
    passed: usize,
    failed: usize,
}

/// The run's progress display.
#[derive(Debug)]
pub struct Progress {
    mode: Mode,
    counts: Mutex<Counts>,
}

impl Progress {
    /// A display on stdout: live on a terminal, plain lines otherwise, or none.
    pub fn new(enabled: bool) -> Self {
        let mode = match (enabled, std::io::stdout().is_terminal()) {
            (false, _) => Mode::Off,
            (true, true) => Mode::Live,
            (true, false) => Mode::Lines,
        };
        Self {
            mode,
            counts: Mutex::default(),
        }
    }

    /// A scenario was selected to run.
    pub fn selected(&self) {
        self.counts().selected += 1;
    }

    /// A scenario finished.
    pub fn finished(&self, result: &ScenarioResult) {
        let mut counts = self.counts();
        counts.done += 1;
        let ok = matches!(result.verdict, Verdict::Passed | Verdict::ExpectedFailure);
        if ok {
            counts.passed += 1;
        } else {
            counts.failed += 1;
        }
        let line = describe(result);
        let mut out = std::io::stdout().lock();
        // A closed stdout must not stop the run: the reports still get written.
        let _ = match self.mode {
            Mode::Off => Ok(()),
            Mode::Lines => writeln!(out, "{line}"),
            Mode::Live => {
                let above = if ok {
                    String::new()
                } else {
                    format!("{line}\n")
                };
                write!(
                    out,
                    "\r\x1b[2K{above}[{}/{}] {} passed, {} failed  {}",
                    counts.done,
                    counts.selected.max(counts.done),
                    counts.passed,
                    counts.failed,
                    truncate(&result.scenario, 60)
                )
            }
        };
        let _ = out.flush();
    }

    /// The run is over: ends the live line.
    pub fn done(&self) {
        if self.mode == Mode::Live {
            let _ = write!(std::io::stdout(), "\r\x1b[2K");
        }
    }

    fn counts(&self) -> std::sync::MutexGuard<'_, Counts> {
        self.counts.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// `PASS   0.12s  Authentication › Status without a session ...`
fn describe(result: &ScenarioResult) -> String {
    let verdict = match result.verdict {
        Verdict::Passed => "PASS ",
        Verdict::Failed => "FAIL ",
        Verdict::ExpectedFailure => "XFAIL",
        Verdict::UnexpectedPass => "XPASS",
    };
    let error = match (&result.verdict, &result.error) {
        (Verdict::Failed | Verdict::ExpectedFailure, Some(error)) => format!(" -- {error}"),
        (Verdict::UnexpectedPass, _) => " -- listed as an expected failure".into(),
        _ => String::new(),
    };
    let line = format!(
        "{verdict} {:6.2}s  {} › {}{error}",
        result.seconds, result.feature, result.scenario
    );
    // Errors may quote a client's output: never let it drive the terminal.
    line.chars()
        .map(|c| if c.is_control() { '\u{fffd}' } else { c })
        .collect()
}

fn truncate(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        text.to_owned()
    } else {
        format!("{}…", text.chars().take(max - 1).collect::<String>())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn result(verdict: Verdict, error: Option<&str>) -> ScenarioResult {
        ScenarioResult {
            feature: "Errors".into(),
            scenario: "A hostile merchant".into(),
            line: 3,
            tags: Vec::new(),
            verdict,
            strict: false,
            seconds: 0.5,
            error: error.map(str::to_owned),
            steps: Vec::new(),
        }
    }

    #[test]
    fn a_line_names_the_verdict_and_never_carries_control_characters() {
        assert_eq!(
            describe(&result(Verdict::Passed, None)),
            "PASS    0.50s  Errors › A hostile merchant"
        );
        assert_eq!(
            describe(&result(Verdict::Failed, Some("printed \u{1b}[2J"))),
            "FAIL    0.50s  Errors › A hostile merchant -- printed \u{fffd}[2J"
        );
        assert!(describe(&result(Verdict::UnexpectedPass, None)).starts_with("XPASS"));
        assert!(describe(&result(Verdict::ExpectedFailure, Some("known"))).ends_with("-- known"));
        assert_eq!(truncate("abcdef", 4), "abc…");
    }
}
