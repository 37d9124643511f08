//! `GET /assets`: the catalog — every asset a job defines or a run materialized, with its health
//! (the worst of its latest materialization, checks and freshness, with the reasons;
//! `?health=degraded` lists only those) and latest materialization (time, run, metadata such
//! as the `uri`, `size_bytes`, `count`).
//! `GET /assets/{key}`: one asset — the latest materialization, its history a page at a time
//! (`?before=<event id>`), and its lineage across all jobs (SVG).

use std::collections::{BTreeMap, BTreeSet};

use askama::Template;
use askama_web::WebTemplate;
use axum::extract::{Path, State};
use orchestrator::domain::{AssetHealth, AssetKey, Health, Materialization};
use orchestrator::storage::StorageError;
use serde::Deserialize;

use crate::state::AppState;
use crate::ui::format;
use crate::ui::graph::{self, Graph};
use crate::ui::guard::Viewer;
use crate::ui::page::{PageError, PageQuery};
use crate::ui::paths;

/// Materializations per page of an asset's history.
const HISTORY_PAGE: u32 = 50;

/// A materialization as shown.
#[derive(Debug)]
pub struct MaterializationView {
    pub time: String,
    pub run: String,
    pub metadata: Vec<(String, String)>,
}

impl From<&Materialization> for MaterializationView {
    fn from(m: &Materialization) -> Self {
        Self {
            time: format::instant(m.timestamp),
            run: m.run_id.to_string(),
            metadata: m
                .metadata
                .iter()
                .map(|(k, v)| (k.clone(), format::scalar(v)))
                .collect(),
        }
    }
}

/// A catalog row.
#[derive(Debug)]
pub struct AssetRow {
    pub key: String,
    pub href: String,
    pub latest: Option<MaterializationView>,
    /// `healthy`, `warning`, `degraded` or `unknown`.
    pub health: &'static str,
    pub reasons: String,
}

#[derive(Debug, Template, WebTemplate)]
#[template(path = "assets.html")]
pub struct AssetsPage {
    viewer: Viewer,
    assets: Vec<AssetRow>,
    /// The health filter in force (empty: none).
    health: String,
}

/// The query of the catalog.
#[derive(Debug, Deserialize)]
pub struct CatalogQuery {
    health: Option<String>,
}

/// Every defined asset's health by key: the worst over the jobs that define it, with their
/// reasons (three bounded reads: the catalog, the checks' latest verdicts, freshness).
pub async fn health_by_key(
    state: &AppState,
) -> Result<BTreeMap<String, AssetHealth>, StorageError> {
    let all =
        orchestrator::assets::asset_health(state.store.as_ref(), &state.definitions()).await?;
    let mut by_key: BTreeMap<String, AssetHealth> = BTreeMap::new();
    for one in all {
        match by_key.get_mut(one.key.as_str()) {
            Some(known) => {
                known.health = known.health.max(one.health.health);
                for reason in one.health.reasons {
                    if !known.reasons.contains(&reason) {
                        known.reasons.push(reason);
                    }
                }
            }
            None => {
                by_key.insert(one.key.to_string(), one.health);
            }
        }
    }
    Ok(by_key)
}

/// Every asset key the definitions know, with its upstreams (the union over jobs).
fn defined_edges(state: &AppState) -> BTreeMap<String, BTreeSet<String>> {
    let mut edges: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for job in state.definitions().jobs() {
        for key in job.graph().order() {
            edges
                .entry(key.to_string())
                .or_default()
                .extend(job.graph().upstream_of(key).iter().map(ToString::to_string));
        }
    }
    edges
}

pub async fn list(
    State(state): State<AppState>,
    viewer: Viewer,
    PageQuery(query): PageQuery<CatalogQuery>,
) -> Result<AssetsPage, PageError> {
    let wanted = match query.health.as_deref().filter(|h| !h.is_empty()) {
        None => None,
        Some(raw) => Some(Health::parse(&raw.to_ascii_lowercase()).ok_or_else(|| {
            PageError(crate::error::ApiError::BadRequest(format!(
                "unknown health '{raw}': healthy, warning, degraded or unknown"
            )))
        })?),
    };
    let health = health_by_key(&state).await?;
    let mut rows: BTreeMap<String, Option<MaterializationView>> = defined_edges(&state)
        .into_keys()
        .map(|k| (k, None))
        .collect();
    for summary in state.store.list_assets().await? {
        rows.insert(
            summary.key.to_string(),
            Some(MaterializationView::from(&summary.latest)),
        );
    }
    Ok(AssetsPage {
        viewer,
        assets: rows
            .into_iter()
            .map(|(key, latest)| {
                let h = health.get(&key);
                AssetRow {
                    href: paths::asset(&key),
                    health: h.map_or(Health::Unknown, |h| h.health).as_str(),
                    reasons: h.map(|h| h.reasons.join("; ")).unwrap_or_default(),
                    key,
                    latest,
                }
            })
            .filter(|row| wanted.is_none_or(|w| row.health == w.as_str()))
            .collect(),
        health: wanted.map(|w| w.as_str().to_owned()).unwrap_or_default(),
    })
}

