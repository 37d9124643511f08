//! Slack Block Kit messages for alerts (pure): one alert is the seed's message (header "Job
//! failed", job, run id, time, failing step, a short error, a link to the run in the UI); several
//! alerts sent at once (a backlog under Slack's rate limit) become one digest listing each run.
//! Slack's limits are kept: at most 50 blocks, 150 characters of header, 3 000 per text.
//! Alerts of check-failure sensors say "Check failed: asset.check (SEVERITY)" and list the
//! failed checks; those of freshness sensors "Asset overdue: asset" with the reason and a link to
//! the asset.

use chrono::{DateTime, Utc};
use serde_json::{Value, json};

use crate::domain::{Alert, AlertSubject, FreshnessState, RunStatus};

/// Characters of the error shown for a single alert, and for each run of a digest.
const ERROR_CHARS: usize = 500;
const DIGEST_ERROR_CHARS: usize = 160;
/// Runs listed in one digest; more would pass Slack's 50 blocks.
pub const DIGEST_MAX: usize = 45;

/// The message for `alerts` (one alert, or a digest of several), linking runs under `ui_url`.
pub fn render(alerts: &[Alert], ui_url: &str) -> Value {
    match alerts {
        [one] => single(one, ui_url),
        many => digest(many, ui_url),
    }
}

fn headline(status: RunStatus) -> &'static str {
    match status {
        RunStatus::Success => "Job succeeded",
        RunStatus::Canceled => "Job canceled",
        _ => "Job failed",
    }
}

/// What the alert's message is titled: the run's end, "Check failed: …" or "Asset overdue: …".
pub fn title(alert: &Alert) -> String {
    let title = match &alert.subject {
        AlertSubject::RunStatus => headline(alert.run_status).to_owned(),
        AlertSubject::ChecksFailed => {
            let checks = alert.error.as_deref().unwrap_or("");
            let word = if checks.contains("; ") {
                "Checks failed"
            } else {
                "Check failed"
            };
            format!("{word}: {checks}")
        }
        AlertSubject::Freshness { asset, state } => match state {
            FreshnessState::Overdue => format!("Asset overdue: {asset}"),
            FreshnessState::Warn => format!("Asset freshness warning: {asset}"),
            FreshnessState::Fresh => format!("Asset fresh again: {asset}"),
            FreshnessState::Unknown => format!("Asset freshness unknown: {asset}"),
        },
    };
    short(&title, HEADER_CHARS - 1)
}

const HEADER_CHARS: usize = 150;

/// `<ui_url>/runs/<id>`, or `<ui_url>/assets/<key>` for a freshness alert.
pub fn run_link(ui_url: &str, alert: &Alert) -> String {
    let base = ui_url.trim_end_matches('/');
    match &alert.subject {
        AlertSubject::Freshness { asset, .. } => format!("{base}/assets/{asset}"),
        _ => format!("{base}/runs/{}", alert.run_id),
    }
}

fn time(t: DateTime<Utc>) -> String {
    t.format("%Y-%m-%d %H:%M:%S UTC").to_string()
}

/// Text made safe for mrkdwn: `&`, `<` and `>` are escaped as Slack asks.
fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// At most `max` characters of `text`, with an ellipsis when cut.
fn short(text: &str, max: usize) -> String {
    let text = text.trim();
    match text.char_indices().nth(max) {
        Some((cut, _)) => format!("{}…", &text[..cut]),
        None => text.to_owned(),
    }
}

