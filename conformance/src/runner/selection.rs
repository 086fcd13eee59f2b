//! Which scenarios run: the `--tags`, `--name` and `--shard` filters, and what
//! the client (its profile: capabilities it lacks, `--strict`, MCP) and this
//! machine (Chromium) can do. Each scenario's tags are gathered once, when it
//! is selected, and read back by the hooks that run it.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Mutex;

use cucumber::gherkin::tagexpr::TagOperation;
use cucumber::gherkin::{Feature, Rule, Scenario};
use cucumber::tag::Ext as _;

use super::options::{RunError, RunOptions};
use crate::client::ClientSpec;
use crate::report::NotRun;
use crate::step_log::{ScenarioKey, scenario_key};

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

/// Reads a list file (a profile's capabilities or expected failures): one
/// entry per line, `#` starts a comment.
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

/// FNV-1a, stable across runs and platforms (for --shard).
fn stable_hash(text: &str) -> u64 {
    text.bytes().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    })
}

/// The tags of one scenario: its feature's, its rule's and its own, without `@`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ScenarioTags(Vec<String>);

impl ScenarioTags {
    pub fn of(feature: &Feature, rule: Option<&Rule>, scenario: &Scenario) -> Self {
        Self(
            feature
                .tags
                .iter()
                .chain(rule.map(|r| r.tags.iter()).into_iter().flatten())
                .chain(scenario.tags.iter())
                .map(|t| t.trim_start_matches('@').to_owned())
                .collect(),
        )
    }

    pub fn has(&self, tag: &str) -> bool {
        self.0.iter().any(|t| t == tag)
    }

    /// Whether the scenario drives MCP (`@mcp`).
    pub fn needs_mcp(&self) -> bool {
        self.has("mcp")
    }

    /// Whether the scenario runs only with `--strict` (`@strict`).
    pub fn is_strict(&self) -> bool {
        self.has("strict")
    }

    /// The tags as the feature file writes them, with `@`.
    pub fn with_at(&self) -> Vec<String> {
        self.0.iter().map(|t| format!("@{t}")).collect()
    }
}

/// What becomes of one scenario.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Choice {
    Run,
    /// Left out by a filter of the run (`--tags`, `--name`, `--shard`): not reported.
    Filtered,
    /// Cannot run with this client or machine: reported, with why.
    NotApplicable(String),
}

/// The run's selection: its filters, what the client and machine can do, and
/// what it decided so far.
#[derive(Debug)]
pub struct Selection {
    tags: Option<TagOperation>,
    name: Option<regex::Regex>,
    shard: Option<(u64, u64)>,
    unsupported: Vec<String>,
    strict: bool,
    /// An MCP server is there for `@mcp` scenarios.
    has_mcp: bool,
    /// Every scenario drives an MCP server (`--client` is one).
    all_mcp: bool,
    /// The tags of every selected scenario.
    selected: Mutex<HashMap<ScenarioKey, ScenarioTags>>,
    not_applicable: Mutex<Vec<NotRun>>,
}

impl Selection {
    pub fn new(options: &RunOptions) -> Self {
        let all_mcp = matches!(options.suite.client, ClientSpec::Mcp(_));
        Self {
            tags: options.tags.clone(),
            name: options.name.clone(),
            shard: options.shard,
            unsupported: options.unsupported.clone(),
            strict: options.strict,
            has_mcp: all_mcp || options.suite.mcp.is_some(),
            all_mcp,
            selected: Mutex::default(),
            not_applicable: Mutex::default(),
        }
    }

    /// Cucumber's filter: whether the scenario runs. Remembers its tags when
    /// it does, and why it cannot when it is not applicable.
    pub fn select(&self, feature: &Feature, rule: Option<&Rule>, scenario: &Scenario) -> bool {
        let tags = ScenarioTags::of(feature, rule, scenario);
        match self.choose(feature, scenario, &tags) {
            Choice::Run => {
                lock(&self.selected).insert(scenario_key(feature, scenario), tags);
                true
            }
            Choice::Filtered => false,
            Choice::NotApplicable(reason) => {
                lock(&self.not_applicable).push(NotRun {
                    feature: feature.name.clone(),
                    scenario: scenario.name.clone(),
                    reason,
                });
                false
            }
        }
    }

    fn choose(&self, feature: &Feature, scenario: &Scenario, tags: &ScenarioTags) -> Choice {
        if self.tags.as_ref().is_some_and(|op| !op.eval(tags.0.iter()))
            || self
                .name
                .as_ref()
                .is_some_and(|re| !re.is_match(&scenario.name))
            || self.shard.is_some_and(|(i, n)| {
                stable_hash(&format!("{}/{}", feature.name, scenario.name)) % n != i - 1
            })
        {
            return Choice::Filtered;
        }
        let not_applicable = |reason: &str| Choice::NotApplicable(reason.to_owned());
        if let Some(cap) = tags.0.iter().find(|t| self.unsupported.contains(t)) {
            return Choice::NotApplicable(format!("not applicable: the client lacks @{cap}"));
        }
        if tags.is_strict() && !self.strict {
            return not_applicable("strict scenario: run with --strict");
        }
        if tags.needs_mcp() && !self.has_mcp {
            return not_applicable("not applicable: no MCP server (--mcp)");
        }
        if self.all_mcp && tags.has("cli-only") {
            return not_applicable("not applicable over MCP");
        }
        if tags.has("browser") && !crate::steps::browser::browser_available() {
            return not_applicable(
                "not applicable: no Chromium and chromedriver here (apt-get install chromium chromium-driver; under CI=true @browser scenarios run and fail)",
            );
        }
        Choice::Run
    }

    /// The tags of a scenario [`Selection::select`] let run.
    pub fn tags(&self, feature: &Feature, scenario: &Scenario) -> ScenarioTags {
        // Cucumber runs only the scenarios the filter kept, as it saw them.
        lock(&self.selected)
            .get(&scenario_key(feature, scenario))
            .cloned()
            .unwrap_or_default()
    }

    /// The scenarios that could not run, and why.
    pub fn take_not_applicable(&self) -> Vec<NotRun> {
        std::mem::take(&mut *lock(&self.not_applicable))
    }
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|p| p.into_inner())
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
