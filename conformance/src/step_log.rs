//! A cucumber writer that records what each scenario's steps did, so the JUnit
//! report can show the step that failed, whatever writer shows progress.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use cucumber::{Event, cli, event, gherkin, parser};

/// Identifies a scenario across cucumber's events and the runner's hooks:
/// (feature name, scenario name, line of the scenario or outline example).
pub type ScenarioKey = (String, String, usize);

/// The key of `scenario` in `feature`.
pub fn scenario_key(feature: &gherkin::Feature, scenario: &gherkin::Scenario) -> ScenarioKey {
    (
        feature.name.clone(),
        scenario.name.clone(),
        scenario.position.line,
    )
}

/// How one step ended.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(tag = "status", content = "error", rename_all = "snake_case")]
pub enum StepOutcome {
    Passed,
    Skipped,
    Failed(String),
}

/// One step as it ran: `Given a user who is not logged in`.
#[derive(Debug, Clone, serde::Serialize)]
pub struct StepRecord {
    pub text: String,
    #[serde(flatten)]
    pub outcome: StepOutcome,
}

/// The steps of every scenario run so far, shared with the runner.
#[derive(Debug, Clone, Default)]
pub struct StepLog(Arc<Mutex<HashMap<ScenarioKey, Vec<StepRecord>>>>);

impl StepLog {
    /// The steps `key` ran, in order.
    pub fn steps(&self, key: &ScenarioKey) -> Vec<StepRecord> {
        self.0
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(key)
            .cloned()
            .unwrap_or_default()
    }

    fn record(&self, key: ScenarioKey, step: &gherkin::Step, outcome: StepOutcome) {
        self.0
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .entry(key)
            .or_default()
            .push(StepRecord {
                text: format!("{} {}", step.keyword.trim(), step.value),
                outcome,
            });
    }

    fn scenario_event<W>(
        &self,
        feature: &gherkin::Feature,
        scenario: &gherkin::Scenario,
        event: &event::Scenario<W>,
    ) {
        let (event::Scenario::Step(step, outcome) | event::Scenario::Background(step, outcome)) =
            event
        else {
            return;
        };
        let outcome = match outcome {
            event::Step::Started => return,
            event::Step::Passed(..) => StepOutcome::Passed,
            event::Step::Skipped => StepOutcome::Skipped,
            event::Step::Failed(_, _, _, error) => StepOutcome::Failed(step_error_text(error)),
        };
        self.record(scenario_key(feature, scenario), step, outcome);
    }
}

/// A step error as a person wants to read it: our steps fail with a message,
/// which cucumber wraps as a panic.
pub fn step_error_text(error: &event::StepError) -> String {
    let text = error.to_string();
    text.strip_prefix("Step panicked. Captured output: ")
        .map(str::to_owned)
        .unwrap_or(text)
}

impl<W: 'static> cucumber::Writer<W> for StepLog {
    type Cli = cli::Empty;

    async fn handle_event(
        &mut self,
        event: parser::Result<Event<event::Cucumber<W>>>,
        _: &Self::Cli,
    ) {
        let Ok(event) = event else { return };
        let event::Cucumber::Feature(feature, feature_event) = &event.value else {
            return;
        };
        match feature_event {
            event::Feature::Scenario(scenario, retryable)
            | event::Feature::Rule(_, event::Rule::Scenario(scenario, retryable)) => {
                self.scenario_event(feature, scenario, &retryable.event);
            }
            _ => {}
        }
    }
}
