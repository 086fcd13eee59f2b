//! What a run is asked to do, and why it could not start.

use std::collections::HashSet;
use std::path::PathBuf;

use cucumber::gherkin::tagexpr::TagOperation;

use crate::world::Suite;

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
