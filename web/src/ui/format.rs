//! How values read on a page: instants, durations, statuses, event summaries. Pure functions,
//! used by the handlers when they build a page's view; templates only print strings.

use chrono::{DateTime, Utc};
use orchestrator::domain::{EventKind, RunStatus};
use serde_json::Value;

/// An instant as `2026-11-23 13:29:40 UTC`.
pub fn instant(t: DateTime<Utc>) -> String {
    t.format("%Y-%m-%d %H:%M:%S UTC").to_string()
}

/// An optional instant, `—` when absent.
pub fn maybe_instant(t: Option<DateTime<Utc>>) -> String {
    t.map_or_else(|| "—".to_owned(), instant)
}

/// A duration in milliseconds as `850 ms`, `4.2 s`, `3m 04s` or `2h 05m`.
pub fn duration_ms(ms: i64) -> String {
    let ms = ms.max(0);
    match ms {
        0..1_000 => format!("{ms} ms"),
        1_000..60_000 => format!("{:.1} s", ms as f64 / 1000.0),
        60_000..3_600_000 => format!("{}m {:02}s", ms / 60_000, (ms / 1000) % 60),
        _ => format!("{}h {:02}m", ms / 3_600_000, (ms / 60_000) % 60),
    }
}

/// The CSS class of a status (`status-failure`, …).
pub fn status_class(status: RunStatus) -> String {
    format!("status-{}", status.as_str().to_ascii_lowercase())
}

/// A JSON value as indented text (config, metadata).
pub fn pretty(value: &Value) -> String {
    serde_json::to_string_pretty(value).unwrap_or_else(|_| value.to_string())
}

/// A metadata value as text: strings without their quotes, the rest as JSON.
pub fn scalar(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// What an event says, in one line: the message, error or location it carries.
pub fn event_summary(kind: &EventKind) -> String {
    match kind {
        EventKind::RunEnqueued | EventKind::RunStarting | EventKind::RunStart => String::new(),
        EventKind::RunSuccess | EventKind::StepCanceled => String::new(),
        EventKind::RunFailure { message }
        | EventKind::RunCanceling { message }
        | EventKind::RunCanceled { message } => message.clone().unwrap_or_default(),
        EventKind::StepStart { attempt } => format!("attempt {attempt}"),
        EventKind::StepSuccess { duration_ms: ms } => {
            format!("in {}", duration_ms(i64::try_from(*ms).unwrap_or(i64::MAX)))
        }
        EventKind::StepFailure { error, attempt } => format!("attempt {attempt}: {error}"),
        EventKind::StepUpRetry {
            error,
            attempt,
            delay_ms,
        } => format!("attempt {attempt} failed, retrying in {delay_ms} ms: {error}"),
        EventKind::StepSkipped { reason } => reason.clone(),
        EventKind::StepOutput { location } => location.clone(),
        EventKind::StepOutputReused { from_run, location } => {
            format!("{location} (from run {from_run})")
        }
        EventKind::AssetMaterialization {
            asset_key,
            metadata,
        } => {
            let pairs: Vec<String> = metadata
                .iter()
                .map(|(k, v)| format!("{k}={}", scalar(v)))
                .collect();
            format!("{asset_key} {}", pairs.join(" "))
        }
        EventKind::Log { level, message } => {
            let level = serde_json::to_value(level)
                .ok()
                .and_then(|v| v.as_str().map(str::to_owned))
                .unwrap_or_default();
            format!("[{level}] {message}")
        }
        EventKind::AssetCheckEvaluation {
            asset,
            check,
            passed,
            severity,
            metadata,
            partition,
        } => {
            let asset = match partition {
                Some(partition) => format!("{asset} [{partition}]"),
                None => asset.to_string(),
            };
            let verdict = if *passed {
                "passed".to_owned()
            } else {
                format!("failed ({severity})")
            };
            let pairs: Vec<String> = metadata
                .iter()
                .map(|(k, v)| format!("{k}={}", scalar(v)))
                .collect();
            format!("{asset} check {check} {verdict} {}", pairs.join(" "))
                .trim_end()
                .to_owned()
        }
    }
}

/// The CSS class of an event row (failures and warnings stand out).
pub fn event_class(kind: &EventKind) -> &'static str {
    match kind {
        EventKind::RunFailure { .. } | EventKind::StepFailure { .. } => "ev-error",
        EventKind::Log { level, .. } => match level {
            orchestrator::domain::LogLevel::Error => "ev-error",
            orchestrator::domain::LogLevel::Warn => "ev-warn",
            _ => "ev-log",
        },
        EventKind::AssetCheckEvaluation {
            passed: false,
            severity,
            ..
        } => match severity {
            orchestrator::domain::CheckSeverity::Error => "ev-error",
            orchestrator::domain::CheckSeverity::Warn => "ev-warn",
        },
        EventKind::StepUpRetry { .. } | EventKind::RunCanceled { .. } => "ev-warn",
        EventKind::RunSuccess | EventKind::StepSuccess { .. } => "ev-ok",
        _ => "",
    }
}

/// "1 check failed", "2 checks failed", or nothing when none did.
pub fn checks_failed(n: u32) -> Option<String> {
    match n {
        0 => None,
        1 => Some("1 check failed".to_owned()),
        n => Some(format!("{n} checks failed")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_read_at_their_scale() {
        for (ms, text) in [
            (-5, "0 ms"),
            (850, "850 ms"),
            (4_200, "4.2 s"),
            (184_000, "3m 04s"),
            (7_500_000, "2h 05m"),
        ] {
            assert_eq!(duration_ms(ms), text);
        }
    }

    #[test]
    fn statuses_have_lowercase_classes() {
        assert_eq!(status_class(RunStatus::Canceling), "status-canceling");
    }
}
