//! From the raw file to a typed [`JobSpec`]: names parsed, durations and crons checked,
//! commands resolved against the file's directory, upstreams known, and every fault collected
//! with its position rather than stopping at the first. Pure: the directory is given, nothing
//! is read.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde_json::{Map, Value};
use toml::Spanned;

use super::error::{Fault, LineIndex, Position};
use super::parse::{RawAsset, RawCheck, RawFreshness, RawJobFile, RawRetry, RawSchedule};
use crate::definitions::cron::CronError;
use crate::definitions::{CommandSpec, DefinitionError, FreshnessPolicy, RetryPolicy, ScheduleDef};
use crate::domain::{AssetKey, CheckSeverity, JobName, ScheduleSwitch, TagKey, Tags};

/// A job file's job, typed and checked (all but the cycle check, which the graph does).
#[derive(Debug, Clone)]
pub struct JobSpec {
    pub name: JobName,
    pub name_at: Position,
    pub description: String,
    pub config: Map<String, Value>,
    pub tags: Tags,
    pub max_runtime: Option<Duration>,
    /// By launcher kind, as given.
    pub launcher: BTreeMap<String, Map<String, Value>>,
    pub assets: Vec<AssetSpec>,
    pub schedules: Vec<ScheduleSpec>,
    /// `partitions = { … }`.
    pub partitions: Option<crate::definitions::PartitionsDef>,
    /// `max_partitions_per_run` (backfills).
    pub max_partitions_per_run: Option<u32>,
}

/// One command asset.
#[derive(Debug, Clone)]
pub struct AssetSpec {
    pub at: Position,
    pub key: AssetKey,
    pub description: String,
    pub upstream: Vec<AssetKey>,
    pub command: CommandSpec,
    pub retry: RetryPolicy,
    pub freshness: Option<FreshnessPolicy>,
    pub checks: Vec<CheckSpec>,
}

/// One check of an asset: reported by the asset's own Pipes messages, or, with a command, run
/// after the asset (exit 0 passes).
#[derive(Debug, Clone, PartialEq)]
pub struct CheckSpec {
    pub at: Position,
    pub name: String,
    pub description: String,
    pub blocking: bool,
    pub severity: CheckSeverity,
    pub command: Option<CommandSpec>,
}

/// One schedule of the job.
#[derive(Debug, Clone)]
pub struct ScheduleSpec {
    pub at: Position,
    pub def: ScheduleDef,
}

/// The default delay before a retry when `retry` gives none.
const DEFAULT_RETRY_DELAY: Duration = Duration::from_secs(1);

/// Checks `raw`, read from `text` in directory `dir` (absolute: commands run there, or in its
/// `workdir`).
pub fn validate(
    raw: RawJobFile,
    text: &str,
    dir: &Path,
) -> Result<JobSpec, Vec<(Position, Fault)>> {
    let mut faults = Vec::new();
    let workdir = match &raw.workdir {
        Some(w) if w.get_ref().trim().is_empty() => {
            faults.push((Position::of(text, w.span().start), Fault::EmptyWorkdir));
            dir.to_path_buf()
        }
        // An absolute workdir replaces the file's directory.
        Some(w) => dir.join(w.get_ref()),
        None => dir.to_path_buf(),
    };
    let mut v = Validator {
        lines: LineIndex::new(text),
        dir: &workdir,
        faults,
    };
    let spec = v.job(raw);
    match spec {
        Some(spec) if v.faults.is_empty() => Ok(spec),
        _ => {
            v.faults.sort_by_key(|(at, _)| *at);
            Err(v.faults)
        }
    }
}

struct Validator<'a> {
    lines: LineIndex<'a>,
    dir: &'a Path,
    faults: Vec<(Position, Fault)>,
}

