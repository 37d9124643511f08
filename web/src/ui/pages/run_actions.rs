//! The run page's buttons: `POST /runs/{id}/cancel` (Terminate) and `POST /runs/{id}/reexecute`
//! (`from=failure` or `from=all`). Both go through `run_control`, as the API does, and answer
//! 303 to the run to look at next; a refusal (a finished run, nothing failed) is an error page
//! with the reason. The guard has checked the login and the CSRF token before these run.

use axum::Form;
use axum::extract::{Path, State};
use axum::response::Redirect;
use orchestrator::domain::Tags;
use orchestrator::run_control::{self, ReexecuteFrom, Reexecution};
use serde::Deserialize;

use super::run::find_run;
use crate::error::ApiError;
use crate::state::AppState;
use crate::ui::page::PageError;

/// `POST /runs/{id}/cancel` → 303 to the run.
pub async fn terminate(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Redirect, PageError> {
    let run = find_run(&state, &id).await?;
    run_control::cancel_run(state.store.as_ref(), run.id, "terminated from the web UI")
        .await
        .map_err(ApiError::from)?;
    tracing::info!(run = %run.id, "run terminated from the web UI");
    Ok(Redirect::to(&format!("/runs/{}", run.id)))
}

/// The re-execute form.
#[derive(Debug, Deserialize)]
pub struct ReexecuteForm {
    /// `failure` or `all`.
    from: String,
}

/// `POST /runs/{id}/reexecute` → 303 to the new run.
pub async fn reexecute(
    State(state): State<AppState>,
    Path(id): Path<String>,
    Form(form): Form<ReexecuteForm>,
) -> Result<Redirect, PageError> {
    let parent = find_run(&state, &id).await?;
    let from = match form.from.as_str() {
        "failure" => ReexecuteFrom::Failure,
        "all" => ReexecuteFrom::AllSteps,
        other => {
            return Err(PageError(ApiError::BadRequest(format!(
                "re-execute from '{other}'? Use 'failure' or 'all'"
            ))));
        }
    };
    let request = Reexecution {
        from,
        tags: Tags::new(),
    };
    let run = run_control::reexecute(
        state.store.as_ref(),
        &state.definitions(),
        parent.id,
        &request,
    )
    .await
    .map_err(ApiError::from)?;
    tracing::info!(run = %run.id, parent = %parent.id, "run re-executed from the web UI");
    Ok(Redirect::to(&format!("/runs/{}", run.id)))
}
