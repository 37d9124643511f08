//! `orch.toml`, the operator's file: settings that change without a rebuild (through Helm values,
//! say). Read from the path in `ORCH_CONFIG`, else `$ORCH_HOME/orch.toml` if it exists, else
//! empty; the binary resolves those paths, this module never reads the environment.
//!
//! Each section is its own struct with defaults, and unknown keys are refused, so a typo is an
//! error naming the file and the key rather than a setting silently ignored. Sections:
//! `[schedules.<name>]`, `[run_queue]` (see [`RunQueueSection`]), `[retention]` (see
//! [`crate::daemon::retention::RetentionPolicy`]), `[launcher]` (see [`LauncherSection`]) and
//! `[jobs]` (see [`JobsSection`]).
//!
//! ```toml
//! [schedules.product_pipeline_schedule]   # override a declared schedule…
//! cron = "0 */30 * * * *"
//! timezone = "Europe/Paris"
//! enabled = true                          # the default state; `orch schedules off` still wins
//! catch_up = "latest"                     # or "skip"
//!
//! [schedules.nightly]                     # …or add one for any job (job and cron required)
//! job = "product_pipeline_job"
//! cron = "0 0 2 * * *"
//! config = { timeout_seconds = 30 }
//! tags = { team = "data" }
//! ```

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Deserialize;
use serde_json::{Map, Value};

use crate::definitions::{CatchUp, DefinitionError, Definitions, ScheduleDef};
use crate::domain::{QueueLimits, ScheduleSwitch, TagKey, TagLimit};

/// The name of the file looked for in `ORCH_HOME`.
pub const FILE_NAME: &str = "orch.toml";

/// Why `orch.toml` cannot be used. Every message names the file.
#[derive(Debug, thiserror::Error)]
pub enum ConfigFileError {
    #[error("config file {} does not exist (ORCH_CONFIG names it)", path.display())]
    Missing { path: PathBuf },
    #[error("cannot read config file {}: {source}", path.display())]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("config file {}: {message}", path.display())]
    Parse { path: PathBuf, message: String },
    #[error("config file {}: [schedules.{schedule}]: {reason}", path.display())]
    Schedule {
        path: PathBuf,
        schedule: String,
        reason: String,
    },
    #[error("config file {}: {source}", path.display())]
    Definition {
        path: PathBuf,
        source: DefinitionError,
    },
}

/// The contents of `orch.toml`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct OrchConfig {
    /// The file it was read from; `None` when there was none.
    #[serde(skip)]
    pub path: Option<PathBuf>,
    /// `[schedules.<name>]`: overrides of declared schedules and added ones.
    pub schedules: BTreeMap<String, ScheduleSection>,
    /// `[run_queue]`: the daemon's concurrency limits.
    pub run_queue: RunQueueSection,
    /// `[retention]`: how long finished runs and schedule ticks are kept.
    pub retention: crate::daemon::retention::RetentionPolicy,
    /// `[launcher]`: which launcher starts workers, and its settings.
    pub launcher: LauncherSection,
    /// `[jobs]`: where the job files are.
    pub jobs: JobsSection,
    /// `[auth]`: how single sign-on groups map to roles.
    pub auth: AuthSection,
}

/// `[auth]`: `[auth.roles]` maps the groups a trusted proxy sends (`ORCH_AUTH_PROXY_GROUPS_HEADER`)
/// to roles: `data-eng = "operator"`; the group `"*"` applies to every signed-in user. The role
/// names are checked by `orch web` at start.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AuthSection {
    pub roles: BTreeMap<String, String>,
}

/// `[jobs]`: `dir = "jobs"`, the directory of job files (`ORCH_JOBS_DIR` wins when set); a
/// relative path is relative to this file's directory.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct JobsSection {
    pub dir: Option<PathBuf>,
}

/// `[launcher]`: `kind = "local" | "kubernetes"` (`ORCH_LAUNCHER` wins when set) and the
/// Kubernetes launcher's `[launcher.kubernetes]` table. That table is kept as data here and
/// parsed by the Kubernetes launcher (crate `launcher-k8s`), so this crate knows nothing of
/// Kubernetes.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct LauncherSection {
    pub kind: Option<LauncherKind>,
    pub kubernetes: Option<Map<String, Value>>,
}

