//! `GET /jobs`: the jobs this build defines. `GET /jobs/{job}`: one job — its asset graph
//! (SVG), the Launch Run form with the run config editor prefilled with the job's defaults, and
//! its latest runs.

use askama::Template;
use askama_web::WebTemplate;
use axum::extract::{Path, State};
use orchestrator::definitions::JobDef;
use orchestrator::domain::RunFilter;
use serde_json::Value;

use super::{RunRow, rows};
use crate::state::AppState;
use crate::ui::format;
use crate::ui::graph::{self, Graph};
use crate::ui::guard::Viewer;
use crate::ui::page::PageError;

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
}

pub async fn list(State(state): State<AppState>, viewer: Viewer) -> JobsPage {
    JobsPage {
        viewer,
        jobs: state
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
}

/// The job `name`, or a 404 page.
pub fn find<'d>(state: &'d AppState, name: &str) -> Result<&'d JobDef, PageError> {
    state
        .definitions
        .job(name)
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
    Ok(JobPage {
        viewer,
        name: job.name.to_string(),
        description: job.description.clone(),
        graph: graph::layout(&nodes, None),
        config,
        tags,
        error,
        runs: rows(&runs),
    })
}

pub async fn show(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(name): Path<String>,
) -> Result<JobPage, PageError> {
    let job = find(&state, &name)?;
    page(&state, viewer, job, None).await
}
