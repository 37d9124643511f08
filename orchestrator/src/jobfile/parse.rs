//! The raw shape of a job file, as serde reads it from TOML: every key known (unknown keys are
//! refused by `deny_unknown_fields`), every value that is validated later kept with its span so
//! a fault can name the line and column. Nothing here is checked beyond TOML's own types.

use std::collections::BTreeMap;

use serde::Deserialize;
use toml::Spanned;

use super::error::{Fault, Position};
use crate::config::CatchUpSetting;

/// One job file.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawJobFile {
    pub name: Spanned<String>,
    #[serde(default)]
    pub description: String,
    /// The default run config; its keys are the keys a launch may set.
    pub config: Option<Spanned<toml::Table>>,
    /// Tags of every run of the job.
    pub tags: Option<Spanned<BTreeMap<String, String>>>,
    /// A run still going after this long fails ("exceeded max runtime").
    pub max_runtime: Option<Spanned<String>>,
    /// Where the commands run, and what relative program paths are resolved against:
    /// absolute, or relative to the file's directory (the default). A run pod on Kubernetes
    /// has no job files: there it names where the scripts are in the run image.
    pub workdir: Option<Spanned<String>>,
    /// Launcher settings by launcher kind (`[launcher.kubernetes]`), kept as given.
    #[serde(default)]
    pub launcher: BTreeMap<String, Spanned<toml::Table>>,
    #[serde(default)]
    pub assets: Vec<RawAsset>,
    #[serde(default)]
    pub schedules: Vec<RawSchedule>,
    /// How the job's assets are partitioned (`{ daily = { start = "2026-01-01" } }`, …).
    pub partitions: Option<Spanned<toml::Value>>,
    /// Backfill policy: up to this many partitions in one run (default one run per partition).
    pub max_partitions_per_run: Option<Spanned<i64>>,
}

/// One `[[assets]]` table: a command asset.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawAsset {
    pub name: Spanned<String>,
    #[serde(default)]
    pub description: String,
    #[serde(default)]
    pub upstream: Vec<Spanned<String>>,
    /// argv; a relative program path is resolved against the file's directory.
    pub command: Spanned<Vec<String>>,
    pub env: Option<Spanned<BTreeMap<String, String>>>,
    pub timeout: Option<Spanned<String>>,
    pub retry: Option<Spanned<RawRetry>>,
    pub freshness: Option<Spanned<RawFreshness>>,
    #[serde(default)]
    pub checks: Vec<Spanned<RawCheck>>,
}

/// `retry = { attempts = 3, delay = "500ms" }`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawRetry {
    /// Attempts in all, the first included.
    pub attempts: Spanned<u32>,
    /// Before the second attempt (default 1s).
    pub delay: Option<Spanned<String>>,
    /// Each further delay is the previous one times this (default 2).
    pub backoff: Option<Spanned<f64>>,
    /// Upper bound of one delay (default 5m).
    pub max_delay: Option<Spanned<String>>,
}

/// `freshness = { max_lag = "7h", warn_lag = "6h" }` or
/// `freshness = { cron = "0 30 6 * * *", timezone = "Europe/Paris", warn_before = "30m" }`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawFreshness {
    pub max_lag: Option<Spanned<String>>,
    pub warn_lag: Option<Spanned<String>>,
    pub cron: Option<Spanned<String>>,
    pub timezone: Option<Spanned<String>>,
    pub warn_before: Option<Spanned<String>>,
}

/// One entry of `checks = [...]`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawCheck {
    pub name: Spanned<String>,
    #[serde(default)]
    pub description: String,
    #[serde(default)]
    pub blocking: bool,
    pub severity: Option<Spanned<String>>,
    /// Run after the asset materializes; exit 0 passes the check.
    pub command: Option<Spanned<Vec<String>>>,
}

/// One `[[schedules]]` table of the file's job.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawSchedule {
    pub name: Spanned<String>,
    pub cron: Spanned<String>,
    pub timezone: Option<Spanned<String>>,
    pub enabled: Option<bool>,
    pub catch_up: Option<CatchUpSetting>,
    pub config: Option<Spanned<toml::Table>>,
    pub tags: Option<Spanned<BTreeMap<String, String>>>,
}

/// Parses `text`; a TOML syntax error, a wrong type or an unknown key is one fault at its place.
pub fn parse(text: &str) -> Result<RawJobFile, (Position, Fault)> {
    toml::from_str(text).map_err(|e| {
        let at = e
            .span()
            .map(|span| Position::of(text, span.start))
            .unwrap_or(Position::START);
        // serde says "field"; a TOML user writes keys.
        let message = e
            .message()
            .trim_end()
            .replace("unknown field", "unknown key");
        (at, Fault::Toml(message))
    })
}
