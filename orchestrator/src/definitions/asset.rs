//! Asset definitions: an async function with declared upstream assets, a retry policy and a
//! description.

use std::collections::BTreeMap;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use serde_json::Value;

use super::check::AssetCheckDef;
use super::command::CommandSpec;
use super::context::AssetContext;
use super::freshness::FreshnessPolicy;
use super::partitions::PartitionsDef;
use crate::domain::{AssetKey, CheckResult, Metadata};

/// What an asset function returns: the value handed to downstream assets (persisted by the IO
/// manager), the metadata recorded on its materialization, and the verdicts of checks the
/// asset evaluated itself (as a Pipes script's `report_asset_check`).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct AssetOutput {
    pub value: Value,
    pub metadata: Metadata,
    /// Check name → verdict, in the order reported.
    pub checks: Vec<(String, CheckResult)>,
}

impl AssetOutput {
    pub fn new(value: Value) -> Self {
        Self {
            value,
            metadata: Metadata::new(),
            checks: Vec::new(),
        }
    }

    /// Adds the verdict of check `name`, evaluated by the asset itself.
    pub fn with_check(mut self, name: &str, result: CheckResult) -> Self {
        self.checks.push((name.to_owned(), result));
        self
    }

    pub fn with_metadata(mut self, key: &str, value: impl Into<Value>) -> Self {
        self.metadata.insert(key.to_owned(), value.into());
        self
    }
}

/// Why an asset failed. `retryable` says whether the retry policy may try again: a timeout is
/// worth another attempt, a body that is not JSON is not.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct AssetError {
    pub message: String,
    pub retryable: bool,
}

impl AssetError {
    /// A failure another attempt may fix (network, 5xx, throttling).
    pub fn retryable(message: impl Into<String>) -> Self {
        Self {
            message: message.into(),
            retryable: true,
        }
    }

    /// A failure no retry will fix (bad data, bad config, 4xx).
    pub fn fatal(message: impl Into<String>) -> Self {
        Self {
            message: message.into(),
            retryable: false,
        }
    }
}

/// How often and how patiently a failed step is tried again.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RetryPolicy {
    /// Attempts in all, the first included; 1 means no retry.
    pub max_attempts: u32,
    /// Delay before the second attempt.
    pub delay: Duration,
    /// Each further delay is the previous one times this factor.
    pub backoff_factor: f64,
    /// Upper bound of one delay.
    pub max_delay: Duration,
}

impl RetryPolicy {
    pub const NONE: RetryPolicy = RetryPolicy {
        max_attempts: 1,
        delay: Duration::ZERO,
        backoff_factor: 1.0,
        max_delay: Duration::ZERO,
    };

    pub fn exponential(max_attempts: u32, delay: Duration) -> Self {
        Self {
            max_attempts: max_attempts.max(1),
            delay,
            backoff_factor: 2.0,
            max_delay: Duration::from_secs(300),
        }
    }

    /// The delay before attempt `next_attempt` (2 for the first retry), or `None` when the policy
    /// allows no such attempt.
    pub fn delay_before(&self, next_attempt: u32) -> Option<Duration> {
        if next_attempt < 2 || next_attempt > self.max_attempts {
            return None;
        }
        Some(self.backoff().delay(next_attempt - 1))
    }

    /// The policy's delays as orch's one backoff (no jitter: a step's waits are as declared).
    fn backoff(&self) -> crate::retry::Backoff {
        crate::retry::Backoff {
            first: self.delay,
            // A factor beyond f32 is beyond any cap anyway.
            factor: self.backoff_factor as f32,
            max: self.max_delay,
            jitter: false,
        }
    }
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self::NONE
    }
}

/// The boxed future an asset function returns.
pub type AssetFuture = Pin<Box<dyn Future<Output = Result<AssetOutput, AssetError>> + Send>>;

/// The compute function of an asset.
pub type AssetFn = Arc<dyn Fn(AssetContext) -> AssetFuture + Send + Sync>;

/// How an asset is computed: a Rust function in the worker's process, or an external command.
#[derive(Clone)]
pub enum AssetCompute {
    Rust(AssetFn),
    Command(CommandSpec),
}

impl fmt::Debug for AssetCompute {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Rust(_) => f.write_str("Rust(…)"),
            Self::Command(spec) => f.debug_tuple("Command").field(spec).finish(),
        }
    }
}

