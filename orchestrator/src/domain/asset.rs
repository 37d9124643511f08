//! Assets as the catalog sees them: a key and its latest materialization.

use chrono::{DateTime, Utc};

use super::{AssetKey, Metadata, RunId};

/// One materialization of an asset, taken from the event log.
#[derive(Debug, Clone, PartialEq)]
pub struct Materialization {
    pub asset_key: AssetKey,
    pub run_id: RunId,
    pub event_id: i64,
    pub timestamp: DateTime<Utc>,
    pub metadata: Metadata,
}

/// An asset in the catalog with its latest materialization.
#[derive(Debug, Clone, PartialEq)]
pub struct AssetSummary {
    pub key: AssetKey,
    pub latest: Materialization,
}