fn single(alert: &Alert, ui_url: &str) -> Value {
    if let AlertSubject::Freshness { asset, .. } = &alert.subject {
        return freshness(alert, asset.as_str(), ui_url);
    }
    let link = run_link(ui_url, alert);
    let title = title(alert);
    let error_label = match alert.subject {
        AlertSubject::ChecksFailed => "Failed checks",
        _ => "Error",
    };
    let mut fields = vec![
        json!({"type": "mrkdwn", "text": format!("*Job:*\n{}", escape(alert.job.as_str()))}),
        json!({"type": "mrkdwn", "text": format!("*Run ID:*\n<{link}|{}>", alert.run_id)}),
        json!({"type": "mrkdwn", "text": format!("*Time:*\n{}", time(alert.ended_at))}),
    ];
    if let Some(step) = &alert.step {
        fields.push(json!({"type": "mrkdwn", "text": format!("*Failed step:*\n{}", escape(step))}));
    }
    let mut blocks = vec![
        json!({"type": "header", "text": {"type": "plain_text", "text": title}}),
        json!({"type": "section", "fields": fields}),
    ];
    if let Some(error) = &alert.error {
        // A code block shows the error as written; a triple backtick inside would end it.
        let error = escape(&short(error, ERROR_CHARS)).replace("```", "'''");
        blocks.push(json!({
            "type": "section",
            "text": {"type": "mrkdwn", "text": format!("*{error_label}:*\n```{error}```")}
        }));
    }
    blocks.push(json!({
        "type": "actions",
        "elements": [{
            "type": "button",
            "text": {"type": "plain_text", "text": "View run"},
            "url": link
        }]
    }));
    json!({
        "text": format!("{title}: {} (run {})", alert.job, alert.run_id),
        "blocks": blocks
    })
}

/// A freshness alert: the asset, its job, when, why, and a link to the asset.
fn freshness(alert: &Alert, asset: &str, ui_url: &str) -> Value {
    let link = run_link(ui_url, alert);
    let title = title(alert);
    let fields = vec![
        json!({"type": "mrkdwn", "text": format!("*Asset:*\n<{link}|{}>", escape(asset))}),
        json!({"type": "mrkdwn", "text": format!("*Job:*\n{}", escape(alert.job.as_str()))}),
        json!({"type": "mrkdwn", "text": format!("*Time:*\n{}", time(alert.ended_at))}),
    ];
    let mut blocks = vec![
        json!({"type": "header", "text": {"type": "plain_text", "text": title}}),
        json!({"type": "section", "fields": fields}),
    ];
    if let Some(reason) = &alert.error {
        blocks.push(json!({
            "type": "section",
            "text": {"type": "mrkdwn", "text": format!("*Why:*\n{}", escape(&short(reason, ERROR_CHARS)))}
        }));
    }
    blocks.push(json!({
        "type": "actions",
        "elements": [{
            "type": "button",
            "text": {"type": "plain_text", "text": "View asset"},
            "url": link
        }]
    }));
    json!({ "text": title, "blocks": blocks })
}

