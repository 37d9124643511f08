//! `/api/v1/assets`: the catalog (every asset with its latest materialization) and one asset's
//! history, a page at a time.

use axum::Json;
use axum::extract::{Path, State};
use orchestrator::domain::AssetKey;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::page_size;
use crate::error::{ApiError, ErrorJson};
use crate::extract::ApiQuery;
use crate::json::{AssetHealthJson, MaterializationJson};
use crate::state::AppState;

/// The catalog: every materialized asset, by key.
#[derive(Debug, Serialize, ToSchema)]
pub struct AssetsList {
    pub assets: Vec<AssetSummary>,
}

/// An asset with its latest materialization.
#[derive(Debug, Serialize, ToSchema)]
pub struct AssetSummary {
    pub key: String,
    pub latest: MaterializationJson,
}

/// The asset catalog: every materialized asset with its latest materialization, by key.
#[utoipa::path(get, path = "/assets", operation_id = "list_assets", tag = "assets",
    responses(
        (status = 200, description = "The catalog", body = AssetsList),
        (status = 500, description = "The run store failed", body = ErrorJson),
    ))]
pub async fn list(State(state): State<AppState>) -> Result<Json<AssetsList>, ApiError> {
    let assets: Vec<AssetSummary> = state
        .store
        .list_assets()
        .await?
        .iter()
        .map(|a| AssetSummary {
            key: a.key.to_string(),
            latest: MaterializationJson::from(&a.latest),
        })
        .collect();
    Ok(Json(AssetsList { assets }))
}

/// Every asset of every job with its health.
#[derive(Debug, Serialize, ToSchema)]
pub struct AssetHealthList {
    pub assets: Vec<AssetHealthJson>,
}

/// Every asset of every job with the worst of its latest materialization, checks and freshness.
#[utoipa::path(get, path = "/asset-health", operation_id = "list_asset_health", tag = "assets",
    responses(
        (status = 200, description = "Every asset's health", body = AssetHealthList),
        (status = 500, description = "The run store failed", body = ErrorJson),
    ))]
pub async fn health(State(state): State<AppState>) -> Result<Json<AssetHealthList>, ApiError> {
    let all =
        orchestrator::assets::asset_health(state.store.as_ref(), &state.definitions()).await?;
    let assets: Vec<AssetHealthJson> = all.iter().map(AssetHealthJson::from).collect();
    Ok(Json(AssetHealthList { assets }))
}

/// Query of `GET /assets/{key}`.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct HistoryQuery {
    /// Materializations with event ids below this (the `next` of the previous page).
    before: Option<i64>,
    /// Page size (default 50).
    #[param(minimum = 1, maximum = 500)]
    limit: Option<u32>,
}

/// One asset's materializations, newest first, a page at a time.
#[derive(Debug, Serialize, ToSchema)]
pub struct AssetHistory {
    pub key: String,
    /// The newest materialization; `null` if none.
    pub latest: Option<MaterializationJson>,
    pub history: Vec<MaterializationJson>,
    /// Pass as `before` for the next page; `null` on the last one.
    pub next: Option<i64>,
    /// The latest verdict of each (check, partition), the latest partitions first (at most
    /// 200), the unpartitioned verdicts last; on the first page only.
    pub checks: Vec<CheckVerdictJson>,
}

/// The latest verdict of one check of the asset, for one partition.
#[derive(Debug, Serialize, ToSchema)]
pub struct CheckVerdictJson {
    pub check: String,
    /// The partition key, or `start...end` for a range run; `null` for an unpartitioned run.
    pub partition: Option<String>,
    pub passed: bool,
    /// `WARN` or `ERROR`.
    pub severity: String,
    pub run_id: String,
    /// RFC 3339.
    pub evaluated_at: String,
}

/// How many (check, partition) verdicts an asset's history shows.
const CHECK_VERDICTS: i64 = 200;

/// One asset's materialization history, newest first. An asset no job defines and nothing
/// materialized is a 404.
#[utoipa::path(get, path = "/assets/{*key}", operation_id = "get_asset", tag = "assets",
    params(("key" = String, Path, pattern = r"^[A-Za-z0-9][A-Za-z0-9_./-]{0,127}$",
        description = "The asset key (may contain '/')"), HistoryQuery),
    responses(
        (status = 200, description = "The asset's history", body = AssetHistory),
        (status = 400, description = "Not an asset key, or a malformed query", body = ErrorJson),
        (status = 404, description = "No job defines the asset and it was never materialized", body = ErrorJson),
        (status = 500, description = "The run store failed", body = ErrorJson),
    ))]
pub async fn get(
    State(state): State<AppState>,
    Path(raw): Path<String>,
    ApiQuery(query): ApiQuery<HistoryQuery>,
) -> Result<Json<AssetHistory>, ApiError> {
    let key = AssetKey::parse(&raw).map_err(|e| ApiError::BadRequest(e.to_string()))?;
    let limit = page_size(query.limit)?;
    let history = state.store.asset_history(&key, query.before, limit).await?;
    let defined = state
        .definitions()
        .jobs()
        .iter()
        .any(|job| job.asset(&key).is_some());
    if history.is_empty() && query.before.is_none() && !defined {
        return Err(ApiError::NotFound(format!("asset '{key}' not found")));
    }
    let latest = if query.before.is_none() {
        history.first().map(MaterializationJson::from)
    } else {
        state
            .store
            .asset_history(&key, None, 1)
            .await?
            .first()
            .map(MaterializationJson::from)
    };
    let next = (history.len() == limit as usize)
        .then(|| history.last().map(|m| m.event_id))
        .flatten();
    let history: Vec<MaterializationJson> = history.iter().map(MaterializationJson::from).collect();
    let checks = if query.before.is_none() {
        state
            .store
            .latest_checks_by_partition(&key, CHECK_VERDICTS)
            .await?
            .into_iter()
            .map(|c| CheckVerdictJson {
                check: c.check,
                partition: c.partition,
                passed: c.passed,
                severity: c.severity.as_str().to_owned(),
                run_id: c.run_id.to_string(),
                evaluated_at: c.evaluated_at.to_rfc3339(),
            })
            .collect()
    } else {
        Vec::new()
    };
    Ok(Json(AssetHistory {
        key: key.to_string(),
        latest,
        history,
        next,
        checks,
    }))
}
