//! The job-file form of a partitions definition (`partitions = { daily = { start = "2026-01-01",
//! timezone = "UTC" } }`, `{ cron = { schedule = "…", start = "…" } }`, `{ static = ["eu", "us"] }`,
//! `{ dynamic = "customers" }`), parsed from a TOML value so the job-file loader can call it.

use serde::Deserialize;

use super::{Cadence, PartitionsDef, PartitionsError, TimeWindowSpec};

#[derive(Debug, Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
enum RawPartitions {
    Hourly(RawWindow),
    Daily(RawWindow),
    Weekly(RawWindow),
    Monthly(RawWindow),
    Cron(RawCron),
    Static(Vec<String>),
    Dynamic(String),
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawWindow {
    start: String,
    end: Option<String>,
    timezone: Option<String>,
    end_offset: Option<i64>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawCron {
    schedule: String,
    start: String,
    end: Option<String>,
    timezone: Option<String>,
    end_offset: Option<i64>,
}

impl PartitionsDef {
    /// Reads a definition from its job-file TOML form; exactly one kind, unknown keys refused.
    pub fn from_toml_value(value: &toml::Value) -> Result<Self, PartitionsError> {
        let raw: RawPartitions = value.clone().try_into().map_err(|e: toml::de::Error| {
            PartitionsError::Syntax(format!(
                "{} (expected one of hourly, daily, weekly, monthly, cron, static, dynamic)",
                e.message()
            ))
        })?;
        let window = |cadence: Cadence, w: RawWindow| {
            Self::time_window(TimeWindowSpec {
                cadence,
                start: w.start,
                end: w.end,
                timezone: w.timezone.unwrap_or_else(|| "UTC".to_owned()),
                end_offset: w.end_offset.unwrap_or(0),
            })
        };
        match raw {
            RawPartitions::Hourly(w) => window(Cadence::Hourly, w),
            RawPartitions::Daily(w) => window(Cadence::Daily, w),
            RawPartitions::Weekly(w) => window(Cadence::Weekly, w),
            RawPartitions::Monthly(w) => window(Cadence::Monthly, w),
            RawPartitions::Cron(c) => window(
                Cadence::Cron(c.schedule),
                RawWindow {
                    start: c.start,
                    end: c.end,
                    timezone: c.timezone,
                    end_offset: c.end_offset,
                },
            ),
            RawPartitions::Static(keys) => Self::static_keys(&keys),
            RawPartitions::Dynamic(name) => Self::dynamic(&name),
        }
    }
}