#[derive(Debug, Template, WebTemplate)]
#[template(path = "asset.html")]
pub struct AssetPage {
    viewer: Viewer,
    key: String,
    latest: Option<MaterializationView>,
    history: Vec<MaterializationView>,
    next: Option<String>,
    graph: Graph,
    graph_id: &'static str,
    health: &'static str,
    reasons: String,
    checks: Vec<CheckView>,
}

/// The latest verdict of one check for one partition (`-` when unpartitioned).
#[derive(Debug)]
pub struct CheckView {
    check: String,
    partition: String,
    verdict: String,
    class: &'static str,
    run: String,
}

/// How many (check, partition) verdicts the asset page shows, the latest partitions first.
const CHECK_VERDICTS: i64 = 100;

#[derive(Debug, Deserialize)]
pub struct HistoryQuery {
    before: Option<i64>,
}

pub async fn show(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(raw): Path<String>,
    PageQuery(query): PageQuery<HistoryQuery>,
) -> Result<AssetPage, PageError> {
    let before = query.before;
    let not_found = || PageError::not_found(format!("There is no asset {raw}."));
    let key = AssetKey::parse(&raw).map_err(|_| not_found())?;
    let edges = defined_edges(&state);
    let history = state
        .store
        .asset_history(&key, before, HISTORY_PAGE)
        .await?;
    if history.is_empty() && before.is_none() && !edges.contains_key(key.as_str()) {
        return Err(not_found());
    }
    let latest = match (before, history.first()) {
        (None, Some(first)) => Some(MaterializationView::from(first)),
        _ => state
            .store
            .asset_history(&key, None, 1)
            .await?
            .first()
            .map(MaterializationView::from),
    };
    let next = (history.len() == HISTORY_PAGE as usize)
        .then(|| history.last().map(|m| m.event_id))
        .flatten()
        .map(|id| format!("{}?before={id}", paths::asset(key.as_str())));
    let mut graph = graph::layout(&lineage(&edges, key.as_str()), Some(key.as_str()));
    let health = health_by_key(&state).await?;
    graph::colour(&mut graph, &health);
    let (health, reasons) = health
        .get(key.as_str())
        .map_or(("unknown", String::new()), |h| {
            (h.health.as_str(), h.reasons.join("; "))
        });
    let checks = state
        .store
        .latest_checks_by_partition(&key, CHECK_VERDICTS)
        .await?
        .into_iter()
        .map(|c| CheckView {
            verdict: if c.passed {
                "passed".to_owned()
            } else {
                format!("failed ({})", c.severity)
            },
            class: match (c.passed, c.severity) {
                (true, _) => "ev-ok",
                (false, orchestrator::domain::CheckSeverity::Warn) => "ev-warn",
                (false, orchestrator::domain::CheckSeverity::Error) => "ev-error",
            },
            check: c.check,
            partition: c.partition.unwrap_or_else(|| "-".to_owned()),
            run: c.run_id.to_string(),
        })
        .collect();
    Ok(AssetPage {
        viewer,
        health,
        reasons,
        checks,
        latest,
        history: history.iter().map(MaterializationView::from).collect(),
        next,
        graph,
        graph_id: "lineage",
        key: key.to_string(),
    })
}

/// The asset with everything upstream and downstream of it, in an order where upstreams come
/// first (by key within that).
fn lineage(edges: &BTreeMap<String, BTreeSet<String>>, key: &str) -> Vec<(String, Vec<String>)> {
    let mut keep: BTreeSet<String> = BTreeSet::from([key.to_owned()]);
    // Upstream: follow the edges backwards.
    let mut stack = vec![key.to_owned()];
    while let Some(k) = stack.pop() {
        for up in edges.get(&k).into_iter().flatten() {
            if keep.insert(up.clone()) {
                stack.push(up.clone());
            }
        }
    }
    // Downstream: whoever lists a kept-downstream key as upstream.
    let mut down: BTreeSet<String> = BTreeSet::from([key.to_owned()]);
    loop {
        let more: Vec<String> = edges
            .iter()
            .filter(|(k, ups)| !down.contains(*k) && ups.iter().any(|u| down.contains(u)))
            .map(|(k, _)| k.clone())
            .collect();
        if more.is_empty() {
            break;
        }
        down.extend(more);
    }
    keep.extend(down);
    keep.into_iter()
        .map(|k| {
            let ups = edges
                .get(&k)
                .map(|u| u.iter().cloned().collect())
                .unwrap_or_default();
            (k, ups)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lineage_holds_ancestors_and_descendants_only() {
        let mut edges: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
        let mut edge = |k: &str, ups: &[&str]| {
            edges.insert(k.into(), ups.iter().map(|s| (*s).to_owned()).collect());
        };
        edge("raw", &[]);
        edge("clean", &["raw"]);
        edge("report", &["clean"]);
        edge("other", &[]);
        edge("side", &["raw"]);
        let keys: Vec<String> = lineage(&edges, "clean")
            .into_iter()
            .map(|(k, _)| k)
            .collect();
        assert_eq!(keys, ["clean", "raw", "report"]);
    }
}
