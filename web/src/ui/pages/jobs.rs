//! `GET /jobs`: the jobs in force (compiled in and from job files), the version of the
//! definitions with the Reload definitions button (`POST /reload`) and why the last reload
//! failed, if it did. `GET /jobs/{job}`: one job — its asset graph
//! (SVG), the Launch Run form with the run config editor prefilled with the job's defaults, and
//! its latest runs; on a partitioned job, the partitions section and backfill form
//! (`partitions.rs`).

use askama::Template;
use askama_web::WebTemplate;
use axum::extract::{Path, State};
use axum::response::Redirect;
use orchestrator::definitions::JobDef;
use orchestrator::domain::RunFilter;
use serde_json::Value;

use super::{RunRow, rows};
use crate::state::AppState;
use crate::ui::format;
use crate::ui::graph::{self, Graph};
use crate::ui::guard::Viewer;
use crate::ui::page::{PageError, PageQuery};

/// A job in the list.
#[derive(Debug)]
pub struct JobRow {
    pub name: String,
    pub description: String,
    pub assets: usize,
}

#[derive(Debug, Template, WebTemplate)]
#[template(path = "jobs.html")]
pub struct JobsPage {
    viewer: Viewer,
    jobs: Vec<JobRow>,
    /// The version of the definitions in force and when it was loaded.
    version: u64,
    loaded_at: String,
    /// Why the last reload failed (the version in force stayed).
    reload_error: Option<String>,
}

pub async fn list(State(state): State<AppState>, viewer: Viewer) -> JobsPage {
    let loaded = state.loaded();
    JobsPage {
        viewer,
        version: loaded.version,
        loaded_at: format::instant(loaded.loaded_at),
        reload_error: state
            .live
            .last_failure()
            .map(|f| format!("{} (at {})", f.error, format::instant(f.at))),
        jobs: loaded
            .definitions
            .jobs()
            .iter()
            .map(|j| JobRow {
                name: j.name.to_string(),
                description: j.description.clone(),
                assets: j.assets().len(),
            })
            .collect(),
    }
}

/// `POST /reload`: re-reads the definitions; back to the jobs, which show the outcome.
pub async fn reload(State(state): State<AppState>) -> Redirect {
    // A failure is kept by `live` and shown on the page.
    let _ = state.live.reload().await;
    Redirect::to("/jobs")
}

#[derive(Debug, Template, WebTemplate)]
#[template(path = "job.html")]
pub struct JobPage {
    pub viewer: Viewer,
    pub name: String,
    pub description: String,
    pub graph: Graph,
    /// The config editor's text: the defaults, or what was typed.
    pub config: String,
    /// The tags editor's text, `key=value` per line.
    pub tags: String,
    /// Why the last launch was refused.
    pub error: Option<String>,
    pub runs: Vec<RunRow>,
    /// A partitioned job's health bar and keys (`partitions.rs`).
    pub partitions: Option<super::partitions::PartitionView>,
    /// The backfill form as typed, and why it was refused.
    pub backfill_form: super::partitions::BackfillForm,
    pub backfill_error: Option<String>,
}

/// The job `name`, or a 404 page.
pub fn find(state: &AppState, name: &str) -> Result<JobDef, PageError> {
    state
        .definitions()
        .job(name)
        .cloned()
        .ok_or_else(|| PageError::not_found(format!("There is no job {name}.")))
}

/// The job page with the form as given.
pub async fn page(
    state: &AppState,
    viewer: Viewer,
    job: &JobDef,
    form: Option<(String, String, String)>,
) -> Result<JobPage, PageError> {
    let nodes: Vec<(String, Vec<String>)> = job
        .graph()
        .order()
        .iter()
        .map(|key| {
            let upstream = job
                .graph()
                .upstream_of(key)
                .iter()
                .map(ToString::to_string)
                .collect();
            (key.to_string(), upstream)
        })
        .collect();
    let runs = state
        .store
        .list_runs(&RunFilter {
            job: Some(job.name.clone()),
            limit: 10,
            ..RunFilter::default()
        })
        .await?;
    let (config, tags, error) = form.map_or_else(
        || {
            (
                format::pretty(&Value::Object(job.default_config.clone())),
                String::new(),
                None,
            )
        },
        |(config, tags, error)| (config, tags, Some(error)),
    );
    let mut graph = graph::layout(&nodes, None);
    graph::colour(&mut graph, &super::assets::health_by_key(state).await?);
    Ok(JobPage {
        viewer,
        name: job.name.to_string(),
        description: job.description.clone(),
        graph,
        config,
        tags,
        error,
        runs: rows(&runs),
        partitions: super::partitions::view(state, job, None).await?,
        backfill_form: super::partitions::BackfillForm::default(),
        backfill_error: None,
    })
}

/// The job page's query: a partitioned job's key list filter.
#[derive(Debug, Default, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct JobQuery {
    status: Option<String>,
}

pub async fn show(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(name): Path<String>,
    PageQuery(query): PageQuery<JobQuery>,
) -> Result<JobPage, PageError> {
    let job = &find(&state, &name)?;
    let mut body = page(&state, viewer, job, None).await?;
    if query.status.as_deref().is_some_and(|s| !s.is_empty()) {
        body.partitions = super::partitions::view(&state, job, query.status.as_deref()).await?;
    }
    Ok(body)
}
