//! Asset checks: data-quality verdicts on an asset's output, run right after the asset. A check
//! is a Rust function over the output and the asset's context, a command (exit 0 = passed), or
//! reported by the asset itself (Pipes' `report_asset_check`, or [`AssetOutput::checks`]); a
//! declared check the asset never reports counts as failed. `blocking` checks that fail with
//! severity `Error` stop the asset's downstream steps (skipped, naming the check).
//!
//! [`AssetOutput::checks`]: super::AssetOutput

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use serde_json::Value;

use super::asset::AssetError;
use super::command::CommandSpec;
use super::context::AssetContext;
use crate::domain::{CheckResult, CheckSeverity, IdError};

/// The boxed future a check function returns.
pub type CheckFuture = Pin<Box<dyn Future<Output = Result<CheckResult, AssetError>> + Send>>;

/// A check function: the asset's context and its output.
pub type CheckFn = Arc<dyn Fn(AssetContext, Arc<Value>) -> CheckFuture + Send + Sync>;

/// A check of an asset.
#[derive(Clone)]
pub struct AssetCheckDef {
    /// Unique among the asset's checks (`has_rows`).
    pub name: String,
    pub description: String,
    /// A failure with severity `Error` skips the asset's downstream steps.
    pub blocking: bool,
    /// The severity of a failure the function reports with [`CheckResult::from_bool`]-style
    /// defaults, and of a check that errs.
    pub severity: CheckSeverity,
    pub compute: CheckCompute,
}

/// How a check reaches its verdict.
#[derive(Clone)]
pub enum CheckCompute {
    /// A function over the asset's output, in the worker.
    Rust(CheckFn),
    /// A command run after the asset, with the asset's output as its one input: exit 0 is
    /// passed; through Pipes it may add metadata (or give the verdict) with
    /// `report_asset_check`.
    Command(CommandSpec),
    /// Reported by the asset's own step; never reported is failed ("not reported").
    Reported,
}

impl fmt::Debug for CheckCompute {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Rust(_) => f.write_str("Rust(…)"),
            Self::Command(spec) => f.debug_tuple("Command").field(spec).finish(),
            Self::Reported => f.write_str("Reported"),
        }
    }
}

impl fmt::Debug for AssetCheckDef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AssetCheckDef")
            .field("name", &self.name)
            .field("blocking", &self.blocking)
            .field("severity", &self.severity)
            .field("compute", &self.compute)
            .finish_non_exhaustive()
    }
}

impl AssetCheckDef {
    /// Starts a check named `name` (letters, digits, `_` and `-`; checked by `compute`).
    pub fn builder(name: &str) -> AssetCheckDefBuilder {
        AssetCheckDefBuilder {
            name: name.to_owned(),
            description: String::new(),
            blocking: false,
            severity: CheckSeverity::Error,
        }
    }
}

/// Builds an [`AssetCheckDef`].
#[derive(Debug, Clone)]
pub struct AssetCheckDefBuilder {
    name: String,
    description: String,
    blocking: bool,
    severity: CheckSeverity,
}

impl AssetCheckDefBuilder {
    pub fn description(mut self, text: &str) -> Self {
        self.description = text.to_owned();
        self
    }

    pub fn blocking(mut self, blocking: bool) -> Self {
        self.blocking = blocking;
        self
    }

    pub fn severity(mut self, severity: CheckSeverity) -> Self {
        self.severity = severity;
        self
    }

    /// Finishes the check with its function.
    pub fn compute<F, Fut>(self, f: F) -> Result<AssetCheckDef, IdError>
    where
        F: Fn(AssetContext, Arc<Value>) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<CheckResult, AssetError>> + Send + 'static,
    {
        self.finish(CheckCompute::Rust(Arc::new(move |ctx, value| {
            Box::pin(f(ctx, value))
        })))
    }

    /// Finishes the check as a command run after the asset.
    pub fn command(self, spec: CommandSpec) -> Result<AssetCheckDef, IdError> {
        self.finish(CheckCompute::Command(spec))
    }

    /// Finishes the check as one the asset reports itself.
    pub fn reported(self) -> Result<AssetCheckDef, IdError> {
        self.finish(CheckCompute::Reported)
    }

    fn finish(self, compute: CheckCompute) -> Result<AssetCheckDef, IdError> {
        // The same rules as an asset key: the name appears in events, URLs and job files.
        crate::domain::AssetKey::parse(&self.name)?;
        Ok(AssetCheckDef {
            name: self.name,
            description: self.description,
            blocking: self.blocking,
            severity: self.severity,
            compute,
        })
    }
}
