//! The outcome of a run: each scenario's verdict and the report the exit code, the summary
//! and the JUnit and JSON files are made from.

use std::collections::BTreeMap;

use crate::step_log::{ScenarioKey, StepRecord};

/// How one scenario ended.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    Passed,
    Failed,
    /// Failed and listed in --expected-failures.
    ExpectedFailure,
    /// Passed although listed in --expected-failures: fails the run.
    UnexpectedPass,
}

/// One scenario's result.
#[derive(Debug, Clone, serde::Serialize)]
pub struct ScenarioResult {
    pub feature: String,
    pub scenario: String,
    /// The line of the scenario (or of its outline example) in its feature file.
    pub line: usize,
    pub tags: Vec<String>,
    pub verdict: Verdict,
    pub strict: bool,
    pub seconds: f64,
    pub error: Option<String>,
    /// The steps as they ran.
    pub steps: Vec<StepRecord>,
}

impl ScenarioResult {
    /// The scenario's key in the `StepLog`, as [`crate::step_log::scenario_key`] makes it.
    pub fn key(&self) -> ScenarioKey {
        (self.feature.clone(), self.scenario.clone(), self.line)
    }
}

/// A scenario that did not run, and why.
#[derive(Debug, Clone, serde::Serialize)]
pub struct NotRun {
    pub feature: String,
    pub scenario: String,
    pub reason: String,
}

/// The outcome of a run.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct Report {
    pub client: String,
    pub results: Vec<ScenarioResult>,
    pub not_applicable: Vec<NotRun>,
    pub seconds: f64,
}

impl Report {
    /// Exit 0 only when every applicable scenario passed (or failed as expected).
    pub fn success(&self) -> bool {
        !self.results.is_empty()
            && self
                .results
                .iter()
                .all(|r| matches!(r.verdict, Verdict::Passed | Verdict::ExpectedFailure))
    }

    /// Results whose verdict fails the run.
    pub fn failures(&self) -> Vec<&ScenarioResult> {
        self.results
            .iter()
            .filter(|r| matches!(r.verdict, Verdict::Failed | Verdict::UnexpectedPass))
            .collect()
    }

    /// A plain-text summary.
    pub fn summary(&self) -> String {
        let mut out = String::new();
        let count = |strict: bool, v: Verdict| {
            self.results
                .iter()
                .filter(|r| r.strict == strict && r.verdict == v)
                .count()
        };
        for (label, strict) in [("conformance", false), ("strict (client safety)", true)] {
            let total = self.results.iter().filter(|r| r.strict == strict).count();
            if total == 0 {
                continue;
            }
            out.push_str(&format!(
                "{label}: {total} scenarios, {} passed, {} failed, {} expected failures, {} unexpected passes\n",
                count(strict, Verdict::Passed),
                count(strict, Verdict::Failed),
                count(strict, Verdict::ExpectedFailure),
                count(strict, Verdict::UnexpectedPass),
            ));
        }
        if !self.not_applicable.is_empty() {
            let mut reasons: BTreeMap<&str, usize> = BTreeMap::new();
            for n in &self.not_applicable {
                *reasons.entry(n.reason.as_str()).or_default() += 1;
            }
            for (reason, n) in reasons {
                out.push_str(&format!("not run: {n} ({reason})\n"));
            }
        }
        for failure in self.failures() {
            out.push_str(&format!(
                "FAILED [{}] {}: {}{}\n",
                failure.tags.join(" "),
                failure.scenario,
                match failure.verdict {
                    Verdict::UnexpectedPass =>
                        "passed but is listed as an expected failure".to_owned(),
                    _ => String::new(),
                },
                failure
                    .error
                    .as_deref()
                    .map(|e| format!(" -- {e}"))
                    .unwrap_or_default()
            ));
        }
        let mut slowest: Vec<&ScenarioResult> = self.results.iter().collect();
        slowest.sort_by(|a, b| b.seconds.total_cmp(&a.seconds));
        if !slowest.is_empty() {
            out.push_str("slowest:\n");
            for r in slowest.iter().take(5) {
                out.push_str(&format!("  {:6.2}s {}\n", r.seconds, r.scenario));
            }
        }
        out.push_str(&format!(
            "client: {}; wall time {:.1}s; verdict: {}\n",
            self.client,
            self.seconds,
            if self.success() { "PASS" } else { "FAIL" }
        ));
        out
    }
}