/// Which launcher the daemon uses.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LauncherKind {
    /// `orch worker` as a child process of the daemon.
    #[default]
    Local,
    /// One Kubernetes Job per run.
    Kubernetes,
}

impl LauncherKind {
    /// Parses `local` or `kubernetes` (as in `ORCH_LAUNCHER`).
    pub fn parse(text: &str) -> Result<Self, String> {
        match text.trim() {
            "local" => Ok(Self::Local),
            "kubernetes" => Ok(Self::Kubernetes),
            other => Err(format!(
                "unknown launcher kind '{other}': expected 'local' or 'kubernetes'"
            )),
        }
    }
}

/// `[run_queue]`, like Dagster's `run_queue` settings:
///
/// ```toml
/// [run_queue]
/// max_concurrent_runs = 10          # ORCH_MAX_CONCURRENT_RUNS wins when set; 0 is unlimited
/// tag_limits = [
///   { key = "pipeline", value = "weather", limit = 1 },   # at most 1 run with pipeline=weather
///   { key = "team", limit = 2 },                          # at most 2 runs per value of `team`
/// ]
/// ```
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RunQueueSection {
    pub max_concurrent_runs: Option<u32>,
    pub tag_limits: Vec<TagLimitSection>,
}

/// One entry of `[run_queue] tag_limits`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TagLimitSection {
    pub key: String,
    pub value: Option<String>,
    pub limit: u32,
}

/// The default of `max_concurrent_runs`, as Dagster's.
pub const DEFAULT_MAX_CONCURRENT_RUNS: u32 = 10;

/// One `[schedules.<name>]` section. Every key is optional when it overrides a declared
/// schedule; a new schedule needs `job` and `cron`.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ScheduleSection {
    pub job: Option<String>,
    /// Seconds first: `0 0 * * * *` is every hour.
    pub cron: Option<String>,
    /// An IANA name; a new schedule defaults to UTC.
    pub timezone: Option<String>,
    /// Whether it runs until someone switches it; a new schedule defaults to on.
    pub enabled: Option<bool>,
    pub catch_up: Option<CatchUpSetting>,
    /// Run config keys, laid over the schedule's own.
    pub config: Option<Map<String, Value>>,
    /// Run tags, laid over the schedule's own.
    pub tags: Option<BTreeMap<String, String>>,
}

/// `catch_up = "skip" | "latest"`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum CatchUpSetting {
    Skip,
    Latest,
}

impl From<CatchUpSetting> for CatchUp {
    fn from(setting: CatchUpSetting) -> Self {
        match setting {
            CatchUpSetting::Skip => CatchUp::Skip,
            CatchUpSetting::Latest => CatchUp::Latest,
        }
    }
}

impl OrchConfig {
    /// Reads `explicit` (`ORCH_CONFIG`), which must exist, or else `orch_home/orch.toml` if it
    /// exists; with neither, the empty configuration.
    pub fn load(explicit: Option<&Path>, orch_home: &Path) -> Result<Self, ConfigFileError> {
        let (path, required) = match explicit {
            Some(path) => (path.to_path_buf(), true),
            None => (orch_home.join(FILE_NAME), false),
        };
        match std::fs::read_to_string(&path) {
            Ok(text) => Self::parse(&text, &path),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound && !required => Ok(Self::default()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                Err(ConfigFileError::Missing { path })
            }
            Err(source) => Err(ConfigFileError::Read { path, source }),
        }
    }

    /// Parses the text of the file at `path`.
    pub fn parse(text: &str, path: &Path) -> Result<Self, ConfigFileError> {
        let mut config: Self = toml::from_str(text).map_err(|e| ConfigFileError::Parse {
            path: path.to_path_buf(),
            message: e.to_string().trim_end().to_owned(),
        })?;
        config.path = Some(path.to_path_buf());
        Ok(config)
    }

    /// `[jobs] dir`, relative to this file's directory; `None` when the file sets none.
    pub fn jobs_dir(&self) -> Option<PathBuf> {
        let dir = self.jobs.dir.as_ref()?;
        let base = self.path.as_deref().and_then(Path::parent);
        Some(match base {
            Some(base) if dir.is_relative() => base.join(dir),
            _ => dir.clone(),
        })
    }

