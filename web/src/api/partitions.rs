//! `GET /api/v1/jobs/{job}/partitions`: a job's (or one of its assets') partition status from
//! the status index — counts, a keyset page of keys (optionally of one status) and the
//! run-length ranges a health bar draws.

use axum::Json;
use axum::extract::{Path, State};
use orchestrator::domain::{AssetKey, PartitionStatus};
use orchestrator::partition_status::{MAX_LIST, StatusQuery, read_status};
use serde::Deserialize;
use utoipa::IntoParams;

use super::given;
use crate::error::{ApiError, ErrorJson};
use crate::extract::ApiQuery;
use crate::partition_json::{PartitionsJson, Ranges};
use crate::state::AppState;

/// Query of `GET /jobs/{job}/partitions`.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct PartitionsQuery {
    /// One partitioned asset of the job; the whole job when not given.
    #[param(schema_with = crate::openapi::schemas::name_filter)]
    pub asset: Option<String>,
    /// Only keys in this status: materialized, failed, in_progress or missing.
    #[param(schema_with = crate::openapi::schemas::partition_status_filter)]
    pub status: Option<String>,
    /// The `next` of the previous page (a key).
    pub after: Option<String>,
    /// Page size (default 1 000).
    #[param(minimum = 1, maximum = 10000)]
    pub limit: Option<u32>,
}

/// A job's partition status: counts per status, a page of keys in the definition's order and
/// the run-length ranges over every key. Read from the status index, never the event log.
#[utoipa::path(get, path = "/jobs/{job}/partitions", operation_id = "job_partitions",
    tag = "jobs", params(("job" = String, Path, description = "The job's name"), PartitionsQuery),
    responses(
        (status = 200, description = "The status", body = PartitionsJson),
        (status = 400, description = "A malformed status, asset or limit", body = ErrorJson),
        (status = 404, description = "No such job, or no such partitioned asset in it", body = ErrorJson),
        (status = 422, description = "The job is not partitioned", body = ErrorJson),
        (status = 500, description = "The run store failed", body = ErrorJson),
    ))]
pub async fn status(
    State(state): State<AppState>,
    Path(name): Path<String>,
    ApiQuery(query): ApiQuery<PartitionsQuery>,
) -> Result<Json<PartitionsJson>, ApiError> {
    let job = state
        .definitions()
        .job(&name)
        .cloned()
        .ok_or_else(|| ApiError::NotFound(format!("job '{name}' not found")))?;
    let bad = |e: &dyn std::fmt::Display| ApiError::BadRequest(e.to_string());
    let asset = given(query.asset.as_deref())
        .map(AssetKey::parse)
        .transpose()
        .map_err(|e| bad(&e))?;
    let status = given(query.status.as_deref())
        .map(str::parse::<PartitionStatus>)
        .transpose()
        .map_err(|e| bad(&e))?;
    let limit = match query.limit {
        None => 1_000,
        Some(n @ 1..) if n as usize <= MAX_LIST => n as usize,
        Some(n) => {
            return Err(ApiError::BadRequest(format!(
                "limit {n} is out of range; use 1 to {MAX_LIST}"
            )));
        }
    };
    let report = read_status(
        state.store.as_ref(),
        &job,
        &StatusQuery {
            asset,
            status,
            after: given(query.after.as_deref()).map(str::to_owned),
            limit,
        },
        chrono::Utc::now(),
    )
    .await?;
    Ok(Json(PartitionsJson::new(report, Ranges::Include)))
}
