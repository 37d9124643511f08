//! Asset checks as the event log records them: a check's verdict on an asset (passed or not,
//! how severe a failure is, metadata). The checks themselves are defined in `definitions`.

use serde::{Deserialize, Serialize};

use super::Metadata;

/// How bad a failed check is. `Error` on a blocking check stops the asset's downstream steps.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum CheckSeverity {
    Warn,
    Error,
}

impl CheckSeverity {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Warn => "WARN",
            Self::Error => "ERROR",
        }
    }

    /// `warn` or `error`, any case (job files, Pipes' `WARN`/`ERROR`).
    pub fn parse(s: &str) -> Option<Self> {
        match s.to_ascii_lowercase().as_str() {
            "warn" | "warning" => Some(Self::Warn),
            "error" => Some(Self::Error),
            _ => None,
        }
    }
}

impl std::fmt::Display for CheckSeverity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What a check found.
#[derive(Debug, Clone, PartialEq)]
pub struct CheckResult {
    pub passed: bool,
    /// The severity of a failure; a check that passed keeps its declared severity.
    pub severity: CheckSeverity,
    pub metadata: Metadata,
}

impl CheckResult {
    pub fn passed() -> Self {
        Self {
            passed: true,
            severity: CheckSeverity::Error,
            metadata: Metadata::new(),
        }
    }

    pub fn failed(severity: CheckSeverity) -> Self {
        Self {
            passed: false,
            severity,
            metadata: Metadata::new(),
        }
    }

    /// Passed if `ok`, else failed with `severity`.
    pub fn from_bool(ok: bool, severity: CheckSeverity) -> Self {
        Self {
            passed: ok,
            severity,
            metadata: Metadata::new(),
        }
    }

    pub fn with_metadata(mut self, key: &str, value: impl Into<serde_json::Value>) -> Self {
        self.metadata.insert(key.to_owned(), value.into());
        self
    }

    /// Whether this verdict stops downstream steps when its check is blocking.
    pub fn blocks(&self) -> bool {
        !self.passed && self.severity == CheckSeverity::Error
    }
}
