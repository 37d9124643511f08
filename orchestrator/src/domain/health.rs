//! Asset health: per asset the worst of what is known of it — whether it was ever
//! materialized, its checks' latest verdicts and its freshness — as `healthy`, `warning`,
//! `degraded` or `unknown`, with the reasons. Pure: the caller reads the parts from the store.

use chrono::{DateTime, Utc};

use super::{AssetKey, CheckSeverity, FreshnessState, RunId};

/// The latest verdict of one check of an asset.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LatestCheck {
    pub asset_key: AssetKey,
    pub check: String,
    pub run_id: RunId,
    pub passed: bool,
    pub severity: CheckSeverity,
    pub evaluated_at: DateTime<Utc>,
    /// The partition the verdict is about (`None`: an unpartitioned run's).
    pub partition: Option<String>,
}

/// How healthy an asset is, worst last.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Health {
    /// Nothing is known: never materialized, no check, no freshness verdict.
    Unknown,
    Healthy,
    Warning,
    Degraded,
}

impl Health {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Unknown => "unknown",
            Self::Healthy => "healthy",
            Self::Warning => "warning",
            Self::Degraded => "degraded",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        [Self::Unknown, Self::Healthy, Self::Warning, Self::Degraded]
            .into_iter()
            .find(|h| h.as_str() == s)
    }
}

/// What is known of one asset.
#[derive(Debug, Clone, Copy, Default)]
pub struct HealthInputs<'a> {
    pub materialized_at: Option<DateTime<Utc>>,
    pub checks: &'a [LatestCheck],
    pub freshness: Option<(FreshnessState, &'a str)>,
}

/// The health of an asset and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AssetHealth {
    pub health: Health,
    pub reasons: Vec<String>,
}

/// The worst of the parts: a failed ERROR check or an overdue asset is degraded, a failed WARN
/// check or a freshness warning is a warning; with no part known, unknown.
pub fn health_of(inputs: &HealthInputs<'_>) -> AssetHealth {
    // Each known part, with the reason it gives when it is not good.
    let mut parts: Vec<(Health, Option<String>)> = Vec::new();
    match inputs.materialized_at {
        Some(_) => parts.push((Health::Healthy, None)),
        None => parts.push((Health::Unknown, Some("never materialized".to_owned()))),
    }
    for check in inputs.checks {
        let part = match (check.passed, check.severity) {
            (true, _) => (Health::Healthy, None),
            (false, severity) => (
                match severity {
                    CheckSeverity::Error => Health::Degraded,
                    CheckSeverity::Warn => Health::Warning,
                },
                Some(format!(
                    "check {} failed ({severity}) in run {}",
                    check.check, check.run_id
                )),
            ),
        };
        parts.push(part);
    }
    match inputs.freshness {
        Some((FreshnessState::Overdue, reason)) => {
            parts.push((Health::Degraded, Some(format!("overdue: {reason}"))));
        }
        Some((FreshnessState::Warn, reason)) => {
            parts.push((
                Health::Warning,
                Some(format!("freshness warning: {reason}")),
            ));
        }
        Some((FreshnessState::Fresh, _)) => parts.push((Health::Healthy, None)),
        Some((FreshnessState::Unknown, _)) | None => {}
    }
    let health = parts
        .iter()
        .map(|(h, _)| *h)
        .max()
        .unwrap_or(Health::Unknown);
    let reasons = parts
        .into_iter()
        .filter(|(h, _)| *h != Health::Healthy)
        .filter_map(|(_, reason)| reason)
        .collect();
    AssetHealth { health, reasons }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(passed: bool, severity: CheckSeverity) -> LatestCheck {
        LatestCheck {
            asset_key: AssetKey::parse("a").unwrap_or_else(|e| panic!("{e}")),
            check: "c".into(),
            run_id: RunId::new(),
            passed,
            severity,
            evaluated_at: Utc::now(),
            partition: None,
        }
    }

    #[test]
    fn the_worst_part_decides() {
        let now = Some(Utc::now());
        let ok = [check(true, CheckSeverity::Error)];
        let warn = [check(false, CheckSeverity::Warn)];
        let error = [
            check(false, CheckSeverity::Error),
            check(false, CheckSeverity::Warn),
        ];
        let cases: [(HealthInputs<'_>, Health); 7] = [
            (HealthInputs::default(), Health::Unknown),
            (
                HealthInputs {
                    materialized_at: now,
                    ..Default::default()
                },
                Health::Healthy,
            ),
            (
                HealthInputs {
                    materialized_at: now,
                    checks: &ok,
                    freshness: None,
                },
                Health::Healthy,
            ),
            (
                HealthInputs {
                    materialized_at: now,
                    checks: &warn,
                    freshness: None,
                },
                Health::Warning,
            ),
            (
                HealthInputs {
                    materialized_at: now,
                    checks: &error,
                    freshness: None,
                },
                Health::Degraded,
            ),
            (
                HealthInputs {
                    materialized_at: now,
                    checks: &ok,
                    freshness: Some((FreshnessState::Overdue, "late")),
                },
                Health::Degraded,
            ),
            (
                HealthInputs {
                    materialized_at: None,
                    checks: &[],
                    freshness: Some((FreshnessState::Warn, "soon")),
                },
                Health::Warning,
            ),
        ];
        for (inputs, want) in cases {
            assert_eq!(health_of(&inputs).health, want, "{inputs:?}");
        }
        let why = health_of(&HealthInputs {
            materialized_at: now,
            checks: &error,
            freshness: None,
        });
        assert_eq!(why.reasons.len(), 2);
        assert!(
            why.reasons[0].starts_with("check c failed (ERROR) in run "),
            "{:?}",
            why.reasons
        );
    }
}
