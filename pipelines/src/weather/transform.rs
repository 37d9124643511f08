//! `transform_weather`: one clean record per fetched location, in a fixed field order, and the
//! entries that cannot make one with the reason (a missing or mistyped field, a humidity outside
//! 0–100). Pure apart from reading the upstream value: `clean_record` is tested on its own.

use chrono::{DateTime, SecondsFormat, Utc};
use orchestrator::definitions::{AssetContext, AssetError, AssetOutput};
use orchestrator::domain::LogLevel;
use serde_json::{Map, Value, json};

/// The fields of a record, in the order they are written.
pub const RECORD_FIELDS: [&str; 12] = [
    "location",
    "lat",
    "lon",
    "temperature",
    "feels_like",
    "humidity",
    "pressure",
    "wind_speed",
    "description",
    "observed_at",
    "fetched_at",
    "units",
];

pub(crate) async fn transform_weather(ctx: AssetContext) -> Result<AssetOutput, AssetError> {
    let fetched: Value = ctx.input("fetch_weather")?;
    let units = fetched
        .get("units")
        .and_then(Value::as_str)
        .ok_or_else(|| AssetError::fatal("fetch_weather gave no 'units'"))?;
    let entries = fetched
        .get("fetched")
        .and_then(Value::as_array)
        .ok_or_else(|| AssetError::fatal("fetch_weather gave no 'fetched'"))?;
    let all_or_nothing = ctx
        .config
        .get("all_or_nothing")
        .and_then(Value::as_bool)
        .unwrap_or(false);

    let mut records = Vec::new();
    let mut rejected = Vec::new();
    for entry in entries {
        let name = entry.get("name").and_then(Value::as_str).unwrap_or("?");
        match clean_record(entry, units) {
            Ok(record) => records.push(record),
            Err(reason) => {
                ctx.log(LogLevel::Warn, format!("{name}: rejected: {reason}"));
                rejected.push(json!({ "location": name, "reason": reason }));
            }
        }
    }
    if records.is_empty() || (all_or_nothing && !rejected.is_empty()) {
        let reasons: Vec<String> = rejected
            .iter()
            .map(|r| {
                format!(
                    "{}: {}",
                    r["location"].as_str().unwrap_or("?"),
                    r["reason"].as_str().unwrap_or("?")
                )
            })
            .collect();
        return Err(AssetError::fatal(format!(
            "{} of {} fetched location(s) gave a malformed answer{}: {}",
            rejected.len(),
            entries.len(),
            if records.is_empty() {
                ", none is usable"
            } else {
                " and all_or_nothing is set"
            },
            reasons.join("; ")
        )));
    }
    let count = records.len();
    let rejected_names: Vec<Value> = rejected.iter().map(|r| r["location"].clone()).collect();
    Ok(
        AssetOutput::new(json!({ "records": records, "rejected": rejected }))
            .with_metadata("records", count)
            .with_metadata("rejected_locations", Value::Array(rejected_names)),
    )
}

