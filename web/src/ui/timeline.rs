//! The step timeline of a run: a Gantt chart of its steps, one row per step, one bar per
//! attempt, computed from the step lifecycle events alone (never the whole log). Pure: events
//! and a time window in, geometry out; `timeline.html` draws it as SVG.

use chrono::{DateTime, Utc};
use orchestrator::domain::{EventKind, EventRecord};

use super::format::duration_ms;

const LABEL_WIDTH: f64 = 180.0;
const CHART_WIDTH: f64 = 720.0;
const ROW_HEIGHT: f64 = 26.0;
const TOP: f64 = 24.0;
const MIN_BAR: f64 = 3.0;

/// How an attempt ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Running,
    Success,
    Failure,
    /// Failed and was retried.
    Retried,
    Canceled,
    Skipped,
}

impl Outcome {
    fn class(self) -> &'static str {
        match self {
            Self::Running => "bar-running",
            Self::Success => "bar-success",
            Self::Failure => "bar-failure",
            Self::Retried => "bar-retry",
            Self::Canceled => "bar-canceled",
            Self::Skipped => "bar-skipped",
        }
    }

    fn word(self) -> &'static str {
        match self {
            Self::Running => "running",
            Self::Success => "succeeded",
            Self::Failure => "failed",
            Self::Retried => "failed, retried",
            Self::Canceled => "canceled",
            Self::Skipped => "skipped",
        }
    }
}

/// One attempt of one step, in time.
#[derive(Debug, Clone, PartialEq)]
pub struct Attempt {
    pub attempt: u32,
    pub start: DateTime<Utc>,
    pub end: Option<DateTime<Utc>>,
    pub outcome: Outcome,
}

/// A drawn bar.
#[derive(Debug, Clone)]
pub struct Bar {
    pub x: String,
    pub width: String,
    pub class: &'static str,
    /// The tooltip: attempt, outcome, duration.
    pub title: String,
}

/// A drawn row.
#[derive(Debug, Clone)]
pub struct Row {
    pub step: String,
    pub label: String,
    pub y: String,
    pub text_y: String,
    pub bars: Vec<Bar>,
}

/// A tick of the time axis.
#[derive(Debug, Clone)]
pub struct Tick {
    pub x: String,
    pub label: String,
}

/// The whole chart.
#[derive(Debug, Clone)]
pub struct Timeline {
    pub width: String,
    pub height: String,
    pub rows: Vec<Row>,
    pub ticks: Vec<Tick>,
    pub bar_height: String,
    pub axis_y: String,
    /// The events read were capped: later steps may be missing.
    pub truncated: bool,
}

/// Groups the step lifecycle events into attempts per step, steps in order of first event.
pub fn attempts(events: &[EventRecord]) -> Vec<(String, Vec<Attempt>)> {
    let mut steps: Vec<(String, Vec<Attempt>)> = Vec::new();
    for event in events {
        let Some(step) = &event.step else { continue };
        let index = match steps.iter().position(|(s, _)| s == step.as_str()) {
            Some(i) => i,
            None => {
                steps.push((step.to_string(), Vec::new()));
                steps.len() - 1
            }
        };
        let list = &mut steps[index].1;
        let close = |list: &mut Vec<Attempt>, outcome: Outcome| {
            if let Some(open) = list.iter_mut().rev().find(|a| a.end.is_none()) {
                open.end = Some(event.timestamp);
                open.outcome = outcome;
            }
        };
        match &event.kind {
            EventKind::StepStart { attempt } => list.push(Attempt {
                attempt: *attempt,
                start: event.timestamp,
                end: None,
                outcome: Outcome::Running,
            }),
            EventKind::StepSuccess { .. } => close(list, Outcome::Success),
            EventKind::StepFailure { .. } => close(list, Outcome::Failure),
            EventKind::StepUpRetry { .. } => close(list, Outcome::Retried),
            EventKind::StepCanceled => close(list, Outcome::Canceled),
            EventKind::StepSkipped { .. } => list.push(Attempt {
                attempt: 0,
                start: event.timestamp,
                end: Some(event.timestamp),
                outcome: Outcome::Skipped,
            }),
            _ => {}
        }
    }
    steps
}

fn px(value: f64) -> String {
    format!("{value:.1}")
}