impl Validator<'_> {
    fn at<T>(&self, spanned: &Spanned<T>) -> Position {
        self.lines.position(spanned.span().start)
    }

    fn fault(&mut self, at: Position, fault: impl Into<Fault>) {
        self.faults.push((at, fault.into()));
    }

    fn job(&mut self, raw: RawJobFile) -> Option<JobSpec> {
        let name_at = self.at(&raw.name);
        let name = self.ok(name_at, JobName::parse(raw.name.get_ref()));
        let config = raw
            .config
            .as_ref()
            .map(|c| self.table(c))
            .unwrap_or_default();
        let tags = raw.tags.as_ref().map(|t| self.tags(t)).unwrap_or_default();
        let max_runtime = raw
            .max_runtime
            .as_ref()
            .and_then(|d| self.duration("max_runtime", d));
        let launcher = raw
            .launcher
            .into_iter()
            .map(|(kind, table)| (kind, self.table(&table)))
            .collect();
        if raw.assets.is_empty() {
            self.fault(name_at, Fault::NoAssets);
        }
        let partitions = raw.partitions.as_ref().and_then(|p| {
            let at = self.at(p);
            self.ok(
                at,
                crate::definitions::PartitionsDef::from_toml_value(p.get_ref()),
            )
        });
        let max_partitions_per_run = raw.max_partitions_per_run.as_ref().and_then(|m| {
            let at = self.at(m);
            let n = *m.get_ref();
            match u32::try_from(n) {
                Ok(ok @ 1..=10_000) => Some(ok),
                _ => {
                    self.fault(at, Fault::MaxPartitionsPerRun(n));
                    None
                }
            }
        });
        let assets = self.assets(raw.assets);
        let schedules = match &name {
            Some(job) => raw
                .schedules
                .into_iter()
                .filter_map(|s| self.schedule(job, s))
                .collect(),
            None => Vec::new(),
        };
        Some(JobSpec {
            name: name?,
            name_at,
            description: raw.description,
            config,
            tags,
            max_runtime,
            launcher,
            assets,
            schedules,
            partitions,
            max_partitions_per_run,
        })
    }

    fn ok<T, E: Into<Fault>>(&mut self, at: Position, result: Result<T, E>) -> Option<T> {
        result.map_err(|e| self.fault(at, e)).ok()
    }

    fn assets(&mut self, raws: Vec<RawAsset>) -> Vec<AssetSpec> {
        let keys: Vec<Option<AssetKey>> = raws
            .iter()
            .map(|r| {
                let at = self.at(&r.name);
                self.ok(at, AssetKey::parse(r.name.get_ref()))
            })
            .collect();
        let known: BTreeSet<&AssetKey> = keys.iter().flatten().collect();
        let known_names: Vec<String> = known.iter().map(|k| k.to_string()).collect();
        let mut seen = BTreeSet::new();
        let mut upstreams = Vec::new();
        for (raw, key) in raws.iter().zip(&keys) {
            let Some(key) = key else {
                upstreams.push(Vec::new());
                continue;
            };
            if !seen.insert(key.clone()) {
                let at = self.at(&raw.name);
                self.fault(at, Fault::DuplicateAsset(key.clone()));
            }
            let mut upstream = Vec::new();
            for up in &raw.upstream {
                let at = self.at(up);
                let Some(up_key) = self.ok(at, AssetKey::parse(up.get_ref())) else {
                    continue;
                };
                if !known.contains(&up_key) {
                    self.fault(
                        at,
                        Fault::UnknownUpstream {
                            asset: key.clone(),
                            upstream: up_key,
                            known: known_names.clone(),
                        },
                    );
                    continue;
                }
                upstream.push(up_key);
            }
            upstreams.push(upstream);
        }
        raws.into_iter()
            .zip(keys)
            .zip(upstreams)
            .filter_map(|((raw, key), upstream)| self.asset(raw, key?, upstream))
            .collect()
    }

    fn asset(
        &mut self,
        raw: RawAsset,
        key: AssetKey,
        upstream: Vec<AssetKey>,
    ) -> Option<AssetSpec> {
        let at = self.at(&raw.name);
        let mut command = self.command(&raw.command, || Fault::EmptyCommand(key.clone()));
        if let Some(env) = &raw.env {
            let env_at = self.at(env);
            for (name, value) in env.get_ref() {
                if name.is_empty() || name.contains(['=', '\0']) {
                    let fault = Fault::EnvName {
                        asset: key.clone(),
                        name: name.clone(),
                    };
                    self.fault(env_at, fault);
                }
                if let Some(command) = &mut command {
                    command.env.insert(name.clone(), value.clone());
                }
            }
        }
        if let Some(timeout) = &raw.timeout
            && let Some(timeout) = self.duration("timeout", timeout)
            && let Some(command) = &mut command
        {
            command.timeout = Some(timeout);
        }
        let retry = match &raw.retry {
            Some(retry) => self.retry(&key, retry),
            None => Some(RetryPolicy::NONE),
        };
        let freshness = match &raw.freshness {
            Some(f) => self.freshness(&key, f).map(Some),
            None => Some(None),
        };
        let checks = self.checks(&key, raw.checks);
        Some(AssetSpec {
            at,
            key,
            description: raw.description,
            upstream,
            command: command?,
            retry: retry?,
            freshness: freshness?,
            checks,
        })
    }

    /// argv with a relative program path made absolute against the commands' directory (the
    /// file's, or its `workdir`), run there.
    fn command(
        &mut self,
        argv: &Spanned<Vec<String>>,
        empty: impl FnOnce() -> Fault,
    ) -> Option<CommandSpec> {
        let mut args = argv.get_ref().clone();
        let Some(program) = args.first_mut().filter(|p| !p.trim().is_empty()) else {
            let at = self.at(argv);
            self.fault(at, empty());
            return None;
        };
        if program.contains('/') && Path::new(program.as_str()).is_relative() {
            *program = self.dir.join(program.as_str()).display().to_string();
        }
        Some(CommandSpec::new(args).cwd(PathBuf::from(self.dir)))
    }

    fn retry(&mut self, key: &AssetKey, raw: &Spanned<RawRetry>) -> Option<RetryPolicy> {
        let retry = raw.get_ref();
        let attempts = *retry.attempts.get_ref();
        if attempts == 0 {
            let at = self.at(&retry.attempts);
            self.fault(at, Fault::Attempts(key.clone()));
            return None;
        }
        let delay = match &retry.delay {
            Some(d) => self.duration_or_zero("retry.delay", d)?,
            None => DEFAULT_RETRY_DELAY,
        };
        let mut policy = RetryPolicy::exponential(attempts, delay);
        if let Some(backoff) = &retry.backoff {
            let factor = *backoff.get_ref();
            if !(factor.is_finite() && factor >= 1.0) {
                let at = self.at(backoff);
                self.fault(at, Fault::Backoff(key.clone()));
                return None;
            }
            policy.backoff_factor = factor;
        }
        if let Some(max) = &retry.max_delay {
            policy.max_delay = self.duration("retry.max_delay", max)?;
        }
        Some(policy)
    }

    fn freshness(
        &mut self,
        key: &AssetKey,
        raw: &Spanned<RawFreshness>,
    ) -> Option<FreshnessPolicy> {
        let at = self.at(raw);
        let f = raw.get_ref();
        let policy = match (&f.max_lag, &f.cron) {
            (Some(max_lag), None) if f.timezone.is_none() && f.warn_before.is_none() => {
                let fail = self.duration("freshness.max_lag", max_lag)?;
                let warn = match &f.warn_lag {
                    Some(w) => Some(self.duration("freshness.warn_lag", w)?),
                    None => None,
                };
                FreshnessPolicy::max_lag(fail, warn)
            }
            (None, Some(cron)) if f.warn_lag.is_none() => {
                let warn = match &f.warn_before {
                    Some(w) => Some(self.duration("freshness.warn_before", w)?),
                    None => None,
                };
                let timezone = f.timezone.as_ref().map_or("UTC", |t| t.get_ref().as_str());
                FreshnessPolicy::deadline(cron.get_ref(), timezone, warn)
            }
            _ => {
                self.fault(at, Fault::FreshnessShape(key.clone()));
                return None;
            }
        };
        let at = match &f.cron {
            Some(cron) => self.at(cron),
            None => at,
        };
        self.ok(
            at,
            policy.map_err(|source| Fault::Freshness {
                asset: key.clone(),
                source,
            }),
        )
    }

    fn checks(&mut self, key: &AssetKey, raws: Vec<Spanned<RawCheck>>) -> Vec<CheckSpec> {
        let mut checks: Vec<CheckSpec> = Vec::new();
        for raw in raws {
            let raw = raw.into_inner();
            let at = self.at(&raw.name);
            let name = raw.name.get_ref().clone();
            // The same rules as an asset key: the name appears in events and URLs.
            if self.ok(at, AssetKey::parse(&name)).is_none() {
                continue;
            }
            if checks.iter().any(|c| c.name == name) {
                let fault = Fault::DuplicateCheck {
                    asset: key.clone(),
                    check: name.clone(),
                };
                self.fault(at, fault);
            }
            let severity = match &raw.severity {
                None => CheckSeverity::Error,
                Some(s) => match CheckSeverity::parse(s.get_ref()) {
                    Some(severity) => severity,
                    None => {
                        let at = self.at(s);
                        let fault = Fault::Severity {
                            asset: key.clone(),
                            value: s.get_ref().clone(),
                        };
                        self.fault(at, fault);
                        continue;
                    }
                },
            };
            let command = match &raw.command {
                Some(argv) => {
                    let empty = || Fault::EmptyCheckCommand {
                        asset: key.clone(),
                        check: name.clone(),
                    };
                    match self.command(argv, empty) {
                        Some(command) => Some(command),
                        None => continue,
                    }
                }
                None => None,
            };
            checks.push(CheckSpec {
                at,
                name,
                description: raw.description,
                blocking: raw.blocking,
                severity,
                command,
            });
        }
        checks
    }

    fn schedule(&mut self, job: &JobName, raw: RawSchedule) -> Option<ScheduleSpec> {
        let at = self.at(&raw.name);
        let mut builder =
            ScheduleDef::builder(raw.name.get_ref(), job.as_str(), raw.cron.get_ref());
        if let Some(tz) = &raw.timezone {
            builder = builder.timezone(tz.get_ref());
        }
        if let Some(enabled) = raw.enabled {
            builder = builder.default_switch(if enabled {
                ScheduleSwitch::On
            } else {
                ScheduleSwitch::Off
            });
        }
        if let Some(catch_up) = raw.catch_up {
            builder = builder.catch_up(catch_up.into());
        }
        if let Some(config) = &raw.config {
            for (key, value) in self.table(config) {
                builder = builder.config(&key, value);
            }
        }
        if let Some(tags) = &raw.tags {
            for (key, value) in tags.get_ref() {
                builder = builder.tag(key, value);
            }
        }
        match builder.build() {
            Ok(def) => Some(ScheduleSpec { at, def }),
            Err(e) => {
                let fault_at = match &e {
                    DefinitionError::ScheduleCron {
                        source: CronError::Expression { .. },
                        ..
                    } => self.at(&raw.cron),
                    DefinitionError::ScheduleCron { .. } => {
                        raw.timezone.as_ref().map_or(at, |tz| self.at(tz))
                    }
                    DefinitionError::ReservedTag { .. } => {
                        raw.tags.as_ref().map_or(at, |t| self.at(t))
                    }
                    _ => at,
                };
                self.fault(fault_at, Fault::Definition(e));
                None
            }
        }
    }

    fn tags(&mut self, raw: &Spanned<BTreeMap<String, String>>) -> Tags {
        let at = self.at(raw);
        let mut tags = Tags::new();
        for (key, value) in raw.get_ref() {
            if let Some(key) = self.ok(at, TagKey::parse(key)) {
                tags.insert(key, value.clone());
            }
        }
        tags
    }

    fn table(&mut self, raw: &Spanned<toml::Table>) -> Map<String, Value> {
        let at = self.at(raw);
        self.table_at(at, raw.get_ref())
    }

    fn table_at(&mut self, at: Position, table: &toml::Table) -> Map<String, Value> {
        let mut map = Map::new();
        for (key, value) in table {
            match to_json(value) {
                Ok(json) => {
                    map.insert(key.clone(), json);
                }
                Err(reason) => self.fault(
                    at,
                    Fault::ConfigValue {
                        key: key.clone(),
                        reason,
                    },
                ),
            }
        }
        map
    }

    fn duration(&mut self, key: &'static str, raw: &Spanned<String>) -> Option<Duration> {
        let d = self.duration_or_zero(key, raw)?;
        if d.is_zero() {
            let at = self.at(raw);
            let value = raw.get_ref().clone();
            self.fault(at, Fault::ZeroDuration { key, value });
            return None;
        }
        Some(d)
    }

    fn duration_or_zero(&mut self, key: &'static str, raw: &Spanned<String>) -> Option<Duration> {
        match humantime::parse_duration(raw.get_ref().trim()) {
            Ok(d) => Some(d),
            Err(e) => {
                let at = self.at(raw);
                let fault = Fault::Duration {
                    key,
                    value: raw.get_ref().clone(),
                    reason: e.to_string(),
                };
                self.fault(at, fault);
                None
            }
        }
    }
}

/// A TOML value as JSON: datetimes become their RFC 3339 text.
fn to_json(value: &toml::Value) -> Result<Value, String> {
    Ok(match value {
        toml::Value::String(s) => Value::String(s.clone()),
        toml::Value::Integer(i) => Value::from(*i),
        toml::Value::Float(f) => serde_json::Number::from_f64(*f)
            .map(Value::Number)
            .ok_or_else(|| format!("{f} is not a finite number, which JSON cannot hold"))?,
        toml::Value::Boolean(b) => Value::Bool(*b),
        toml::Value::Datetime(d) => Value::String(d.to_string()),
        toml::Value::Array(items) => {
            Value::Array(items.iter().map(to_json).collect::<Result<_, _>>()?)
        }
        toml::Value::Table(table) => {
            let mut map = Map::new();
            for (key, value) in table {
                map.insert(key.clone(), to_json(value)?);
            }
            Value::Object(map)
        }
    })
}
