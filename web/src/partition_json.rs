//! The wire shape of a job's partition status, shared by the JSON API
//! (`GET /api/v1/jobs/{job}/partitions`) and `orch partitions --json`: the fixed
//! interface `{"summary": {...}, "partitions": [{"key", "status", "run_id"}], "next"}`; the API
//! adds the run-length `ranges`.

use orchestrator::partition_status::{StatusCounts, StatusReport};
use serde::Serialize;
use utoipa::ToSchema;

/// Keys per status over every key of the definition.
#[derive(Debug, Serialize, ToSchema)]
pub struct StatusSummaryJson {
    pub materialized: u64,
    pub failed: u64,
    pub in_progress: u64,
    pub missing: u64,
}

impl From<StatusCounts> for StatusSummaryJson {
    fn from(c: StatusCounts) -> Self {
        Self {
            materialized: c.materialized,
            failed: c.failed,
            in_progress: c.in_progress,
            missing: c.missing,
        }
    }
}

/// One partition key.
#[derive(Debug, Serialize, ToSchema)]
pub struct PartitionKeyJson {
    pub key: String,
    /// `materialized`, `failed`, `in_progress` or `missing`.
    pub status: &'static str,
    /// The latest run that targeted or materialized it.
    pub run_id: Option<String>,
}

/// Consecutive keys with one status.
#[derive(Debug, Serialize, ToSchema)]
pub struct StatusRangeJson {
    pub start: String,
    pub end: String,
    pub status: &'static str,
    pub count: u64,
}

/// A page of a job's (or one of its assets') partition status.
#[derive(Debug, Serialize, ToSchema)]
pub struct PartitionsJson {
    pub summary: StatusSummaryJson,
    /// Keys in the definition's order, after the request's `after`.
    pub partitions: Vec<PartitionKeyJson>,
    /// The `after` of the next page; `null` on the last.
    pub next: Option<String>,
    /// Every key as run-length ranges (the API only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ranges: Option<Vec<StatusRangeJson>>,
}

impl PartitionsJson {
    /// The report as JSON, with its ranges when `with_ranges`.
    pub fn new(report: StatusReport, with_ranges: Ranges) -> Self {
        Self {
            summary: report.summary.into(),
            partitions: report
                .partitions
                .into_iter()
                .map(|k| PartitionKeyJson {
                    key: k.key,
                    status: k.status.as_str(),
                    run_id: k.run_id.map(|r| r.to_string()),
                })
                .collect(),
            next: report.next,
            ranges: (with_ranges == Ranges::Include).then(|| {
                report
                    .ranges
                    .into_iter()
                    .map(|r| StatusRangeJson {
                        start: r.start,
                        end: r.end,
                        status: r.status.as_str(),
                        count: r.count,
                    })
                    .collect()
            }),
        }
    }
}

/// Whether the answer carries the run-length ranges.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ranges {
    Include,
    Omit,
}
