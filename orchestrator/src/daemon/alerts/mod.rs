//! The alert sender: drains the durable outbox (`storage::alerts`) to the Slack webhook. Each
//! turn claims the due alerts under a lease — one alert, or up to a digest's worth when a
//! backlog built up — posts one message, and records the outcome: delivered; retried later
//! (timeouts, 5xx, 429 honouring `Retry-After`, exponential backoff with jitter otherwise);
//! failed for good (any other 4xx, or still failing after `give_up_after`). Claims are paced in
//! the database, so all replicas together post at most one message per `min_interval`.
//!
//! It wakes when the evaluator queued alerts, when the next retry is due, and at a fallback
//! poll (alerts queued by another replica). Outcomes are counted in
//! `orch_alert_deliveries_total{outcome="delivered|retried|failed"}` (per alert).

mod retry_after;
pub mod slack;
mod webhook;

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

pub use retry_after::parse_retry_after;
pub use webhook::{PostOutcome, Webhook, WebhookClient, WebhookError};

use crate::domain::{Alert, DeliveryOutcome, RunId};
use crate::retry::Backoff;
use crate::storage::{Claim, ClaimRequest, RunStorage, StorageError};

/// A lease outlives the request timeout by this much, so a live sender always finishes first.
const LEASE_MARGIN: Duration = Duration::from_secs(30);

/// How the sender behaves.
#[derive(Debug, Clone, PartialEq)]
pub struct AlertOptions {
    /// The web UI's base URL, for the run links (`ORCH_UI_URL`).
    pub ui_url: String,
    /// At most one message per this interval, across replicas (Slack allows about 1/s).
    pub min_interval: Duration,
    /// How long one request may take.
    pub timeout: Duration,
    /// Most alerts in one message (at most [`slack::DIGEST_MAX`]).
    pub digest_max: u32,
    /// Between attempts after a timeout or a 5xx without `Retry-After` (with jitter).
    pub backoff: Backoff,
    /// An alert still failing this long after it was queued is marked FAILED.
    pub give_up_after: Duration,
    /// How often to look for alerts other replicas queued.
    pub idle_poll: Duration,
}

impl Default for AlertOptions {
    fn default() -> Self {
        Self {
            ui_url: "http://127.0.0.1:3000".into(),
            min_interval: Duration::from_secs(1),
            timeout: Duration::from_secs(10),
            digest_max: 40,
            backoff: Backoff::exponential(Duration::from_secs(1), Duration::from_secs(300))
                .with_jitter(),
            give_up_after: Duration::from_secs(24 * 3600),
            idle_poll: Duration::from_secs(2),
        }
    }
}

/// What one turn of the sender did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Turn {
    /// One message was posted for these runs, with this result.
    Posted {
        runs: Vec<RunId>,
        outcome: DeliveryOutcome,
    },
    /// The pace (or a 429) forbids posting before this time.
    PacedUntil(DateTime<Utc>),
    /// Nothing due; the next pending alert is due then (`None`: none pending).
    Idle(Option<DateTime<Utc>>),
}

/// The sender loop.
#[derive(Debug)]
pub struct AlertSender {
    store: Arc<dyn RunStorage>,
    client: WebhookClient,
    options: AlertOptions,
    /// This process's lease owner id.
    owner: String,
    wake: Arc<Notify>,
}

impl AlertSender {
    pub fn new(
        store: Arc<dyn RunStorage>,
        webhook: Webhook,
        options: AlertOptions,
        wake: Arc<Notify>,
    ) -> Result<Self, WebhookError> {
        let client = WebhookClient::new(webhook, options.timeout)?;
        Ok(Self {
            store,
            client,
            options,
            owner: format!("sender-{}", uuid::Uuid::now_v7()),
            wake,
        })
    }

    /// Claims what is due at `now` and posts it as one message.
    pub async fn tick_once(&self, now: DateTime<Utc>) -> Result<Turn, StorageError> {
        let max = self.options.digest_max.clamp(1, slack::DIGEST_MAX as u32);
        let claimed = self
            .store
            .claim_alerts(&ClaimRequest {
                owner: self.owner.clone(),
                now,
                lease: self.options.timeout + LEASE_MARGIN,
                max,
                min_interval: self.options.min_interval,
            })
            .await?;
        if claimed.expired > 0 {
            metrics::counter!("orch_alert_deliveries_total", "outcome" => "failed")
                .increment(claimed.expired);
            tracing::warn!(
                alerts = claimed.expired,
                "alerts whose sender stopped during the request are UNCERTAIN and not sent again"
            );
        }
        let alerts = match claimed.claim {
            Claim::Leased(alerts) => alerts,
            Claim::PacedUntil(at) => return Ok(Turn::PacedUntil(at)),
            Claim::Idle(next) => return Ok(Turn::Idle(next)),
        };
        let message = slack::render(&alerts, &self.options.ui_url);
        let posted = self.client.post(&message, now).await;
        let outcome = self.record(&alerts, posted, now).await?;
        Ok(Turn::Posted {
            runs: alerts.iter().map(|a| a.run_id).collect(),
            outcome,
        })
    }

