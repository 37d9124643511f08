//! What is wrong with a job file, and where: `path:line:column: fault`, the way compilers
//! print it, so an editor can jump to it.

use std::fmt;
use std::path::PathBuf;

use crate::definitions::{ConfigError, DefinitionError, FreshnessError};
use crate::domain::{AssetKey, IdError};

/// A place in a file: 1-based line and column (in characters).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Position {
    pub line: usize,
    pub column: usize,
}

impl Position {
    pub const START: Position = Position { line: 1, column: 1 };

    /// The position of byte `offset` in `text`.
    pub fn of(text: &str, offset: usize) -> Self {
        let offset = offset.min(text.len());
        let before = text.get(..offset).unwrap_or(text);
        let line = before.matches('\n').count() + 1;
        let line_start = before.rfind('\n').map_or(0, |i| i + 1);
        let column = before.get(line_start..).map_or(0, |s| s.chars().count()) + 1;
        Self { line, column }
    }
}

/// Positions of many offsets in one text: the line starts, found once, then a binary search
/// per offset (a job file of 1 000 assets has thousands of spans; scanning from the start for
/// each would be quadratic).
#[derive(Debug)]
pub struct LineIndex<'t> {
    text: &'t str,
    /// The byte offset where each line starts; the first is 0.
    starts: Vec<usize>,
}

impl<'t> LineIndex<'t> {
    pub fn new(text: &'t str) -> Self {
        let starts = std::iter::once(0)
            .chain(text.match_indices('\n').map(|(i, _)| i + 1))
            .collect();
        Self { text, starts }
    }

    /// The position of byte `offset`, as [`Position::of`] computes it.
    pub fn position(&self, offset: usize) -> Position {
        let offset = offset.min(self.text.len());
        let line = self.starts.partition_point(|&start| start <= offset);
        let line_start = self.starts[line - 1];
        let column = self
            .text
            .get(line_start..offset)
            .map_or(0, |s| s.chars().count())
            + 1;
        Position { line, column }
    }
}

/// The faults of one file, each at its place.
pub type Located = Vec<(Position, Fault)>;

/// One fault of a job file.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum Fault {
    /// TOML syntax, a wrong type, a missing or unknown key (toml's own message).
    #[error("{0}")]
    Toml(String),
    #[error("{0}")]
    Name(#[from] IdError),
    #[error("the job has no assets; add at least one [[assets]] table")]
    NoAssets,
    #[error("partitions: {0}")]
    Partitions(#[from] crate::definitions::PartitionsError),
    #[error("max_partitions_per_run = {0} is out of range; use 1 to 10000")]
    MaxPartitionsPerRun(i64),
    #[error(
        "workdir is empty; name a directory (absolute, or relative to this file's), or leave it out"
    )]
    EmptyWorkdir,
    #[error("asset '{0}' is defined twice in this job")]
    DuplicateAsset(AssetKey),
    #[error(
        "asset '{asset}' depends on '{upstream}', which is not an asset of this job (its assets: {})",
        known.join(", ")
    )]
    UnknownUpstream {
        asset: AssetKey,
        upstream: AssetKey,
        known: Vec<String>,
    },
    #[error("the assets form a cycle (each depends on the next): {}", join(.0))]
    Cycle(Vec<AssetKey>),
    #[error("job '{job}' is already defined {elsewhere}")]
    DuplicateJob { job: String, elsewhere: String },
    #[error("schedule '{schedule}' is already defined {elsewhere}")]
    DuplicateSchedule { schedule: String, elsewhere: String },
    #[error("{key} = \"{value}\" is not a duration ({reason}); use e.g. 500ms, 30s, 5m or 1h 30m")]
    Duration {
        key: &'static str,
        value: String,
        reason: String,
    },
    #[error("{key} = \"{value}\" is zero; give a positive duration")]
    ZeroDuration { key: &'static str, value: String },
    #[error("{0}")]
    Definition(DefinitionError),
    #[error("asset '{asset}': {source}")]
    Freshness {
        asset: AssetKey,
        source: FreshnessError,
    },
    #[error(
        "asset '{0}': freshness needs either max_lag (with warn_lag) or cron (with timezone, warn_before)"
    )]
    FreshnessShape(AssetKey),
    #[error(
        "asset '{0}': command is empty; give the program and its arguments, e.g. [\"python3\", \"step.py\"]"
    )]
    EmptyCommand(AssetKey),
    #[error("asset '{asset}': check '{check}': command is empty")]
    EmptyCheckCommand { asset: AssetKey, check: String },
    #[error("asset '{0}': retry attempts must be at least 1 (1 means no retry)")]
    Attempts(AssetKey),
    #[error("asset '{0}': retry backoff must be a number of at least 1")]
    Backoff(AssetKey),
    #[error("asset '{asset}': '{name}' is not an environment variable name")]
    EnvName { asset: AssetKey, name: String },
    #[error("asset '{asset}': check severity '{value}' is neither 'warn' nor 'error'")]
    Severity { asset: AssetKey, value: String },
    #[error("asset '{asset}' has two checks named '{check}'")]
    DuplicateCheck { asset: AssetKey, check: String },
    #[error("config key '{key}': {reason}")]
    ConfigValue { key: String, reason: String },
    #[error("schedule '{schedule}': {source}")]
    ScheduleConfig {
        schedule: String,
        source: ConfigError,
    },
    #[error("schedule '{0}' is defined twice in this file")]
    ScheduleTwice(String),
    #[error("{0}")]
    Io(String),
}

fn join(keys: &[AssetKey]) -> String {
    keys.iter()
        .map(AssetKey::as_str)
        .collect::<Vec<_>>()
        .join(" -> ")
}

/// A fault in a file, at a place (none for a file that cannot be read).
#[derive(Debug, Clone, PartialEq)]
pub struct JobFileError {
    pub path: PathBuf,
    pub at: Option<Position>,
    pub fault: Fault,
}

impl fmt::Display for JobFileError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.at {
            Some(at) => write!(
                f,
                "{}:{}:{}: {}",
                self.path.display(),
                at.line,
                at.column,
                self.fault
            ),
            None => write!(f, "{}: {}", self.path.display(), self.fault),
        }
    }
}

impl std::error::Error for JobFileError {}

/// Every fault found in a set of job files, in file order; never empty.
#[derive(Debug, Clone, PartialEq)]
pub struct JobFileErrors(pub Vec<JobFileError>);

impl fmt::Display for JobFileErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let count = self.0.len();
        let noun = if count == 1 { "fault" } else { "faults" };
        write!(f, "the job files have {count} {noun}:")?;
        for error in &self.0 {
            write!(f, "\n  {error}")?;
        }
        Ok(())
    }
}

impl std::error::Error for JobFileErrors {}
