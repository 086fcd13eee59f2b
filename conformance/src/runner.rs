//! Runs the features with the cucumber crate and decides the verdict:
//! capabilities, expected failures, strict mode, filters, shards, reports.

use std::collections::HashSet;
use std::io::{IsTerminal, Write as _};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use cucumber::gherkin::tagexpr::TagOperation;
use cucumber::tag::Ext as _;
use cucumber::{World as _, WriterExt as _, event, writer};
use futures::FutureExt as _;

use crate::progress::Progress;
pub use crate::report::{NotRun, Report, ScenarioResult, Verdict};
use crate::step_log::{StepLog, step_error_text};
use crate::world::{self, LinkWorld, Suite};

/// Why a run could not start.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    #[error("cannot read {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("cannot write {path}: {source}")]
    Write {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("bad --tags expression {0:?}: {1}")]
    Tags(String, String),
    #[error("bad --shard {0:?}: expected I/N with 1 <= I <= N")]
    Shard(String),
}

/// Everything a run needs.
#[derive(Debug, Clone)]
pub struct RunOptions {
    pub features: PathBuf,
    pub suite: Suite,
    /// Capability tags the client declared it lacks (without `@`).
    pub unsupported: Vec<String>,
    /// Scenario names known to fail.
    pub expected_failures: HashSet<String>,
    pub strict: bool,
    pub tags: Option<TagOperation>,
    pub name: Option<regex::Regex>,
    pub concurrency: usize,
    /// (index from 1, count)
    pub shard: Option<(u64, u64)>,
    pub fail_fast: bool,
    pub junit: Option<PathBuf>,
    pub json: Option<PathBuf>,
    /// Show progress: a live line on a terminal, a line per scenario elsewhere.
    pub progress: bool,
    /// Print every step as it runs (cucumber's own output) instead.
    pub verbose: bool,
}

impl RunOptions {
    /// Defaults: every feature of the repo, against `client`.
    pub fn new(features: PathBuf, suite: Suite) -> Self {
        Self {
            features,
            suite,
            unsupported: Vec::new(),
            expected_failures: HashSet::new(),
            strict: false,
            tags: None,
            name: None,
            concurrency: 4,
            shard: None,
            fail_fast: false,
            junit: None,
            json: None,
            progress: true,
            verbose: false,
        }
    }
}

/// Reads `--tags`.
pub fn parse_tags(text: &str) -> Result<TagOperation, RunError> {
    text.parse::<TagOperation>()
        .map_err(|e| RunError::Tags(text.to_owned(), e.to_string()))
}

/// Reads `--shard I/N`.
pub fn parse_shard(text: &str) -> Result<(u64, u64), RunError> {
    let bad = || RunError::Shard(text.to_owned());
    let (i, n) = text.split_once('/').ok_or_else(bad)?;
    let i: u64 = i.trim().parse().map_err(|_| bad())?;
    let n: u64 = n.trim().parse().map_err(|_| bad())?;
    if n == 0 || i == 0 || i > n {
        return Err(bad());
    }
    Ok((i, n))
}

/// Reads a list file: one entry per line, `#` starts a comment.
pub fn read_list(path: &PathBuf) -> Result<Vec<String>, RunError> {
    let text = std::fs::read_to_string(path).map_err(|source| RunError::Read {
        path: path.clone(),
        source,
    })?;
    Ok(text
        .lines()
        .map(|l| l.split('#').next().unwrap_or_default().trim())
        .filter(|l| !l.is_empty())
        .map(|l| l.trim_start_matches('@').to_owned())
        .collect())
}

fn norm(tag: &str) -> String {
    tag.trim_start_matches('@').to_owned()
}

/// FNV-1a, stable across runs and platforms (for --shard).
fn stable_hash(text: &str) -> u64 {
    text.bytes().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    })
}

/// Whether a scenario drives MCP.
fn needs_mcp(tags: &[String]) -> bool {
    tags.iter().any(|t| t == "mcp")
}

