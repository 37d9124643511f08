//! `POST /jobs/{job}/launch`: the Launch Run form (with a partition key picker on a partitioned
//! job, checked like the API's `partition`), and the job graph's "Materialize selected"
//! (the same form with `select`: a selection typed, or filled by clicking assets in the graph;
//! refused with the names when an unselected upstream was never materialized). The config text must be a JSON object the
//! job accepts (`JobDef::resolve_config`: known keys, the defaults' types) and the tags
//! `key=value` lines the operator's tag check accepts (`AppState::tag_check`); only then is the QUEUED run created, and the browser sent to it (303). A
//! refusal is the job page again, 422, with the reason and the text as typed; no run exists.

use axum::Form;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use orchestrator::definitions::{AssetSelection, JobDef};
use orchestrator::domain::{NewRun, TagKey, Tags};
use orchestrator::run_control::select::{SelectError, check_selection};
use orchestrator::run_control::{PartitionError, PartitionRequest, check_partition_request};
use serde::Deserialize;
use serde_json::{Map, Value};

use super::jobs::{find, page};
use crate::auth::Caller;
use crate::state::AppState;
use crate::ui::guard::Viewer;
use crate::ui::page::PageError;

/// The form's fields (`csrf` is the guard's).
#[derive(Debug, Deserialize)]
pub struct LaunchForm {
    #[serde(default)]
    config: String,
    #[serde(default)]
    tags: String,
    /// An asset selection (`a,b+`): typed, or filled by clicking assets in the job graph.
    #[serde(default)]
    select: String,
    /// A partitioned job's key (the picker); required for such a job, as in the API.
    #[serde(default)]
    partition: String,
}

pub async fn submit(
    State(state): State<AppState>,
    viewer: Viewer,
    caller: Caller,
    Path(name): Path<String>,
    Form(form): Form<LaunchForm>,
) -> Result<Response, PageError> {
    let job = &find(&state, &name)?;
    let select = form.select.trim().to_owned();
    let validated = validate(job, &form).map(|run| run.launched_by(caller.launched_by()));
    let run = match validated.and_then(|run| {
        state
            .tag_check
            .check(&run.tags)
            .map(|()| run)
            .map_err(|e| e.to_string())
    }) {
        Ok(run) => run,
        Err(reason) => {
            let body = page(&state, viewer, job, Some((form.config, form.tags, reason))).await?;
            return Ok((StatusCode::UNPROCESSABLE_ENTITY, body).into_response());
        }
    };
    let mut run = run;
    if !select.is_empty() {
        let selection = match AssetSelection::parse(&select) {
            Ok(selection) => selection,
            Err(e) => return refuse(&state, viewer, job, form, e.to_string()).await,
        };
        match check_selection(state.store.as_ref(), job, &selection).await {
            Ok(keys) => run.step_selection = keys,
            Err(SelectError::Storage(e)) => return Err(e.into()),
            Err(e) => return refuse(&state, viewer, job, form, e.to_string()).await,
        }
    }
    let key = form.partition.trim();
    let request = if key.is_empty() {
        PartitionRequest::None
    } else {
        PartitionRequest::Key(key.to_owned())
    };
    match check_partition_request(state.store.as_ref(), job, &request, chrono::Utc::now()).await {
        Ok(Some(range)) => run = run.with_partition(range),
        Ok(None) => {}
        Err(PartitionError::Storage(e)) => return Err(e.into()),
        Err(e) => return refuse(&state, viewer, job, form, e.to_string()).await,
    }
    let run = orchestrator::partition_status::create_run(
        state.store.as_ref(),
        job,
        &run,
        chrono::Utc::now(),
    )
    .await
    .map_err(crate::error::ApiError::from)?;
    tracing::info!(run = %run.id, job = %run.job, "run launched from the web UI");
    Ok(Redirect::to(&format!("/runs/{}", run.id)).into_response())
}

/// The job page again, 422, with `reason` and the form as typed.
async fn refuse(
    state: &AppState,
    viewer: Viewer,
    job: &JobDef,
    form: LaunchForm,
    reason: String,
) -> Result<Response, PageError> {
    let body = page(state, viewer, job, Some((form.config, form.tags, reason))).await?;
    Ok((StatusCode::UNPROCESSABLE_ENTITY, body).into_response())
}

/// The run the form asks for, or why not.
fn validate(job: &JobDef, form: &LaunchForm) -> Result<NewRun, String> {
    let overrides = if form.config.trim().is_empty() {
        Map::new()
    } else {
        match serde_json::from_str::<Value>(&form.config) {
            Ok(Value::Object(map)) => map,
            Ok(_) => return Err("the run config must be a JSON object ({ … })".to_owned()),
            Err(e) => return Err(format!("the run config is not valid JSON: {e}")),
        }
    };
    let config = job.resolve_config(&overrides).map_err(|e| e.to_string())?;
    let tags = parse_tags(&form.tags)?;
    Ok(NewRun::queued(job.name.clone(), config, job.run_tags(tags))
        .with_definition(orchestrator::snapshot::JobSnapshot::of(job).stored()))
}

/// `key=value` per line; blank lines ignored.
fn parse_tags(text: &str) -> Result<Tags, String> {
    text.lines()
        .map(str::trim)
        .filter(|line| !line.is_empty())
        .map(|line| {
            let (key, value) = line
                .split_once('=')
                .ok_or_else(|| format!("tag line '{line}' is not key=value"))?;
            let key = TagKey::parse(key.trim()).map_err(|e| format!("tags: {e}"))?;
            Ok((key, value.trim().to_owned()))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::parse_tags;

    #[test]
    fn tags_are_key_value_lines() {
        let tags = parse_tags("team = data\n\nowner=ana\n").unwrap();
        assert_eq!(tags.len(), 2);
        assert!(
            parse_tags("no equals sign")
                .unwrap_err()
                .contains("key=value")
        );
    }
}
