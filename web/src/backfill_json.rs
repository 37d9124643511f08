//! The wire shape of a backfill, shared by the JSON API (`/api/v1/backfills`) and
//! `orch backfill show|list --json`: `id`, `job`, `status`, `partitions` (how many keys) and
//! `counts` (its runs per status, plus `PENDING` for chunks not submitted yet).

use std::collections::BTreeMap;

use orchestrator::domain::{Backfill, BackfillCounts, NewBackfill};
use serde::Serialize;
use utoipa::ToSchema;

use crate::json::timestamp;

#[derive(Debug, Serialize, ToSchema)]
pub struct BackfillJson {
    #[schema(format = "uuid")]
    pub id: String,
    pub job: String,
    /// REQUESTED, RUNNING, COMPLETED, FAILED, CANCELING or CANCELED.
    pub status: &'static str,
    /// missing, failed or all.
    pub mode: &'static str,
    /// How many partition keys it covers.
    pub partitions: u64,
    /// Its runs per run status, and `PENDING`: runs not submitted yet.
    pub counts: BTreeMap<String, u64>,
    /// Its own limit of runs in flight (0: none).
    pub max_concurrent: u32,
    /// The assets it runs (`null`: every asset of the job).
    pub select: Option<Vec<String>>,
    /// The backfill whose failures it retries.
    pub parent_id: Option<String>,
    #[schema(format = DateTime)]
    pub created_at: String,
    #[schema(format = DateTime)]
    pub updated_at: String,
}

impl BackfillJson {
    pub fn new(backfill: &Backfill, counts: &BackfillCounts) -> Self {
        let mut by_status: BTreeMap<String, u64> = counts
            .runs
            .iter()
            .map(|(s, n)| (s.as_str().to_owned(), *n))
            .collect();
        by_status.insert("PENDING".to_owned(), counts.pending);
        Self {
            id: backfill.id.to_string(),
            job: backfill.job.to_string(),
            status: backfill.status.as_str(),
            mode: backfill.mode.as_str(),
            partitions: backfill.partitions,
            counts: by_status,
            max_concurrent: backfill.max_concurrent,
            select: backfill
                .step_selection
                .as_ref()
                .map(|keys| keys.iter().map(ToString::to_string).collect()),
            parent_id: backfill.parent.map(|p| p.to_string()),
            created_at: timestamp(backfill.created_at),
            updated_at: timestamp(backfill.updated_at),
        }
    }
}

/// What a dry run would create.
#[derive(Debug, Serialize, ToSchema)]
pub struct BackfillPlanJson {
    pub job: String,
    /// How many partition keys it would run.
    pub partitions: u64,
    /// How many runs.
    pub runs: u64,
    /// The first keys, in submission order (at most 20).
    pub first: Vec<String>,
}

impl BackfillPlanJson {
    pub fn new(plan: &NewBackfill) -> Self {
        Self {
            job: plan.job.to_string(),
            partitions: plan.chunks.iter().map(|c| u64::from(c.keys)).sum(),
            runs: plan.chunks.len() as u64,
            first: plan
                .chunks
                .iter()
                .take(20)
                .map(|c| {
                    if c.start == c.end {
                        c.start.clone()
                    } else {
                        format!("{}..{}", c.start, c.end)
                    }
                })
                .collect(),
        }
    }
}