/// Runs the suite; the report decides the exit code.
pub async fn run(options: RunOptions) -> Result<Report, RunError> {
    let started = Instant::now();
    world::configure(options.suite.clone());
    let has_mcp = options.suite.mcp.is_some()
        || matches!(options.suite.client, crate::client::ClientSpec::Mcp(_));
    let all_mcp = matches!(options.suite.client, crate::client::ClientSpec::Mcp(_));

    let not_applicable: Arc<Mutex<Vec<NotRun>>> = Arc::default();
    let results: Arc<Mutex<Vec<ScenarioResult>>> = Arc::default();
    let expected: Arc<HashSet<String>> = Arc::new(options.expected_failures.clone());

    let progress = Arc::new(Progress::new(options.progress && !options.verbose));
    let step_log = StepLog::default();
    let filter = {
        let not_applicable = not_applicable.clone();
        let progress = progress.clone();
        let options = options.clone();
        move |feature: &cucumber::gherkin::Feature,
              rule: Option<&cucumber::gherkin::Rule>,
              scenario: &cucumber::gherkin::Scenario| {
            let tags: Vec<String> = feature
                .tags
                .iter()
                .chain(rule.map(|r| r.tags.iter()).into_iter().flatten())
                .chain(scenario.tags.iter())
                .map(|t| norm(t))
                .collect();
            if let Some(op) = &options.tags
                && !op.eval(tags.iter())
            {
                return false;
            }
            if let Some(re) = &options.name
                && !re.is_match(&scenario.name)
            {
                return false;
            }
            if let Some((i, n)) = options.shard
                && stable_hash(&format!("{}/{}", feature.name, scenario.name)) % n != i - 1
            {
                return false;
            }
            let skip = |reason: String| {
                not_applicable
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .push(NotRun {
                        feature: feature.name.clone(),
                        scenario: scenario.name.clone(),
                        reason,
                    });
                false
            };
            if let Some(cap) = tags.iter().find(|t| options.unsupported.contains(t)) {
                return skip(format!("not applicable: the client lacks @{cap}"));
            }
            if tags.iter().any(|t| t == "strict") && !options.strict {
                return skip("strict scenario: run with --strict".into());
            }
            if needs_mcp(&tags) && !has_mcp {
                return skip("not applicable: no MCP server (--mcp)".into());
            }
            if all_mcp && tags.iter().any(|t| t == "cli-only") {
                return skip("not applicable over MCP".into());
            }
            if tags.iter().any(|t| t == "browser") && !crate::steps::browser::browser_available() {
                return skip(
                    "not applicable: no Chromium and chromedriver here (apt-get install chromium chromium-driver; under CI=true @browser scenarios run and fail)".into(),
                );
            }
            progress.selected();
            true
        }
    };

    let open = |path: &Option<PathBuf>| -> Result<Box<dyn std::io::Write>, RunError> {
        Ok(match path {
            Some(path) => {
                if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
                    std::fs::create_dir_all(dir).map_err(|source| RunError::Write {
                        path: path.clone(),
                        source,
                    })?;
                }
                Box::new(
                    std::fs::File::create(path).map_err(|source| RunError::Write {
                        path: path.clone(),
                        source,
                    })?,
                )
            }
            None => Box::new(std::io::sink()),
        })
    };
    let json = open(&options.json)?;
    let steps_out: Box<dyn std::io::Write> = if options.verbose {
        Box::new(std::io::stdout())
    } else {
        Box::new(std::io::sink())
    };
    let coloring = if options.verbose && std::io::stdout().is_terminal() {
        writer::Coloring::Auto
    } else {
        writer::Coloring::Never
    };

    let mut cucumber = LinkWorld::cucumber()
        .max_concurrent_scenarios(options.concurrency.max(1))
        .before(
            |feature: &cucumber::gherkin::Feature,
             _: Option<&cucumber::gherkin::Rule>,
             scenario: &cucumber::gherkin::Scenario,
             world: &mut LinkWorld| {
                world.started = Instant::now();
                let tags: Vec<String> = feature
                    .tags
                    .iter()
                    .chain(scenario.tags.iter())
                    .map(|t| norm(t))
                    .collect();
                world.use_mcp = needs_mcp(&tags);
                async {}.boxed_local()
            },
        )
        .after({
            let results = results.clone();
            let expected = expected.clone();
            let progress = progress.clone();
            move |feature: &cucumber::gherkin::Feature,
                  rule: Option<&cucumber::gherkin::Rule>,
                  scenario: &cucumber::gherkin::Scenario,
                  finished: &event::ScenarioFinished,
                  world: Option<&mut LinkWorld>| {
                let tags: Vec<String> = feature
                    .tags
                    .iter()
                    .chain(rule.map(|r| r.tags.iter()).into_iter().flatten())
                    .chain(scenario.tags.iter())
                    .map(|t| norm(t))
                    .collect();
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
                let listed = expected.contains(&scenario.name);
                let verdict = match (passed, listed) {
                    (true, false) => Verdict::Passed,
                    (true, true) => Verdict::UnexpectedPass,
                    (false, true) => Verdict::ExpectedFailure,
                    (false, false) => Verdict::Failed,
                };
                let seconds = world
                    .as_ref()
                    .map(|w| w.started.elapsed())
                    .unwrap_or(Duration::ZERO)
                    .as_secs_f64();
                let result = ScenarioResult {
                    feature: feature.name.clone(),
                    scenario: scenario.name.clone(),
                    line: scenario.position.line,
                    strict: tags.iter().any(|t| t == "strict"),
                    tags: tags.iter().map(|t| format!("@{t}")).collect(),
                    verdict,
                    seconds,
                    error,
                    // Filled in once cucumber's writers have seen every step.
                    steps: Vec::new(),
                };
                progress.finished(&result);
                results
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .push(result);
                async {}.boxed_local()
            }
        })
        .with_writer(
            writer::Basic::raw(steps_out, coloring, 0)
                .summarized()
                .tee::<LinkWorld, _>(
                    step_log
                        .clone()
                        .discard_stats_writes()
                        .discard_arbitrary_writes(),
                )
                .tee::<LinkWorld, _>(writer::Json::for_tee(json))
                .normalized(),
        )
        .fail_on_skipped()
        // Last: with_writer and fail_on_skipped reset the CLI, which would
        // otherwise be parsed from this binary's own arguments.
        .with_default_cli();
    if options.fail_fast {
        cucumber = cucumber.fail_fast();
    }
    cucumber.filter_run(&options.features, filter).await;

    progress.done();

    let mut results = std::mem::take(&mut *results.lock().unwrap_or_else(|p| p.into_inner()));
    for result in &mut results {
        result.steps = step_log.steps(&result.key());
    }
    results.sort_by(|a, b| (&a.feature, a.line).cmp(&(&b.feature, b.line)));
    let not_applicable =
        std::mem::take(&mut *not_applicable.lock().unwrap_or_else(|p| p.into_inner()));
    let report = Report {
        client: options.suite.client.label(),
        results,
        not_applicable,
        seconds: started.elapsed().as_secs_f64(),
    };
    if let Some(path) = &options.junit {
        let xml = crate::junit::to_junit(&report).map_err(|source| RunError::Write {
            path: path.clone(),
            source,
        })?;
        open(&Some(path.clone()))?
            .write_all(&xml)
            .map_err(|source| RunError::Write {
                path: path.clone(),
                source,
            })?;
    }
    Ok(report)
}

fn first_line(text: &str) -> String {
    let line = text
        .lines()
        .find(|l| !l.trim().is_empty())
        .unwrap_or_default();
    line.chars().take(400).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shards_and_tags_parse() {
        assert_eq!(parse_shard("2/3").unwrap(), (2, 3));
        assert!(parse_shard("0/3").is_err());
        assert!(parse_shard("4/3").is_err());
        assert!(parse_shard("x").is_err());
        let op = parse_tags("@spt and not @mcp").unwrap();
        assert!(op.eval(["spt", "PAY-03"]));
        assert!(!op.eval(["spt", "mcp"]));
        assert_eq!(stable_hash("a"), stable_hash("a"));
    }
}