/// The record of one `fetch_weather` entry (`name`, `lat`, `lon`, `fetched_at`, `response`),
/// or why its response cannot make one.
pub fn clean_record(entry: &Value, units: &str) -> Result<Value, String> {
    let response = entry
        .get("response")
        .filter(|r| r.is_object())
        .ok_or("the answer is not a JSON object")?;
    // Numbers are checked as f64 and written as received (an integer humidity stays `87`).
    let number = |path: &str| -> Result<(f64, Value), String> {
        match lookup(response, path) {
            None | Some(Value::Null) => Err(format!("{path} is missing")),
            Some(v) => v
                .as_f64()
                .filter(|n| n.is_finite())
                .map(|n| (n, v.clone()))
                .ok_or_else(|| format!("{path} is not a number (got {v})")),
        }
    };
    let (_, temperature) = number("main.temp")?;
    let (_, feels_like) = number("main.feels_like")?;
    let (humidity_value, humidity) = number("main.humidity")?;
    if !(0.0..=100.0).contains(&humidity_value) {
        return Err(format!("main.humidity {humidity} is outside 0–100"));
    }
    let (_, pressure) = number("main.pressure")?;
    let (_, wind_speed) = number("wind.speed")?;
    let description = match lookup(response, "weather.0.description") {
        Some(Value::String(d)) => d.clone(),
        None | Some(Value::Null) => return Err("weather[0].description is missing".into()),
        Some(v) => return Err(format!("weather[0].description is not a string (got {v})")),
    };
    let observed_at = match lookup(response, "dt").and_then(Value::as_i64) {
        Some(secs) if secs > 0 => DateTime::<Utc>::from_timestamp(secs, 0)
            .ok_or_else(|| format!("dt {secs} is not a time"))?
            .to_rfc3339_opts(SecondsFormat::Secs, true),
        _ => return Err("dt is missing or not a positive Unix time".into()),
    };
    let mut record = Map::new();
    record.insert(
        "location".into(),
        entry.get("name").cloned().unwrap_or(Value::Null),
    );
    record.insert(
        "lat".into(),
        entry.get("lat").cloned().unwrap_or(Value::Null),
    );
    record.insert(
        "lon".into(),
        entry.get("lon").cloned().unwrap_or(Value::Null),
    );
    record.insert("temperature".into(), temperature);
    record.insert("feels_like".into(), feels_like);
    record.insert("humidity".into(), humidity);
    record.insert("pressure".into(), pressure);
    record.insert("wind_speed".into(), wind_speed);
    record.insert("description".into(), Value::String(description));
    record.insert("observed_at".into(), Value::String(observed_at));
    record.insert(
        "fetched_at".into(),
        entry.get("fetched_at").cloned().unwrap_or(Value::Null),
    );
    record.insert("units".into(), Value::String(units.to_owned()));
    Ok(Value::Object(record))
}

/// The value at a dotted path; numeric segments index arrays.
fn lookup<'a>(value: &'a Value, path: &str) -> Option<&'a Value> {
    path.split('.')
        .try_fold(value, |v, part| match part.parse::<usize>() {
            Ok(i) => v.get(i),
            Err(_) => v.get(part),
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(response: Value) -> Value {
        json!({
            "name": "Luxembourg", "lat": 49.6116, "lon": 6.1319,
            "fetched_at": "2026-01-02T03:04:05Z", "response": response,
        })
    }

    fn good() -> Value {
        json!({
            "weather": [{"id": 800, "main": "Clear", "description": "clear sky"}],
            "main": {"temp": 4.5, "feels_like": 1.25, "humidity": 81, "pressure": 1021},
            "wind": {"speed": 3.6, "deg": 230},
            "dt": 1767323045,
            "name": "Luxembourg City",
        })
    }

    #[test]
    fn a_good_answer_makes_a_record_in_field_order() {
        let record = clean_record(&entry(good()), "metric").unwrap();
        let keys: Vec<&str> = record
            .as_object()
            .unwrap()
            .keys()
            .map(String::as_str)
            .collect();
        assert_eq!(keys, RECORD_FIELDS);
        assert_eq!(
            record,
            json!({
                "location": "Luxembourg", "lat": 49.6116, "lon": 6.1319,
                "temperature": 4.5, "feels_like": 1.25, "humidity": 81, "pressure": 1021,
                "wind_speed": 3.6, "description": "clear sky",
                "observed_at": "2026-01-02T03:04:05Z", "fetched_at": "2026-01-02T03:04:05Z",
                "units": "metric",
            })
        );
    }

    #[test]
    fn malformed_answers_are_rejected_with_the_reason() {
        let check = |patch: &dyn Fn(&mut Value), reason: &str| {
            let mut response = good();
            patch(&mut response);
            let got = clean_record(&entry(response), "metric").unwrap_err();
            assert_eq!(got, reason);
        };
        check(
            &|r| {
                r["main"]
                    .as_object_mut()
                    .unwrap()
                    .retain(|k, _| k != "temp")
            },
            "main.temp is missing",
        );
        check(
            &|r| r["main"]["feels_like"] = json!("cold"),
            "main.feels_like is not a number (got \"cold\")",
        );
        check(
            &|r| r["main"]["humidity"] = json!(140),
            "main.humidity 140 is outside 0–100",
        );
        check(&|r| r["wind"] = json!(null), "wind.speed is missing");
        check(
            &|r| r["weather"] = json!([]),
            "weather[0].description is missing",
        );
        check(
            &|r| r["dt"] = json!("today"),
            "dt is missing or not a positive Unix time",
        );
        let got = clean_record(&json!({"name": "X", "response": [1]}), "metric").unwrap_err();
        assert_eq!(got, "the answer is not a JSON object");
    }
}
