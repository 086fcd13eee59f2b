//! What the run reports: a result per finished scenario (shown as progress),
//! where cucumber's own output goes, and the JUnit file.

use std::collections::HashSet;
use std::io::{IsTerminal as _, Write};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use cucumber::gherkin::{Feature, Scenario};
use cucumber::{event, writer};

use super::options::{RunError, RunOptions};
use super::selection::ScenarioTags;
use crate::progress::Progress;
use crate::report::{Report, ScenarioResult, Verdict};
use crate::step_log::{StepLog, step_error_text};

/// Collects each scenario's result as it finishes, and shows progress.
#[derive(Debug)]
pub struct Results {
    /// Scenario names known to fail (`--expected-failures`).
    expected_failures: HashSet<String>,
    progress: Progress,
    results: Mutex<Vec<ScenarioResult>>,
}

impl Results {
    pub fn new(options: &RunOptions) -> Self {
        Self {
            expected_failures: options.expected_failures.clone(),
            progress: Progress::new(options.progress && !options.verbose),
            results: Mutex::default(),
        }
    }

    /// A scenario was selected to run (progress counts it).
    pub fn selected(&self) {
        self.progress.selected();
    }

    /// A scenario finished after `seconds`.
    pub fn finished(
        &self,
        feature: &Feature,
        scenario: &Scenario,
        tags: &ScenarioTags,
        finished: &event::ScenarioFinished,
        seconds: f64,
    ) {
        let (passed, error) = match finished {
            event::ScenarioFinished::StepPassed => (true, None),
            event::ScenarioFinished::StepSkipped => {
                (false, Some("a step is undefined or was skipped".to_owned()))
            }
            event::ScenarioFinished::StepFailed(_, _, e) => {
                (false, Some(first_line(&step_error_text(e))))
            }
            event::ScenarioFinished::BeforeHookFailed(_) => {
                (false, Some("the scenario could not be set up".to_owned()))
            }
        };
        let listed = self.expected_failures.contains(&scenario.name);
        let verdict = match (passed, listed) {
            (true, false) => Verdict::Passed,
            (true, true) => Verdict::UnexpectedPass,
            (false, true) => Verdict::ExpectedFailure,
            (false, false) => Verdict::Failed,
        };
        let result = ScenarioResult {
            feature: feature.name.clone(),
            scenario: scenario.name.clone(),
            line: scenario.position.line,
            strict: tags.is_strict(),
            tags: tags.with_at(),
            verdict,
            seconds,
            error,
            // Filled in once cucumber's writers have seen every step.
            steps: Vec::new(),
        };
        self.progress.finished(&result);
        self.results
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push(result);
    }

    /// Every result, in feature file order, with the steps `step_log` saw.
    pub fn finish(&self, step_log: &StepLog) -> Vec<ScenarioResult> {
        self.progress.done();
        let mut results =
            std::mem::take(&mut *self.results.lock().unwrap_or_else(|p| p.into_inner()));
        for result in &mut results {
            result.steps = step_log.steps(&result.key());
        }
        results.sort_by(|a, b| (&a.feature, a.line).cmp(&(&b.feature, b.line)));
        results
    }
}

/// Where cucumber's writers go: every step (`--verbose`) or nowhere, and the
/// cucumber JSON file (`--json`).
pub struct Outputs {
    pub steps: Box<dyn Write>,
    pub coloring: writer::Coloring,
    pub json: Box<dyn Write>,
}

impl Outputs {
    pub fn open(options: &RunOptions) -> Result<Self, RunError> {
        let verbose = options.verbose;
        Ok(Self {
            steps: if verbose {
                Box::new(std::io::stdout())
            } else {
                Box::new(std::io::sink())
            },
            coloring: if verbose && std::io::stdout().is_terminal() {
                writer::Coloring::Auto
            } else {
                writer::Coloring::Never
            },
            json: match &options.json {
                Some(path) => Box::new(create(path)?),
                None => Box::new(std::io::sink()),
            },
        })
    }
}

/// Writes the JUnit report to `path`.
pub fn write_junit(path: &Path, report: &Report) -> Result<(), RunError> {
    let failed = |source| RunError::Write {
        path: path.to_owned(),
        source,
    };
    let xml = crate::junit::to_junit(report).map_err(failed)?;
    create(path)?.write_all(&xml).map_err(failed)
}

/// Creates the file at `path`, and its folder.
fn create(path: &Path) -> Result<std::fs::File, RunError> {
    let failed = |source| RunError::Write {
        path: PathBuf::from(path),
        source,
    };
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(failed)?;
    }
    std::fs::File::create(path).map_err(failed)
}

fn first_line(text: &str) -> String {
    let line = text
        .lines()
        .find(|l| !l.trim().is_empty())
        .unwrap_or_default();
    line.chars().take(400).collect()
}
