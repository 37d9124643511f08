//! What users do to runs through the API: cancel and re-execute, with the rules of
//! `run_control`.

use axum::http::StatusCode;
use orchestrator::domain::{RunId, RunStatus};
use serde_json::json;

use crate::support::{TestApp, api_tests};

api_tests!(
    cancel_of_queued_run_ends_it_canceled,
    cancel_of_finished_run_is_409,
    cancel_of_unknown_run_is_404,
    reexecute_from_failure_links_the_parent_and_selects_the_failed_step,
    reexecute_from_failure_of_a_success_is_422,
    reexecute_of_unfinished_run_is_409,
);

async fn cancel_of_queued_run_ends_it_canceled(app: TestApp) {
    let run = app.queued(&[]).await;
    let reply = app
        .post(&format!("/api/v1/runs/{}/cancel", run.id), None)
        .await;
    reply.assert_status(StatusCode::OK);
    assert_eq!(reply.body["status"], "CANCELED");
    assert_eq!(
        app.store.get_run(run.id).await.unwrap().status,
        RunStatus::Canceled
    );
}

async fn cancel_of_finished_run_is_409(app: TestApp) {
    let run = app.finished(RunStatus::Success).await;
    app.post(&format!("/api/v1/runs/{}/cancel", run.id), None)
        .await
        .assert_error(StatusCode::CONFLICT, "already ended SUCCESS");
    assert_eq!(
        app.store.get_run(run.id).await.unwrap().status,
        RunStatus::Success
    );
}

async fn cancel_of_unknown_run_is_404(app: TestApp) {
    let unknown = RunId::new();
    app.post(&format!("/api/v1/runs/{unknown}/cancel"), None)
        .await
        .assert_error(StatusCode::NOT_FOUND, "not found");
}

async fn reexecute_from_failure_links_the_parent_and_selects_the_failed_step(app: TestApp) {
    let parent = app.finished(RunStatus::Failure).await;
    let reply = app
        .post(
            &format!("/api/v1/runs/{}/reexecute", parent.id),
            Some(json!({"from_failure": true, "tags": {"why": "retry"}})),
        )
        .await;
    reply.assert_status(StatusCode::CREATED);
    let id = RunId::parse(reply.body["id"].as_str().unwrap()).unwrap();
    let shown = app.get(&format!("/api/v1/runs/{id}")).await;
    assert_eq!(shown.body["status"], "QUEUED");
    assert_eq!(shown.body["parent_run_id"], parent.id.to_string());
    assert_eq!(shown.body["step_selection"], json!(["load"]));
    assert_eq!(shown.body["tags"]["why"], "retry");
    assert_eq!(
        shown.body["tags"]["orch/parent_run_id"],
        parent.id.to_string()
    );
}

async fn reexecute_from_failure_of_a_success_is_422(app: TestApp) {
    let parent = app.finished(RunStatus::Success).await;
    app.post(
        &format!("/api/v1/runs/{}/reexecute", parent.id),
        Some(json!({"from_failure": true})),
    )
    .await
    .assert_error(StatusCode::UNPROCESSABLE_ENTITY, "no failure to re-execute");
    // All steps (the default) is fine.
    app.post(&format!("/api/v1/runs/{}/reexecute", parent.id), None)
        .await
        .assert_status(StatusCode::CREATED);
    assert_eq!(app.runs().await.len(), 2);
}

async fn reexecute_of_unfinished_run_is_409(app: TestApp) {
    let run = app.queued(&[]).await;
    app.post(&format!("/api/v1/runs/{}/reexecute", run.id), None)
        .await
        .assert_error(StatusCode::CONFLICT, "only a finished run");
    assert_eq!(app.runs().await.len(), 1);
}
