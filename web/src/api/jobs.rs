//! `/api/v1/jobs`: the jobs this build defines, and Launch Run. The run config is resolved (the
//! job's defaults overlaid with the request's) and validated before any run is created.

use std::collections::BTreeMap;

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use orchestrator::definitions::{AssetSelection, JobDef};
use orchestrator::domain::NewRun;
use orchestrator::run_control::{
    PartitionError, PartitionRequest, SelectError, check_partition_request, check_selection,
};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use utoipa::ToSchema;

use super::runs::{CreatedRun, parse_tags};
use crate::auth::Caller;
use crate::error::{ApiError, ErrorJson};
use crate::extract::OptionalJson;
use crate::json::JobJson;
use crate::openapi::schemas;
use crate::state::AppState;

/// Every job of the definitions in force.
#[derive(Debug, Serialize, ToSchema)]
pub struct JobsList {
    pub jobs: Vec<JobJson>,
}

/// The jobs this build defines (the definitions in force).
#[utoipa::path(get, path = "/jobs", operation_id = "list_jobs", tag = "jobs",
    responses((status = 200, description = "Every job", body = JobsList)))]
pub async fn list(State(state): State<AppState>) -> Json<JobsList> {
    let jobs: Vec<JobJson> = state
        .definitions()
        .jobs()
        .iter()
        .map(JobJson::from)
        .collect();
    Json(JobsList { jobs })
}

fn find(state: &AppState, name: &str) -> Result<JobDef, ApiError> {
    state
        .definitions()
        .job(name)
        .cloned()
        .ok_or_else(|| ApiError::NotFound(format!("job '{name}' not found")))
}

/// One job: its assets with their upstreams, and its default config.
#[utoipa::path(get, path = "/jobs/{job}", operation_id = "get_job", tag = "jobs",
    params(("job" = String, Path, description = "The job's name")),
    responses(
        (status = 200, description = "The job", body = JobJson),
        (status = 404, description = "No such job", body = ErrorJson),
    ))]
pub async fn get(
    State(state): State<AppState>,
    Path(name): Path<String>,
) -> Result<Json<JobJson>, ApiError> {
    Ok(Json(JobJson::from(&find(&state, &name)?)))
}

/// Body of `POST /jobs/{job}/launch`; every part optional.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LaunchBody {
    /// Overrides of the job's default config.
    #[serde(default)]
    #[schema(value_type = Object)]
    config: Map<String, Value>,
    /// Tags of the run, over the job's own.
    #[serde(default)]
    #[schema(schema_with = schemas::tags)]
    tags: BTreeMap<String, String>,
    /// Only these assets, in Dagster's selection syntax (`fetch_data+`, `*store_to_s3`).
    #[serde(default)]
    select: Option<String>,
    /// The partition key to run, checked against the job's partitions.
    #[serde(default)]
    partition: Option<String>,
    /// A range of partition keys to run in one run, both inclusive (instead of `partition`).
    #[serde(default)]
    partition_range: Option<RangeBody>,
}

/// A range of partition keys, both inclusive.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct RangeBody {
    start: String,
    end: String,
}

impl LaunchBody {
    fn partition_request(&self) -> Result<PartitionRequest, ApiError> {
        match (&self.partition, &self.partition_range) {
            (Some(_), Some(_)) => Err(ApiError::Unprocessable(
                "give either partition or partition_range, not both".to_owned(),
            )),
            (Some(key), None) => Ok(PartitionRequest::Key(key.clone())),
            (None, Some(range)) => Ok(PartitionRequest::Range {
                start: range.start.clone(),
                end: range.end.clone(),
            }),
            (None, None) => Ok(PartitionRequest::None),
        }
    }
}

/// Launch Run: a QUEUED run for the daemon. A config the job refuses, tags the operator's tag
/// check refuses (e.g. an `orch/k8s_config` key outside `run_overridable`), a partition it does
/// not have (or none for a partitioned job), or a selection that names unknown assets or needs
/// upstream outputs never materialized, is a 422 with the reason, and no run is created.
#[utoipa::path(post, path = "/jobs/{job}/launch", operation_id = "launch_job", tag = "jobs",
    params(("job" = String, Path, description = "The job's name")),
    request_body(content = Option<LaunchBody>, content_type = "application/json",
        description = "Optional: an empty body launches with the job's defaults"),
    responses(
        (status = 201, description = "The run, queued", body = CreatedRun),
        (status = 400, description = "A malformed body or tag key", body = ErrorJson),
        (status = 404, description = "No such job", body = ErrorJson),
        (status = 413, description = "The body is over 1 MiB", body = ErrorJson),
        (status = 415, description = "A body not sent as application/json", body = ErrorJson),
        (status = 422, description = "The job refuses the config, tags, selection or partition; no run", body = ErrorJson),
        (status = 500, description = "The run store failed", body = ErrorJson),
    ))]
pub async fn launch(
    State(state): State<AppState>,
    caller: Caller,
    Path(name): Path<String>,
    OptionalJson(body): OptionalJson<LaunchBody>,
) -> Result<(StatusCode, Json<CreatedRun>), ApiError> {
    let job = &find(&state, &name)?;
    let config = job
        .resolve_config(&body.config)
        .map_err(|e| ApiError::Unprocessable(e.to_string()))?;
    let tags = parse_tags(&body.tags)?;
    state
        .tag_check
        .check(&tags)
        .map_err(|e| ApiError::Unprocessable(e.to_string()))?;
    let mut new_run = NewRun::queued(job.name.clone(), config, job.run_tags(tags))
        .with_definition(orchestrator::snapshot::JobSnapshot::of(job).stored())
        .launched_by(caller.launched_by());
    if let Some(select) = body.select.as_deref() {
        let selection =
            AssetSelection::parse(select).map_err(|e| ApiError::Unprocessable(e.to_string()))?;
        new_run.step_selection = check_selection(state.store.as_ref(), job, &selection)
            .await
            .map_err(|e| match e {
                SelectError::Storage(e) => ApiError::from(e),
                refused => ApiError::Unprocessable(refused.to_string()),
            })?;
    }
    let partition = body.partition_request()?;
    let range = check_partition_request(state.store.as_ref(), job, &partition, chrono::Utc::now())
        .await
        .map_err(|e| match e {
            PartitionError::Storage(e) => ApiError::from(e),
            refused => ApiError::Unprocessable(refused.to_string()),
        })?;
    if let Some(range) = range {
        new_run = new_run.with_partition(range);
    }
    let run = orchestrator::partition_status::create_run(
        state.store.as_ref(),
        job,
        &new_run,
        chrono::Utc::now(),
    )
    .await?;
    tracing::info!(run = %run.id, job = %run.job, "run launched through the API");
    Ok((
        StatusCode::CREATED,
        Json(CreatedRun {
            id: run.id.to_string(),
        }),
    ))
}
