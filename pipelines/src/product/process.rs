//! `process_data`: the summary the seed computes — count, average title length (characters, not
//! bytes; a missing title counts 0; rounded to 2 decimals), an ISO 8601 timestamp, and the first
//! three posts as received.

use chrono::{DateTime, SecondsFormat, Utc};
use orchestrator::definitions::{AssetContext, AssetError, AssetOutput};
use serde_json::{Value, json};

pub(crate) async fn process_data(ctx: AssetContext) -> Result<AssetOutput, AssetError> {
    let posts: Vec<Value> = ctx.input("fetch_data")?;
    let summary = summarize(&posts, Utc::now());
    let count = posts.len();
    let average = summary["average_title_length"].clone();
    Ok(AssetOutput::new(summary)
        .with_metadata("count", count)
        .with_metadata("average_title_length", average))
}

/// The summary object of `posts` at time `now`.
pub fn summarize(posts: &[Value], now: DateTime<Utc>) -> Value {
    let total_chars: usize = posts
        .iter()
        .map(|post| {
            post.get("title")
                .and_then(Value::as_str)
                .map_or(0, |t| t.chars().count())
        })
        .sum();
    let average = if posts.is_empty() {
        0.0
    } else {
        round2(total_chars as f64 / posts.len() as f64)
    };
    json!({
        "count": posts.len(),
        "average_title_length": average,
        "timestamp": now.to_rfc3339_opts(SecondsFormat::Micros, true),
        "sample_data": posts.iter().take(3).cloned().collect::<Vec<_>>(),
    })
}

fn round2(x: f64) -> f64 {
    (x * 100.0).round() / 100.0
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn check(posts: Value, count: u64, average: f64) {
        let now = Utc.with_ymd_and_hms(2026, 1, 2, 3, 4, 5).unwrap();
        let posts = posts.as_array().unwrap().clone();
        let s = summarize(&posts, now);
        assert_eq!(s["count"], count);
        assert_eq!(s["average_title_length"], json!(average));
        assert_eq!(s["timestamp"], "2026-01-02T03:04:05.000000Z");
        assert_eq!(
            s["sample_data"],
            json!(posts.iter().take(3).collect::<Vec<_>>())
        );
    }

    #[test]
    fn summary_rules() {
        check(json!([]), 0, 0.0);
        check(json!([{"title": "abc"}, {"title": "abcd"}]), 2, 3.5);
        // Characters, not bytes: "héllo" is 5 characters, 6 bytes.
        check(json!([{"title": "héllo"}]), 1, 5.0);
        // A missing or non-string title counts 0; 2 decimals.
        check(json!([{"title": "ab"}, {}, {"title": 7}]), 3, 0.67);
        check(json!([{"t": 1}, {"t": 2}, {"t": 3}, {"t": 4}]), 4, 0.0);
    }
}
