//! `fetch_weather`: OpenWeather's current weather for every configured location, concurrently.
//!
//! The API key is read from its [`SecretSource`] at the start of each run (so a file Vault Agent
//! rotates is picked up) and travels only in the request: every URL this module prints shows
//! `appid=****`, reqwest errors are stripped of their URL, and any text quoted from the upstream
//! is scrubbed of the key before it reaches an event, a log or an error.
//!
//! Each location is tried up to [`ATTEMPTS`] times on network errors, timeouts, 429 and 5xx; a
//! 401, another 4xx, a body that is not a JSON object or one over `max_body_bytes`
//! (`crate::body`) fails that location at once. A failed
//! location does not lose the others: the step fails only when every location failed, or when
//! the run config asks for `all_or_nothing`.

use std::time::Duration;

use chrono::{SecondsFormat, Utc};
use orchestrator::definitions::{AssetContext, AssetError, AssetOutput};
use orchestrator::domain::LogLevel;
use orchestrator::retry::Backoff;
use orchestrator::secrets::{REDACTED, Secret, SecretSource};
use serde_json::{Value, json};

use super::config::{Location, WeatherConfig};
use crate::body::{BodyError, read_capped};

/// Tries per location, the first included.
pub(crate) const ATTEMPTS: u32 = 3;
/// Delay before the second try, doubled before each further one (orch's one backoff).
const BACKOFF: Backoff = Backoff::exponential(Duration::from_millis(500), Duration::from_secs(8));
/// Longest upstream message quoted in an error.
const QUOTE_LIMIT: usize = 200;

/// One HTTP client for all runs of the process. Redirects are not followed: a redirect would
/// carry the key in its query to wherever it points.
pub(crate) fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .user_agent(concat!("orch/", env!("CARGO_PKG_VERSION")))
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap_or_default()
}

/// Why one location gave no weather.
#[derive(Debug, Clone)]
struct LocationError {
    message: String,
    retryable: bool,
}

pub(crate) async fn fetch_weather(
    http: reqwest::Client,
    api_key: SecretSource,
    ctx: AssetContext,
) -> Result<AssetOutput, AssetError> {
    let config = WeatherConfig::parse(&ctx.config).map_err(AssetError::fatal)?;
    let key = read_key(&api_key)?;
    ctx.info(format!(
        "fetching the weather of {} location(s) from {} (units {})",
        config.locations.len(),
        shown_url(&config.api_url),
        config.units
    ));
    let mut tasks = tokio::task::JoinSet::new();
    for (index, location) in config.locations.iter().cloned().enumerate() {
        let (http, key, ctx, config) = (http.clone(), key.clone(), ctx.clone(), config.clone());
        tasks.spawn(async move {
            let result = fetch_location(&http, &key, &ctx, &config, &location).await;
            (index, location, result)
        });
    }
    let mut results = Vec::with_capacity(config.locations.len());
    while let Some(joined) = tasks.join_next().await {
        results.push(joined.map_err(|e| AssetError::fatal(format!("a fetch task failed: {e}")))?);
    }
    results.sort_by_key(|(index, _, _)| *index);

    let mut fetched = Vec::new();
    let mut failed = Vec::new();
    for (_, location, result) in results {
        match result {
            Ok((response, fetched_at)) => fetched.push(json!({
                "name": location.name,
                "lat": location.lat,
                "lon": location.lon,
                "fetched_at": fetched_at,
                "response": response,
            })),
            Err(e) => {
                ctx.log(
                    LogLevel::Warn,
                    format!("{}: no weather: {}", location.name, e.message),
                );
                failed.push((location.name, e));
            }
        }
    }
    let total = config.locations.len();
    if fetched.is_empty() || (config.all_or_nothing && !failed.is_empty()) {
        let reasons: Vec<String> = failed
            .iter()
            .map(|(name, e)| format!("{name}: {}", e.message))
            .collect();
        let what = if fetched.is_empty() {
            format!("all {total} location(s) failed")
        } else {
            format!(
                "{} of {total} location(s) failed and all_or_nothing is set",
                failed.len()
            )
        };
        let message = format!("{what}: {}", reasons.join("; "));
        return Err(if failed.iter().all(|(_, e)| e.retryable) {
            AssetError::retryable(message)
        } else {
            AssetError::fatal(message)
        });
    }
    let failed_names: Vec<&str> = failed.iter().map(|(name, _)| name.as_str()).collect();
    ctx.info(format!(
        "fetched {} of {total} location(s){}",
        fetched.len(),
        if failed.is_empty() {
            String::new()
        } else {
            format!("; failed: {}", failed_names.join(", "))
        }
    ));
    let failed_json: Vec<Value> = failed
        .iter()
        .map(|(name, e)| json!({ "name": name, "error": e.message }))
        .collect();
    let count = fetched.len();
    Ok(AssetOutput::new(json!({
        "units": config.units,
        "fetched": fetched,
        "failed": failed_json,
    }))
    .with_metadata("locations", total)
    .with_metadata("fetched", count)
    .with_metadata("failed_locations", json!(failed_names))
    .with_metadata("api_url", shown_url(&config.api_url)))
}

