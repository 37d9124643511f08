//! `/api/v1/assets`: the catalog (every asset with its latest materialization) and one asset's
//! history, a page at a time.

use axum::Json;
use axum::extract::{Path, State};
use orchestrator::domain::AssetKey;
use serde::Deserialize;
use serde_json::{Value, json};

use super::page_size;
use crate::error::ApiError;
use crate::extract::ApiQuery;
use crate::json::{AssetHealthJson, MaterializationJson};
use crate::state::AppState;

/// `GET /assets`: `{"assets": [{"key", "latest"}]}`, by key.
pub async fn list(State(state): State<AppState>) -> Result<Json<Value>, ApiError> {
    let assets: Vec<Value> = state
        .store
        .list_assets()
        .await?
        .iter()
        .map(
            |a| json!({ "key": a.key.to_string(), "latest": MaterializationJson::from(&a.latest) }),
        )
        .collect();
    Ok(Json(json!({ "assets": assets })))
}

/// `GET /asset-health`: `{"assets": [{"job", "key", "health", "reasons"}]}`, every asset of
/// every job with the worst of its latest materialization, checks and freshness.
pub async fn health(State(state): State<AppState>) -> Result<Json<Value>, ApiError> {
    let all =
        orchestrator::assets::asset_health(state.store.as_ref(), &state.definitions()).await?;
    let assets: Vec<AssetHealthJson> = all.iter().map(AssetHealthJson::from).collect();
    Ok(Json(json!({ "assets": assets })))
}

/// Query of `GET /assets/{key}`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HistoryQuery {
    /// Materializations with event ids below this (the `next` of the previous page).
    before: Option<i64>,
    limit: Option<u32>,
}

/// `GET /assets/{key}`: `{"key", "latest", "history": [...], "next"}`, history newest first. An
/// asset no job defines and nothing materialized is a 404.
pub async fn get(
    State(state): State<AppState>,
    Path(raw): Path<String>,
    ApiQuery(query): ApiQuery<HistoryQuery>,
) -> Result<Json<Value>, ApiError> {
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
    Ok(Json(json!({
        "key": key.to_string(),
        "latest": latest,
        "history": history,
        "next": next,
    })))
}
