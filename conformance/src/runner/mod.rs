//! Runs the features with the cucumber crate: `selection` decides which
//! scenarios run (filters, shards, capabilities, strict mode), `reporting`
//! turns how they ended into results (expected failures, progress, JUnit).

mod options;
mod reporting;
mod selection;

use std::sync::Arc;
use std::time::{Duration, Instant};

use cucumber::gherkin::{Feature, Rule, Scenario};
use cucumber::{World as _, WriterExt as _, event, writer};
use futures::FutureExt as _;

pub use self::options::{RunError, RunOptions};
use self::reporting::{Outputs, Results};
use self::selection::Selection;
pub use self::selection::{parse_shard, parse_tags, read_list};
pub use crate::report::{NotRun, Report, ScenarioResult, Verdict};
use crate::step_log::StepLog;
use crate::world::{self, LinkWorld};

/// Runs the suite; the report decides the exit code.
pub async fn run(options: RunOptions) -> Result<Report, RunError> {
    let started = Instant::now();
    world::configure(options.suite.clone());
    let selection = Arc::new(Selection::new(&options));
    let results = Arc::new(Results::new(&options));
    let step_log = StepLog::default();
    let outputs = Outputs::open(&options)?;

    let mut cucumber = LinkWorld::cucumber()
        .max_concurrent_scenarios(options.concurrency.max(1))
        .before({
            let selection = selection.clone();
            move |feature: &Feature,
                  _: Option<&Rule>,
                  scenario: &Scenario,
                  world: &mut LinkWorld| {
                world.started = Instant::now();
                world.use_mcp = selection.tags(feature, scenario).needs_mcp();
                async {}.boxed_local()
            }
        })
        .after({
            let selection = selection.clone();
            let results = results.clone();
            move |feature: &Feature,
                  _: Option<&Rule>,
                  scenario: &Scenario,
                  finished: &event::ScenarioFinished,
                  world: Option<&mut LinkWorld>| {
                let seconds = world.map_or(Duration::ZERO, |w| w.started.elapsed());
                let tags = selection.tags(feature, scenario);
                results.finished(feature, scenario, &tags, finished, seconds.as_secs_f64());
                async {}.boxed_local()
            }
        })
        .with_writer(
            writer::Basic::raw(outputs.steps, outputs.coloring, 0)
                .summarized()
                .tee::<LinkWorld, _>(
                    step_log
                        .clone()
                        .discard_stats_writes()
                        .discard_arbitrary_writes(),
                )
                .tee::<LinkWorld, _>(writer::Json::for_tee(outputs.json))
                .normalized(),
        )
        .fail_on_skipped()
        // Last: with_writer and fail_on_skipped reset the CLI, which would
        // otherwise be parsed from this binary's own arguments.
        .with_default_cli();
    if options.fail_fast {
        cucumber = cucumber.fail_fast();
    }
    let filter = {
        let selection = selection.clone();
        let results = results.clone();
        move |feature: &Feature, rule: Option<&Rule>, scenario: &Scenario| {
            let selected = selection.select(feature, rule, scenario);
            if selected {
                results.selected();
            }
            selected
        }
    };
    cucumber.filter_run(&options.features, filter).await;

    let report = Report {
        client: options.suite.client.label(),
        results: results.finish(&step_log),
        not_applicable: selection.take_not_applicable(),
        seconds: started.elapsed().as_secs_f64(),
    };
    if let Some(path) = &options.junit {
        reporting::write_junit(path, &report)?;
    }
    Ok(report)
}
