//! `GET /assets`: the catalog — every asset a job defines or a run materialized, with its latest
//! materialization (time, run, metadata such as the `uri`, `size_bytes`, `count`).
//! `GET /assets/{key}`: one asset — the latest materialization, its history a page at a time
//! (`?before=<event id>`), and its lineage across all jobs (SVG).

use std::collections::{BTreeMap, BTreeSet};

use askama::Template;
use askama_web::WebTemplate;
use axum::extract::{Path, State};
use orchestrator::domain::{AssetKey, Materialization};
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
}

#[derive(Debug, Template, WebTemplate)]
#[template(path = "assets.html")]
pub struct AssetsPage {
    viewer: Viewer,
    assets: Vec<AssetRow>,
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

pub async fn list(State(state): State<AppState>, viewer: Viewer) -> Result<AssetsPage, PageError> {
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
            .map(|(key, latest)| AssetRow {
                href: paths::asset(&key),
                key,
                latest,
            })
            .collect(),
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
}

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
    Ok(AssetPage {
        viewer,
        latest,
        history: history.iter().map(MaterializationView::from).collect(),
        next,
        graph: graph::layout(&lineage(&edges, key.as_str()), Some(key.as_str())),
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