    /// The run queue's limits: `max_concurrent_runs` (an explicit value, e.g. from the
    /// environment, wins over the file; 0 is unlimited) and the tag limits, checked.
    pub fn queue_limits(
        &self,
        max_concurrent_runs: Option<u32>,
    ) -> Result<QueueLimits, ConfigFileError> {
        let max = max_concurrent_runs
            .or(self.run_queue.max_concurrent_runs)
            .unwrap_or(DEFAULT_MAX_CONCURRENT_RUNS);
        let tag_limits = self
            .run_queue
            .tag_limits
            .iter()
            .map(|t| {
                let key = TagKey::parse(&t.key).map_err(|e| ConfigFileError::Parse {
                    path: self.path.clone().unwrap_or_default(),
                    message: format!("[run_queue] tag_limits: {e}"),
                })?;
                Ok(TagLimit {
                    key,
                    value: t.value.clone(),
                    limit: t.limit,
                })
            })
            .collect::<Result<_, ConfigFileError>>()?;
        Ok(QueueLimits {
            max_concurrent_runs: (max > 0).then_some(max),
            tag_limits,
        })
    }

    /// The schedules in force: those declared in `definitions` with this file's overrides, then
    /// the ones this file adds. Each is validated as declared ones are (cron, time zone, known
    /// job, unique name).
    pub fn effective_schedules(
        &self,
        definitions: &Definitions,
    ) -> Result<Vec<ScheduleDef>, ConfigFileError> {
        let path = self
            .path
            .clone()
            .unwrap_or_else(|| PathBuf::from(FILE_NAME));
        let mut schedules = definitions.schedules().to_vec();
        for (name, section) in &self.schedules {
            let refuse = |reason: String| ConfigFileError::Schedule {
                path: path.clone(),
                schedule: name.clone(),
                reason,
            };
            let declared = schedules.iter().position(|s| s.name.as_str() == name);
            let builder = match declared {
                Some(i) => {
                    let job = schedules[i].job.as_str();
                    if let Some(other) = section.job.as_deref().filter(|other| *other != job) {
                        return Err(refuse(format!(
                            "the schedule is declared for job '{job}' and cannot be moved to \
                             job '{other}'; add a schedule with another name instead"
                        )));
                    }
                    schedules[i].to_builder()
                }
                None => {
                    let (Some(job), Some(cron)) = (&section.job, &section.cron) else {
                        return Err(refuse(
                            "no schedule of that name is declared, so this section adds one \
                             and needs both `job` and `cron`"
                                .to_owned(),
                        ));
                    };
                    ScheduleDef::builder(name, job, cron)
                }
            };
            let schedule =
                apply(section, builder)
                    .build()
                    .map_err(|source| ConfigFileError::Definition {
                        path: path.clone(),
                        source,
                    })?;
            match declared {
                Some(i) => schedules[i] = schedule,
                None => schedules.push(schedule),
            }
        }
        definitions
            .check_schedules(&schedules)
            .map_err(|source| ConfigFileError::Definition { path, source })?;
        Ok(schedules)
    }
}

/// Lays a section's keys over a schedule being built.
fn apply(
    section: &ScheduleSection,
    mut builder: crate::definitions::ScheduleDefBuilder,
) -> crate::definitions::ScheduleDefBuilder {
    if let Some(cron) = &section.cron {
        builder = builder.cron(cron);
    }
    if let Some(timezone) = &section.timezone {
        builder = builder.timezone(timezone);
    }
    if let Some(enabled) = section.enabled {
        builder = builder.default_switch(if enabled {
            ScheduleSwitch::On
        } else {
            ScheduleSwitch::Off
        });
    }
    if let Some(policy) = section.catch_up {
        builder = builder.catch_up(policy.into());
    }
    for (key, value) in section.config.iter().flatten() {
        builder = builder.config(key, value.clone());
    }
    for (key, value) in section.tags.iter().flatten() {
        builder = builder.tag(key, value);
    }
    builder
}

#[cfg(test)]
mod tests;