fn read_key(source: &SecretSource) -> Result<Secret, AssetError> {
    let name = source.name().unwrap_or("OPENWEATHER_API_KEY");
    match source.read() {
        Ok(Some(key)) => Ok(key),
        Ok(None) => Err(AssetError::fatal(format!(
            "no OpenWeather API key: set {name} or {name}_FILE"
        ))),
        Err(e) => Err(AssetError::fatal(e.to_string())),
    }
}

/// The request URL for `location`, key included: never printed (see [`shown_url`]).
fn request_url(config: &WeatherConfig, location: &Location, key: &str) -> url::Url {
    let mut url = config.api_url.clone();
    url.query_pairs_mut()
        .append_pair("lat", &location.lat.to_string())
        .append_pair("lon", &location.lon.to_string())
        .append_pair("appid", key)
        .append_pair("units", &config.units);
    url
}

/// `url` as it may be printed: any `appid` value replaced by `****`.
pub(crate) fn shown_url(url: &url::Url) -> String {
    if !url.query_pairs().any(|(k, _)| k == "appid") {
        return url.to_string();
    }
    let pairs: Vec<(String, String)> = url
        .query_pairs()
        .map(|(k, v)| {
            let v = if k == "appid" {
                REDACTED.into()
            } else {
                v.into_owned()
            };
            (k.into_owned(), v)
        })
        .collect();
    let mut shown = url.clone();
    shown.query_pairs_mut().clear().extend_pairs(pairs);
    // `****` is percent-encoded by the serializer; show it plainly.
    shown.to_string().replace("%2A%2A%2A%2A", REDACTED)
}

/// Text that came from elsewhere (an upstream body, an error chain) with the key masked.
fn scrub(text: &str, key: &str) -> String {
    let text = orchestrator::redact::redact_text(text);
    if key.is_empty() {
        return text.into_owned();
    }
    // As sent (percent-encoded in the query) and as given.
    let encoded: String = url::form_urlencoded::byte_serialize(key.as_bytes()).collect();
    text.replace(key, REDACTED).replace(&encoded, REDACTED)
}

/// The weather of one location with the time it was fetched, after up to [`ATTEMPTS`] tries.
async fn fetch_location(
    http: &reqwest::Client,
    key: &Secret,
    ctx: &AssetContext,
    config: &WeatherConfig,
    location: &Location,
) -> Result<(Value, String), LocationError> {
    let url = request_url(config, location, key.expose());
    let shown = shown_url(&url);
    let mut attempt = 1;
    loop {
        match get_once(
            http,
            &url,
            &shown,
            key.expose(),
            config.timeout,
            config.max_body_bytes,
        )
        .await
        {
            Ok(value) => {
                let fetched_at = Utc::now().to_rfc3339_opts(SecondsFormat::Secs, true);
                return Ok((value, fetched_at));
            }
            Err(e) if e.retryable && attempt < ATTEMPTS => {
                let delay = BACKOFF.delay(attempt);
                ctx.log(
                    LogLevel::Warn,
                    format!(
                        "{}: {} (attempt {attempt} of {ATTEMPTS}); trying again in {} ms",
                        location.name,
                        e.message,
                        delay.as_millis()
                    ),
                );
                tokio::time::sleep(delay).await;
                attempt += 1;
            }
            // A failure no retry would fix says nothing of attempts it never made.
            Err(e) if !e.retryable && attempt == 1 => return Err(e),
            Err(e) => {
                return Err(LocationError {
                    message: format!("{} (attempt {attempt} of {ATTEMPTS})", e.message),
                    retryable: e.retryable,
                });
            }
        }
    }
}

