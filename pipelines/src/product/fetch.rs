//! `fetch_data`: GET a JSON array of posts. `file://` URLs are read from disk so the job runs
//! offline. Network trouble, timeouts, 429 and 5xx are retryable; other statuses and bodies that
//! are not a JSON array are not, nor is a body over the run config's `max_body_bytes`
//! (`crate::body`).

use std::time::Duration;
use tracing::Instrument;

use orchestrator::definitions::{AssetContext, AssetError, AssetOutput};
use serde_json::Value;

use crate::body::{BodyError, max_body_bytes, read_capped};

pub(crate) const DEFAULT_TIMEOUT_SECS: u64 = 10;

/// One HTTP client for all runs of the process (connection reuse).
pub(crate) fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .user_agent(concat!("orch/", env!("CARGO_PKG_VERSION")))
        .build()
        .unwrap_or_default()
}

pub(crate) async fn fetch_data(
    http: reqwest::Client,
    ctx: AssetContext,
) -> Result<AssetOutput, AssetError> {
    let url = ctx
        .config_str("source_url")
        .ok_or_else(|| AssetError::fatal("run config 'source_url' is missing or not a string"))?
        .to_owned();
    let timeout = match ctx.config_f64("timeout_seconds") {
        Some(secs) if secs > 0.0 && secs.is_finite() => Duration::from_secs_f64(secs),
        Some(secs) => {
            return Err(AssetError::fatal(format!(
                "run config 'timeout_seconds' must be a positive number, not {secs}"
            )));
        }
        None => Duration::from_secs(DEFAULT_TIMEOUT_SECS),
    };
    let cap = max_body_bytes(&ctx.config).map_err(AssetError::fatal)?;
    ctx.info(format!("fetching posts from {url}"));
    let body = if let Some(path) = url.strip_prefix("file://") {
        let size = tokio::fs::metadata(path)
            .await
            .map_err(|e| AssetError::fatal(format!("cannot read {url}: {e}")))?
            .len();
        if size > cap {
            return Err(AssetError::fatal(format!(
                "{url}: {}",
                BodyError::TooLarge { cap }
            )));
        }
        tokio::fs::read(path)
            .await
            .map_err(|e| AssetError::fatal(format!("cannot read {url}: {e}")))?
    } else {
        get(&http, &url, timeout, cap).await?
    };
    let value: Value = serde_json::from_slice(&body)
        .map_err(|e| AssetError::fatal(format!("{url} did not return JSON: {e}")))?;
    let Value::Array(posts) = value else {
        return Err(AssetError::fatal(format!(
            "{url} returned JSON that is not an array (got {}); expected an array of posts",
            kind_of(&value)
        )));
    };
    ctx.info(format!("fetched {} posts", posts.len()));
    let count = posts.len();
    Ok(AssetOutput::new(Value::Array(posts))
        .with_metadata("count", count)
        .with_metadata("source_url", url))
}

async fn get(
    http: &reqwest::Client,
    url: &str,
    timeout: Duration,
    cap: u64,
) -> Result<Vec<u8>, AssetError> {
    let parsed = url::Url::parse(url)
        .map_err(|e| AssetError::fatal(format!("'{url}' is not a valid URL: {e}")))?;
    if !matches!(parsed.scheme(), "http" | "https") {
        return Err(AssetError::fatal(format!(
            "'{url}' has scheme '{}'; use http, https or file",
            parsed.scheme()
        )));
    }
    let request_error = |e: reqwest::Error| {
        if e.is_timeout() {
            AssetError::retryable(format!(
                "GET {url} timed out after {} s",
                timeout.as_secs_f64()
            ))
        } else {
            AssetError::retryable(format!("GET {url} failed: {}", error_chain(&e)))
        }
    };
    // The span names host and path only: a query string may carry a key.
    let span = tracing::info_span!(
        "http.fetch",
        otel.kind = "client",
        http.request.method = "GET",
        server.address = parsed.host_str().unwrap_or_default(),
        url.path = parsed.path(),
        http.response.status_code = tracing::field::Empty,
    );
    let response = http
        .get(parsed)
        .timeout(timeout)
        .send()
        .instrument(span.clone())
        .await
        .map_err(request_error)?;
    let status = response.status();
    span.record("http.response.status_code", status.as_u16());
    if !status.is_success() {
        let message = format!("GET {url} returned {status}");
        return Err(if status.is_server_error() || status.as_u16() == 429 {
            AssetError::retryable(message)
        } else {
            AssetError::fatal(message)
        });
    }
    read_capped(response, cap)
        .instrument(span)
        .await
        .map_err(|e| match e {
            BodyError::Transport(e) => request_error(e),
            too_large => AssetError::fatal(format!("GET {url}: {too_large}")),
        })
}

/// reqwest's top-level message is vague ("error sending request"); the cause says what failed.
fn error_chain(err: &dyn std::error::Error) -> String {
    let mut parts = vec![err.to_string()];
    let mut source = err.source();
    while let Some(cause) = source {
        parts.push(cause.to_string());
        source = cause.source();
    }
    parts.join(": ")
}

fn kind_of(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}