/// Lays the attempts out between `from` and `to` (the run's start and its end, or now). Open
/// attempts reach `to`.
pub fn layout(
    steps: &[(String, Vec<Attempt>)],
    from: DateTime<Utc>,
    to: DateTime<Utc>,
    truncated: bool,
) -> Timeline {
    let from = steps
        .iter()
        .flat_map(|(_, list)| list.iter().map(|a| a.start))
        .fold(from, DateTime::min);
    let to = steps
        .iter()
        .flat_map(|(_, list)| list.iter().filter_map(|a| a.end))
        .fold(to, DateTime::max);
    let span_ms = (to - from).num_milliseconds().max(1) as f64;
    let x_of = |t: DateTime<Utc>| {
        LABEL_WIDTH + ((t - from).num_milliseconds() as f64 / span_ms) * CHART_WIDTH
    };
    let bar_height = ROW_HEIGHT - 8.0;
    let rows = steps
        .iter()
        .enumerate()
        .map(|(i, (step, list))| {
            let y = TOP + i as f64 * ROW_HEIGHT;
            let tries = list
                .iter()
                .filter(|a| a.outcome != Outcome::Skipped)
                .count();
            let mut label: String = step.chars().take(24).collect();
            if step.chars().count() > 24 {
                label.push('…');
            }
            if tries > 1 {
                label = format!("{label} ×{tries}");
            }
            let bars = list
                .iter()
                .map(|a| {
                    let end = a.end.unwrap_or(to);
                    let x = x_of(a.start);
                    let width = (x_of(end) - x).max(MIN_BAR);
                    let took = duration_ms((end - a.start).num_milliseconds());
                    let title = if a.outcome == Outcome::Skipped {
                        format!("{step}: skipped")
                    } else {
                        format!(
                            "{step}: attempt {} {} ({took})",
                            a.attempt,
                            a.outcome.word()
                        )
                    };
                    Bar {
                        x: px(x),
                        width: px(width),
                        class: a.outcome.class(),
                        title,
                    }
                })
                .collect();
            Row {
                step: step.clone(),
                label,
                y: px(y + 4.0),
                text_y: px(y + ROW_HEIGHT / 2.0 + 4.0),
                bars,
            }
        })
        .collect::<Vec<_>>();
    let ticks = (0..=4)
        .map(|i| {
            let fraction = f64::from(i) / 4.0;
            Tick {
                x: px(LABEL_WIDTH + fraction * CHART_WIDTH),
                label: format!("+{}", duration_ms((span_ms * fraction) as i64)),
            }
        })
        .collect();
    let height = TOP + rows.len().max(1) as f64 * ROW_HEIGHT + 8.0;
    Timeline {
        width: px(LABEL_WIDTH + CHART_WIDTH + 40.0),
        height: px(height),
        rows,
        ticks,
        bar_height: px(bar_height),
        axis_y: px(TOP - 8.0),
        truncated,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::Duration;
    use orchestrator::domain::{AssetKey, RunId};

    fn event(at_ms: i64, step: &str, kind: EventKind) -> EventRecord {
        let t0 = DateTime::from_timestamp(1_700_000_000, 0).unwrap();
        EventRecord {
            id: at_ms,
            run_id: RunId::new(),
            timestamp: t0 + Duration::milliseconds(at_ms),
            step: Some(AssetKey::parse(step).unwrap()),
            kind,
        }
    }

    #[test]
    fn retries_are_separate_bars_on_one_row() {
        let retry = EventKind::StepUpRetry {
            error: "503".into(),
            attempt: 1,
            delay_ms: 10,
        };
        let events = [
            event(0, "fetch", EventKind::StepStart { attempt: 1 }),
            event(100, "fetch", retry),
            event(200, "fetch", EventKind::StepStart { attempt: 2 }),
            event(400, "fetch", EventKind::StepSuccess { duration_ms: 200 }),
            event(400, "load", EventKind::StepStart { attempt: 1 }),
        ];
        let steps = attempts(&events);
        assert_eq!(steps.len(), 2);
        let fetch = &steps[0].1;
        assert_eq!(fetch.len(), 2);
        assert_eq!(fetch[0].outcome, Outcome::Retried);
        assert_eq!(fetch[1].outcome, Outcome::Success);
        assert_eq!(steps[1].1[0].outcome, Outcome::Running);

        let from = events[0].timestamp;
        let chart = layout(&steps, from, from + Duration::milliseconds(1000), false);
        assert_eq!(chart.rows[0].label, "fetch ×2");
        let classes: Vec<_> = chart.rows[0].bars.iter().map(|b| b.class).collect();
        assert_eq!(classes, ["bar-retry", "bar-success"]);
        // The running step reaches the end of the window: x 180 + 0.4·720, width 0.6·720.
        assert_eq!(chart.rows[1].bars[0].x, "468.0");
        assert_eq!(chart.rows[1].bars[0].width, "432.0");
    }

    #[test]
    fn skipped_steps_are_markers_and_an_empty_run_draws() {
        let events = [event(
            5,
            "load",
            EventKind::StepSkipped {
                reason: "upstream failed".into(),
            },
        )];
        let steps = attempts(&events);
        let t = events[0].timestamp;
        let chart = layout(&steps, t, t, false);
        assert_eq!(chart.rows[0].bars[0].class, "bar-skipped");
        assert_eq!(chart.rows[0].bars[0].width, "3.0");
        let empty = layout(&[], t, t, false);
        assert!(empty.rows.is_empty());
        assert_eq!(empty.ticks.len(), 5);
    }
}
