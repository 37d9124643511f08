//! Command assets: an asset computed by an external program (any language) instead of a Rust
//! function. This is the definition only: what to run, where, with which environment and for
//! how long. The worker executes it (`worker::command`), speaking Dagster Pipes and orch's plain
//! environment protocol.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

/// The program of a command asset.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommandSpec {
    /// The program and its arguments; `argv[0]` is looked up on `PATH` unless it has a `/`, and
    /// a relative path is resolved against `cwd`.
    pub argv: Vec<String>,
    /// The working directory (a job file's directory); `None` is the worker's own.
    pub cwd: Option<PathBuf>,
    /// Variables added to the worker's environment for this command.
    pub env: BTreeMap<String, String>,
    /// The process group is killed and the attempt fails after this long.
    pub timeout: Option<Duration>,
}

impl CommandSpec {
    /// A command of `argv`, run in the worker's directory with its environment, no timeout.
    pub fn new<I, S>(argv: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        Self {
            argv: argv.into_iter().map(Into::into).collect(),
            cwd: None,
            env: BTreeMap::new(),
            timeout: None,
        }
    }

    pub fn cwd(mut self, dir: impl Into<PathBuf>) -> Self {
        self.cwd = Some(dir.into());
        self
    }

    pub fn env(mut self, name: &str, value: &str) -> Self {
        self.env.insert(name.to_owned(), value.to_owned());
        self
    }

    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = Some(timeout);
        self
    }
}