    /// Records what the post achieved for every alert of the message; returns the outcome of
    /// the message (alerts past `give_up_after` may fail where the others are retried).
    async fn record(
        &self,
        alerts: &[Alert],
        posted: PostOutcome,
        now: DateTime<Utc>,
    ) -> Result<DeliveryOutcome, StorageError> {
        let ids: Vec<i64> = alerts.iter().map(|a| a.id).collect();
        let count = |outcome: &'static str, n: usize| {
            metrics::counter!("orch_alert_deliveries_total", "outcome" => outcome)
                .increment(n as u64);
        };
        match posted {
            PostOutcome::Accepted => {
                self.store
                    .finish_alerts(&ids, &self.owner, &DeliveryOutcome::Delivered)
                    .await?;
                count("delivered", ids.len());
                tracing::info!(alerts = ids.len(), "alert message delivered");
                Ok(DeliveryOutcome::Delivered)
            }
            PostOutcome::Permanent { error } => {
                let outcome = DeliveryOutcome::Failed { error };
                self.store
                    .finish_alerts(&ids, &self.owner, &outcome)
                    .await?;
                count("failed", ids.len());
                tracing::warn!(alerts = ids.len(), outcome = ?outcome, "alert refused for good");
                Ok(outcome)
            }
            PostOutcome::Transient { error, retry_after } => {
                let attempts = alerts.iter().map(|a| a.attempts).max().unwrap_or(1);
                // Waits count from the answer, not from when this turn began: a slow answer
                // must not eat into the backoff or Retry-After.
                let answered = Utc::now();
                let wait = match retry_after {
                    Some(wait) => {
                        self.store.pause_alerts(later(answered, wait)).await?;
                        wait
                    }
                    None => self.options.backoff.delay(attempts),
                };
                let give_up = chrono::TimeDelta::from_std(self.options.give_up_after)
                    .unwrap_or(chrono::TimeDelta::MAX);
                let (expired, retried): (Vec<&Alert>, Vec<&Alert>) =
                    alerts.iter().partition(|a| now - a.created_at >= give_up);
                if !expired.is_empty() {
                    let ids: Vec<i64> = expired.iter().map(|a| a.id).collect();
                    let outcome = DeliveryOutcome::Failed {
                        error: format!(
                            "gave up after {}: {error}",
                            humantime::format_duration(self.options.give_up_after)
                        ),
                    };
                    self.store
                        .finish_alerts(&ids, &self.owner, &outcome)
                        .await?;
                    count("failed", ids.len());
                }
                let outcome = DeliveryOutcome::Retry {
                    at: later(answered, wait),
                    error,
                };
                let ids: Vec<i64> = retried.iter().map(|a| a.id).collect();
                self.store
                    .finish_alerts(&ids, &self.owner, &outcome)
                    .await?;
                count("retried", ids.len());
                tracing::info!(alerts = ids.len(), outcome = ?outcome, "alert message will be retried");
                Ok(outcome)
            }
        }
    }

    /// Sends until `shutdown`. A message in flight is finished (within the timeout) before
    /// the loop stops, so a graceful stop never leaves an alert UNCERTAIN.
    pub async fn run(self, shutdown: CancellationToken) {
        tracing::info!(webhook = %self.client.webhook().redacted(), "alert sender started");
        loop {
            let now = Utc::now();
            let wait = match self.tick_once(now).await {
                Ok(Turn::Posted { .. }) => Duration::ZERO,
                Ok(Turn::PacedUntil(at) | Turn::Idle(Some(at))) => (at - now)
                    .to_std()
                    .unwrap_or(Duration::ZERO)
                    .min(self.options.idle_poll),
                Ok(Turn::Idle(None)) => self.options.idle_poll,
                Err(e) => {
                    tracing::warn!(error = %e, "alert sender cannot reach the store; retrying in 1 s");
                    Duration::from_secs(1)
                }
            };
            if wait.is_zero() {
                if shutdown.is_cancelled() {
                    return;
                }
                continue;
            }
            tokio::select! {
                () = shutdown.cancelled() => return,
                () = self.wake.notified() => {}
                () = tokio::time::sleep(wait) => {}
            }
        }
    }
}

/// `now + wait`, saturating at a year from now.
fn later(now: DateTime<Utc>, wait: Duration) -> DateTime<Utc> {
    let wait = chrono::TimeDelta::from_std(wait).unwrap_or(chrono::TimeDelta::days(365));
    now.checked_add_signed(wait).unwrap_or(now)
}
