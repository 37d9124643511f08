//! What an asset function sees while it runs: its run, config, upstream values and a logger.
//! The sink behind the logger is supplied by whoever executes the asset (the worker).

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use serde::de::DeserializeOwned;
use serde_json::Value;

use super::asset::{AssetError, Inputs};
use crate::domain::{AssetKey, EventKind, JobName, LogLevel, NewEvent, PartitionScope, RunId};

/// Receives the events an asset emits (log lines). Implementations do not block, except to hold
/// an emitter while a bound of theirs is reached (the worker's writer during a database outage).
pub trait EventSink: Send + Sync {
    fn emit(&self, event: NewEvent);

    /// Resolves once the sink has room for more events (at once, by default). The worker's
    /// writer holds events while the database is away, up to a bound; whoever can wait (the
    /// executor between steps and attempts, a command's output reader) waits here, so a long
    /// outage pauses the run's steps instead of dropping events or growing memory unbounded.
    fn room(&self) -> Pin<Box<dyn Future<Output = ()> + Send + '_>> {
        Box::pin(std::future::ready(()))
    }
}

/// The context passed to an asset function.
#[derive(Clone)]
pub struct AssetContext {
    pub run_id: RunId,
    pub job: JobName,
    pub asset: AssetKey,
    /// 1 for the first attempt.
    pub attempt: u32,
    /// The run config (job defaults overlaid with the launch's values).
    pub config: Arc<Value>,
    pub inputs: Arc<Inputs>,
    /// The partition (or range) the run targets; the default (all `None`) when unpartitioned.
    pub partition: PartitionScope,
    sink: Arc<dyn EventSink>,
}

impl AssetContext {
    pub fn new(
        run_id: RunId,
        job: JobName,
        asset: AssetKey,
        attempt: u32,
        config: Arc<Value>,
        inputs: Arc<Inputs>,
        sink: Arc<dyn EventSink>,
    ) -> Self {
        Self {
            run_id,
            job,
            asset,
            attempt,
            config,
            inputs,
            partition: PartitionScope::default(),
            sink,
        }
    }

    /// The same context for the partition (or range) `scope`.
    pub fn with_partition(mut self, scope: PartitionScope) -> Self {
        self.partition = scope;
        self
    }

    /// The value of upstream asset `key`, deserialized.
    pub fn input<T: DeserializeOwned>(&self, key: &str) -> Result<T, AssetError> {
        let value = self
            .inputs
            .iter()
            .find(|(k, _)| k.as_str() == key)
            .map(|(_, v)| v)
            .ok_or_else(|| {
                AssetError::fatal(format!(
                    "{}: upstream asset '{key}' gave no value",
                    self.asset
                ))
            })?;
        T::deserialize(value.as_ref()).map_err(|e| {
            AssetError::fatal(format!(
                "{}: upstream '{key}' has an unexpected shape: {e}",
                self.asset
            ))
        })
    }

    /// A string value of the run config.
    pub fn config_str(&self, key: &str) -> Option<&str> {
        self.config.get(key).and_then(Value::as_str)
    }

    /// A numeric value of the run config.
    pub fn config_f64(&self, key: &str) -> Option<f64> {
        self.config.get(key).and_then(Value::as_f64)
    }

    pub fn log(&self, level: LogLevel, message: impl Into<String>) {
        self.sink.emit(NewEvent::step(
            &self.asset,
            EventKind::Log {
                level,
                message: message.into(),
            },
        ));
    }

    pub fn info(&self, message: impl Into<String>) {
        self.log(LogLevel::Info, message);
    }
}

impl fmt::Debug for AssetContext {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AssetContext")
            .field("run_id", &self.run_id)
            .field("job", &self.job)
            .field("asset", &self.asset)
            .field("attempt", &self.attempt)
            .finish_non_exhaustive()
    }
}
