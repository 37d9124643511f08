//! The Slack incoming webhook: one POST of a JSON message, and what its answer means for the
//! alert — accepted (2xx), worth another try (timeout, connection error, 408, 429 with its
//! `Retry-After`, 5xx) or refused for good (any other status). The URL is a secret (whoever has
//! it can post to the channel): it is never in an error, a log line or `Debug` output, and every
//! message built here is scrubbed of it.

use std::fmt;
use std::time::Duration;

use chrono::{DateTime, Utc};
use reqwest::StatusCode;
use serde_json::Value;

use super::retry_after::parse_retry_after;
use crate::secrets::Secret;

/// Characters of a refusal's body kept in the alert's error.
const BODY_CHARS: usize = 200;

/// The webhook URL was refused at start-up. The message never shows it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WebhookError {
    #[error("ALERT_WEBHOOK_URL is not an http(s) URL (its value is secret and not shown)")]
    NotHttp,
    #[error("cannot build the HTTP client for alerts: {0}")]
    Client(String),
}

/// A validated webhook URL.
#[derive(Clone)]
pub struct Webhook {
    url: reqwest::Url,
}

impl Webhook {
    pub fn parse(secret: &Secret) -> Result<Self, WebhookError> {
        let url = reqwest::Url::parse(secret.expose().trim()).map_err(|_| WebhookError::NotHttp)?;
        if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none() {
            return Err(WebhookError::NotHttp);
        }
        Ok(Self { url })
    }

    /// Printable: scheme and host, the path (the secret part) hidden, e.g.
    /// `https://hooks.slack.com/[redacted]`.
    pub fn redacted(&self) -> String {
        let port = self.url.port().map(|p| format!(":{p}")).unwrap_or_default();
        format!(
            "{}://{}{port}/[redacted]",
            self.url.scheme(),
            self.url.host_str().unwrap_or("?")
        )
    }

    /// `text` without the URL or its path anywhere in it.
    fn scrub(&self, text: &str) -> String {
        let mut out = text.replace(self.url.as_str(), "[webhook]");
        let path = self.url.path();
        if path.len() > 1 {
            out = out.replace(path, "/[redacted]");
        }
        out
    }
}

impl fmt::Debug for Webhook {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Webhook({})", self.redacted())
    }
}

/// What one POST achieved.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PostOutcome {
    Accepted,
    /// Try again: after `retry_after` if the server said so, else after a backoff.
    Transient {
        error: String,
        retry_after: Option<Duration>,
    },
    /// Never try again.
    Permanent {
        error: String,
    },
}

/// Posts messages to one webhook.
#[derive(Debug, Clone)]
pub struct WebhookClient {
    http: reqwest::Client,
    webhook: Webhook,
    timeout: Duration,
}

impl WebhookClient {
    pub fn new(webhook: Webhook, timeout: Duration) -> Result<Self, WebhookError> {
        let http = reqwest::Client::builder()
            .user_agent(concat!("orch/", env!("CARGO_PKG_VERSION")))
            .timeout(timeout)
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|e| WebhookError::Client(webhook.scrub(&chain(&e.without_url()))))?;
        Ok(Self {
            http,
            webhook,
            timeout,
        })
    }

    pub fn webhook(&self) -> &Webhook {
        &self.webhook
    }

    /// POSTs `message` as JSON and classifies the answer.
    pub async fn post(&self, message: &Value, now: DateTime<Utc>) -> PostOutcome {
        let sent = self
            .http
            .post(self.webhook.url.clone())
            .json(message)
            .send()
            .await;
        let response = match sent {
            Ok(response) => response,
            Err(e) if e.is_timeout() => {
                return PostOutcome::Transient {
                    error: format!(
                        "the Slack webhook did not answer within {}",
                        humantime::format_duration(self.timeout)
                    ),
                    retry_after: None,
                };
            }
            Err(e) => {
                let builder = e.is_builder();
                let error = format!(
                    "POST to the Slack webhook failed: {}",
                    self.webhook.scrub(&chain(&e.without_url()))
                );
                return if builder {
                    PostOutcome::Permanent { error }
                } else {
                    PostOutcome::Transient {
                        error,
                        retry_after: None,
                    }
                };
            }
        };
        let status = response.status();
        if status.is_success() {
            return PostOutcome::Accepted;
        }
        let retry_after = response
            .headers()
            .get(reqwest::header::RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| parse_retry_after(v, now));
        let body = response.text().await.unwrap_or_default();
        let body = body.trim();
        let mut error = format!("the Slack webhook answered {status}");
        if !body.is_empty() {
            let cut: String = body.chars().take(BODY_CHARS).collect();
            error.push_str(&format!(": {}", self.webhook.scrub(&cut)));
        }
        match status {
            StatusCode::TOO_MANY_REQUESTS => PostOutcome::Transient { error, retry_after },
            StatusCode::REQUEST_TIMEOUT => PostOutcome::Transient {
                error,
                retry_after: None,
            },
            s if s.is_server_error() => PostOutcome::Transient {
                error,
                retry_after: None,
            },
            _ => PostOutcome::Permanent { error },
        }
    }
}

/// An error with its sources, `a: b: c`.
fn chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(s) = source {
        let next = s.to_string();
        if !text.contains(&next) {
            text.push_str(": ");
            text.push_str(&next);
        }
        source = s.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_http_urls_are_accepted_and_none_is_ever_printed() {
        let secret = Secret::new("https://hooks.slack.com/services/T0/B0/XXXX");
        let webhook = Webhook::parse(&secret).unwrap();
        assert_eq!(webhook.redacted(), "https://hooks.slack.com/[redacted]");
        assert_eq!(
            format!("{webhook:?}"),
            "Webhook(https://hooks.slack.com/[redacted])"
        );
        let scrubbed = webhook.scrub("error for url (https://hooks.slack.com/services/T0/B0/XXXX)");
        assert!(!scrubbed.contains("XXXX"), "{scrubbed}");
        for bad in ["ftp://x/y", "not a url", "hooks.slack.com/services/T0"] {
            let err = Webhook::parse(&Secret::new(bad)).unwrap_err().to_string();
            assert!(!err.contains(bad), "{err}");
        }
    }
}