/// One GET of `url` (shown as `shown`), its body parsed as a JSON object.
async fn get_once(
    http: &reqwest::Client,
    url: &url::Url,
    shown: &str,
    key: &str,
    timeout: Duration,
    max_body: u64,
) -> Result<Value, LocationError> {
    let transport = |e: reqwest::Error| LocationError {
        message: if e.is_timeout() {
            format!("GET {shown} timed out after {} s", timeout.as_secs_f64())
        } else {
            // Without its URL: reqwest would print the request URL, key and all.
            format!(
                "GET {shown} failed: {}",
                scrub(&error_chain(&e.without_url()), key)
            )
        },
        retryable: true,
    };
    let response = http
        .get(url.clone())
        .timeout(timeout)
        .send()
        .await
        .map_err(transport)?;
    let status = response.status();
    let body = read_capped(response, max_body).await.map_err(|e| match e {
        BodyError::Transport(e) => transport(e),
        too_large => LocationError {
            message: format!("GET {shown}: {too_large}"),
            retryable: false,
        },
    })?;
    if !status.is_success() {
        let quoted = upstream_message(&body)
            .map(|m| format!(": {}", scrub(&m, key)))
            .unwrap_or_default();
        let hint = if status.as_u16() == 401 {
            " (OpenWeather refused the API key: check OPENWEATHER_API_KEY)"
        } else {
            ""
        };
        return Err(LocationError {
            message: format!("GET {shown} returned {status}{hint}{quoted}"),
            retryable: status.is_server_error() || status.as_u16() == 429,
        });
    }
    let value: Value = serde_json::from_slice(&body).map_err(|e| LocationError {
        message: format!("GET {shown} did not return JSON: {e}"),
        retryable: false,
    })?;
    if !value.is_object() {
        return Err(LocationError {
            message: format!("GET {shown} returned JSON that is not an object"),
            retryable: false,
        });
    }
    Ok(value)
}

/// OpenWeather's error bodies are `{"cod": 401, "message": "…"}`; quote the message, or the
/// start of a plain-text body.
fn upstream_message(body: &[u8]) -> Option<String> {
    let text = match serde_json::from_slice::<Value>(body) {
        Ok(v) => v.get("message")?.as_str()?.to_owned(),
        Err(_) => String::from_utf8_lossy(body).trim().to_owned(),
    };
    if text.is_empty() {
        return None;
    }
    Some(text.chars().take(QUOTE_LIMIT).collect())
}

/// reqwest's top-level message is vague ("error sending request"); the causes say what failed.
fn error_chain(err: &dyn std::error::Error) -> String {
    let mut parts = vec![err.to_string()];
    let mut source = err.source();
    while let Some(cause) = source {
        parts.push(cause.to_string());
        source = cause.source();
    }
    parts.join(": ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn printed_urls_never_carry_the_key() {
        let config = WeatherConfig::parse(&Value::Object(super::super::config::default_config(
            "http://127.0.0.1:9/data/2.5/weather",
        )))
        .unwrap();
        let url = request_url(&config, &config.locations[0], "k3y&x=1");
        assert!(url.as_str().contains("appid=k3y%26x%3D1"), "{url}");
        assert_eq!(
            shown_url(&url),
            "http://127.0.0.1:9/data/2.5/weather?lat=49.6116&lon=6.1319&appid=****&units=metric"
        );
        assert_eq!(scrub("echo k3y&x=1 back", "k3y&x=1"), "echo **** back");
    }

    #[test]
    fn upstream_messages_are_quoted_briefly() {
        assert_eq!(
            upstream_message(br#"{"cod":401,"message":"Invalid API key."}"#).as_deref(),
            Some("Invalid API key.")
        );
        assert_eq!(upstream_message(b"  \n").as_deref(), None);
        assert_eq!(
            upstream_message(&[b'x'; 500]).map(|m| m.len()),
            Some(QUOTE_LIMIT)
        );
    }
}