fn digest(alerts: &[Alert], ui_url: &str) -> Value {
    let all_failures = alerts
        .iter()
        .all(|a| a.run_status == RunStatus::Failure && a.subject == AlertSubject::RunStatus);
    let all_runs = alerts.iter().all(|a| a.subject == AlertSubject::RunStatus);
    let heading = if all_failures {
        format!("{} jobs failed", alerts.len())
    } else if all_runs {
        format!("{} run alerts", alerts.len())
    } else {
        format!("{} alerts", alerts.len())
    };
    let mut blocks = vec![
        json!({"type": "header", "text": {"type": "plain_text", "text": heading}}),
        json!({
            "type": "context",
            "elements": [{
                "type": "mrkdwn",
                "text": "Grouped into one message: runs ended faster than Slack accepts messages."
            }]
        }),
    ];
    for alert in alerts.iter().take(DIGEST_MAX) {
        let mut text = format!(
            "*{}* · `{}` · <{}|{}> · {}",
            escape(&title(alert)),
            escape(alert.job.as_str()),
            run_link(ui_url, alert),
            match &alert.subject {
                AlertSubject::Freshness { asset, .. } => asset.to_string(),
                _ => alert.run_id.to_string(),
            },
            time(alert.ended_at)
        );
        match (&alert.step, &alert.error) {
            (Some(step), Some(error)) => text.push_str(&format!(
                "\nStep `{}`: {}",
                escape(step),
                escape(&short(error, DIGEST_ERROR_CHARS))
            )),
            (None, Some(error)) => {
                text.push_str(&format!("\n{}", escape(&short(error, DIGEST_ERROR_CHARS))));
            }
            (Some(step), None) => text.push_str(&format!("\nStep `{}`", escape(step))),
            (None, None) => {}
        }
        blocks.push(json!({"type": "section", "text": {"type": "mrkdwn", "text": text}}));
    }
    json!({ "text": heading, "blocks": blocks })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{AlertState, JobName, RunId, SensorName};

    fn alert(step: Option<&str>, error: Option<&str>) -> Alert {
        let now = DateTime::parse_from_rfc3339("2026-01-02T03:04:05Z")
            .unwrap()
            .with_timezone(&Utc);
        Alert {
            id: 1,
            sensor: SensorName::parse("s").unwrap(),
            run_id: RunId::new(),
            job: JobName::parse("product_pipeline_job").unwrap(),
            run_status: RunStatus::Failure,
            ended_at: now,
            step: step.map(str::to_owned),
            error: error.map(str::to_owned),
            state: AlertState::Sending,
            attempts: 1,
            next_attempt_at: now,
            last_error: None,
            created_at: now,
            delivered_at: None,
            subject: AlertSubject::RunStatus,
        }
    }

    #[test]
    fn check_and_freshness_alerts_say_what_failed() {
        let mut checks = alert(None, Some("raw_products.has_rows (ERROR)"));
        checks.subject = AlertSubject::ChecksFailed;
        checks.run_status = RunStatus::Success;
        let message = render(std::slice::from_ref(&checks), "http://ui");
        assert_eq!(
            message["blocks"][0]["text"]["text"],
            "Check failed: raw_products.has_rows (ERROR)"
        );
        assert!(message["blocks"][2].to_string().contains("Failed checks"));

        let mut overdue = alert(None, Some("last materialized 8h ago (max lag 7h)"));
        overdue.subject = AlertSubject::Freshness {
            asset: crate::domain::AssetKey::parse("weather/product").unwrap(),
            state: FreshnessState::Overdue,
        };
        let message = render(std::slice::from_ref(&overdue), "http://ui/");
        assert_eq!(message["text"], "Asset overdue: weather/product");
        assert_eq!(
            message["blocks"][3]["elements"][0]["url"],
            "http://ui/assets/weather/product"
        );
        let digest = render(&[checks, overdue], "http://ui");
        assert_eq!(digest["blocks"][0]["text"]["text"], "2 alerts");
        assert!(digest["blocks"][3].to_string().contains("Asset overdue"));
    }

    #[test]
    fn one_alert_is_the_seeds_job_failed_message() {
        let a = alert(Some("fetch_data"), Some("GET returned 503 <html> & more"));
        let message = render(std::slice::from_ref(&a), "http://ui.example/");
        let blocks = message["blocks"].as_array().unwrap();
        assert_eq!(blocks[0]["text"]["text"], "Job failed");
        let fields = blocks[1]["fields"].to_string();
        assert!(fields.contains("product_pipeline_job"), "{fields}");
        assert!(fields.contains(&format!(
            "<http://ui.example/runs/{}|{}>",
            a.run_id, a.run_id
        )));
        assert!(fields.contains("2026-01-02 03:04:05 UTC"), "{fields}");
        assert!(fields.contains("fetch_data"), "{fields}");
        let error = blocks[2]["text"]["text"].as_str().unwrap();
        assert!(error.contains("503 &lt;html&gt; &amp; more"), "{error}");
        assert_eq!(
            blocks[3]["elements"][0]["url"],
            format!("http://ui.example/runs/{}", a.run_id)
        );
    }

    #[test]
    fn long_errors_are_cut_and_many_alerts_become_one_digest_within_slacks_limits() {
        let long = "x".repeat(2_000);
        let one = render(&[alert(None, Some(&long))], "http://ui");
        let error = one["blocks"][2]["text"]["text"].as_str().unwrap();
        assert!(
            error.chars().count() < 520 && error.contains('…'),
            "{error}"
        );

        let many: Vec<Alert> = (0..60).map(|_| alert(Some("s"), Some(&long))).collect();
        let digest = render(&many, "http://ui");
        assert_eq!(digest["blocks"][0]["text"]["text"], "60 jobs failed");
        let blocks = digest["blocks"].as_array().unwrap();
        assert!(blocks.len() <= 50, "{} blocks", blocks.len());
        assert!(blocks.iter().all(|b| b.to_string().len() < 3_000));
    }
}
