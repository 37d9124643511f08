//! Freshness as the store keeps it: the state an asset is in, and the changes of that state
//! (FRESHNESS_CHANGED events). The policies that decide it are in `definitions`.

use chrono::{DateTime, Utc};

use super::AssetKey;

/// How fresh an asset is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum FreshnessState {
    Fresh,
    Warn,
    Overdue,
    /// Never materialized: nothing to judge yet.
    Unknown,
}

/// A stored state that is none of the four.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown freshness state '{0}'")]
pub struct UnknownFreshnessState(pub String);

impl FreshnessState {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Fresh => "FRESH",
            Self::Warn => "WARN",
            Self::Overdue => "OVERDUE",
            Self::Unknown => "UNKNOWN",
        }
    }

    pub fn parse(s: &str) -> Result<Self, UnknownFreshnessState> {
        match s {
            "FRESH" => Ok(Self::Fresh),
            "WARN" => Ok(Self::Warn),
            "OVERDUE" => Ok(Self::Overdue),
            "UNKNOWN" => Ok(Self::Unknown),
            other => Err(UnknownFreshnessState(other.to_owned())),
        }
    }
}

impl std::fmt::Display for FreshnessState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The recorded freshness of one asset.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AssetFreshness {
    pub asset_key: AssetKey,
    pub state: FreshnessState,
    pub reason: String,
    /// When it entered this state.
    pub changed_at: DateTime<Utc>,
}

/// One change of an asset's freshness (a FRESHNESS_CHANGED event).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FreshnessChange {
    pub id: i64,
    pub asset_key: AssetKey,
    pub ts: DateTime<Utc>,
    /// `None` for the first state recorded.
    pub previous: Option<FreshnessState>,
    pub state: FreshnessState,
    pub reason: String,
}