/// An asset: a key, its upstream assets, a description, a retry policy and what computes it
/// from its upstream values (a Rust function or a command).
#[derive(Clone)]
pub struct AssetDef {
    pub key: AssetKey,
    pub upstream: Vec<AssetKey>,
    pub description: String,
    pub retry: RetryPolicy,
    pub compute: AssetCompute,
    /// How recent its latest materialization must be; the daemon watches it.
    pub freshness: Option<FreshnessPolicy>,
    /// Checks run right after the asset materializes.
    pub checks: Vec<AssetCheckDef>,
    /// How the asset is partitioned; `None` for an unpartitioned asset. A job's assets share
    /// the job's definition (see [`super::JobDef::with_partitions`]).
    pub partitions: Option<PartitionsDef>,
}

impl AssetDef {
    /// Starts an asset definition; `key` must be a valid asset key (checked when definitions load).
    pub fn builder(key: &str) -> AssetDefBuilder {
        AssetDefBuilder {
            key: key.to_owned(),
            upstream: Vec::new(),
            description: String::new(),
            retry: RetryPolicy::NONE,
            freshness: None,
            checks: Vec::new(),
            partitions: None,
        }
    }

    /// Starts a command asset's definition (finish it with [`AssetDefBuilder::command`]); the
    /// same builder as [`AssetDef::builder`].
    pub fn command(key: &str) -> AssetDefBuilder {
        Self::builder(key)
    }
}

impl fmt::Debug for AssetDef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AssetDef")
            .field("key", &self.key)
            .field("upstream", &self.upstream)
            .field("description", &self.description)
            .field("retry", &self.retry)
            .field("compute", &self.compute)
            .field("freshness", &self.freshness)
            .field("checks", &self.checks)
            .field("partitions", &self.partitions)
            .finish()
    }
}

/// Builds an [`AssetDef`]; names are parsed in [`AssetDefBuilder::compute`].
#[derive(Debug, Clone)]
pub struct AssetDefBuilder {
    key: String,
    upstream: Vec<String>,
    description: String,
    retry: RetryPolicy,
    freshness: Option<FreshnessPolicy>,
    checks: Vec<AssetCheckDef>,
    partitions: Option<PartitionsDef>,
}

impl AssetDefBuilder {
    pub fn upstream(mut self, keys: &[&str]) -> Self {
        self.upstream = keys.iter().map(|k| (*k).to_owned()).collect();
        self
    }

    pub fn description(mut self, text: &str) -> Self {
        self.description = text.to_owned();
        self
    }

    pub fn retry(mut self, policy: RetryPolicy) -> Self {
        self.retry = policy;
        self
    }

    /// Adds a check, run right after the asset materializes.
    pub fn check(mut self, check: AssetCheckDef) -> Self {
        self.checks.push(check);
        self
    }

    /// Watches the asset's freshness with `policy`.
    pub fn freshness(mut self, policy: FreshnessPolicy) -> Self {
        self.freshness = Some(policy);
        self
    }

    /// Partitions the asset by `def`; its runs then target a key or a range of keys.
    pub fn partitions(mut self, def: PartitionsDef) -> Self {
        self.partitions = Some(def);
        self
    }

    /// Finishes the definition with its compute function.
    pub fn compute<F, Fut>(self, f: F) -> Result<AssetDef, crate::domain::IdError>
    where
        F: Fn(AssetContext) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<AssetOutput, AssetError>> + Send + 'static,
    {
        self.finish(AssetCompute::Rust(Arc::new(move |ctx| Box::pin(f(ctx)))))
    }

    /// Finishes the definition as a command asset: the worker runs `spec` as a child process.
    pub fn command(self, spec: CommandSpec) -> Result<AssetDef, crate::domain::IdError> {
        self.finish(AssetCompute::Command(spec))
    }

    fn finish(self, compute: AssetCompute) -> Result<AssetDef, crate::domain::IdError> {
        let upstream = self
            .upstream
            .iter()
            .map(|k| AssetKey::parse(k))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(AssetDef {
            key: AssetKey::parse(&self.key)?,
            upstream,
            description: self.description,
            retry: self.retry,
            compute,
            freshness: self.freshness,
            checks: self.checks,
            partitions: self.partitions,
        })
    }
}

/// Upstream values handed to an asset, by key.
pub type Inputs = BTreeMap<AssetKey, Arc<Value>>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exponential_backoff_delays() {
        let p = RetryPolicy::exponential(4, Duration::from_millis(100));
        let delays: Vec<_> = (1..=5).map(|n| p.delay_before(n)).collect();
        assert_eq!(
            delays,
            vec![
                None,
                Some(Duration::from_millis(100)),
                Some(Duration::from_millis(200)),
                Some(Duration::from_millis(400)),
                None
            ]
        );
        assert_eq!(RetryPolicy::NONE.delay_before(2), None);
        let capped = RetryPolicy {
            max_delay: Duration::from_millis(150),
            ..p
        };
        assert_eq!(capped.delay_before(4), Some(Duration::from_millis(150)));
    }
}
