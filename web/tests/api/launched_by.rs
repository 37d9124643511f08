//! Who launched a run: the token's name through the API, `anonymous` on a server without
//! authentication, `reexecute:<parent>` for a re-execution; shown in the run's JSON and
//! filterable with `?launched_by=`.

use std::sync::Arc;

use axum::body::Body;
use axum::http::{Method, Request, StatusCode};
use orchestrator::domain::RunStatus;
use serde_json::json;
use web::AuthPolicy;
use web::tokens::{TokensFile, hash_token};

use crate::support::{TestApp, api_tests};

api_tests!(
    a_run_records_the_token_that_launched_it_and_the_list_filters_on_it,
    without_auth_runs_are_anonymous_and_reexecutions_name_their_parent,
);

async fn a_run_records_the_token_that_launched_it_and_the_list_filters_on_it(app: TestApp) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("tokens.toml");
    std::fs::write(
        &path,
        format!(
            "[[tokens]]\nname = \"ci-bot\"\nrole = \"operator\"\nsha256 = \"{}\"\n",
            hash_token("ci-token")
        ),
    )
    .unwrap();
    let app = app.with_auth(AuthPolicy {
        tokens: Some(Arc::new(TokensFile::open(&path).unwrap())),
        ..AuthPolicy::default()
    });
    let launched = app
        .request(
            Request::builder()
                .method(Method::POST)
                .uri("/api/v1/jobs/etl/launch")
                .header("authorization", "Bearer ci-token")
                .body(Body::empty())
                .unwrap(),
        )
        .await;
    launched.assert_status(StatusCode::CREATED);
    let id = launched.body["id"].as_str().unwrap().to_owned();
    app.queued(&[]).await;

    let run = app.get(&format!("/api/v1/runs/{id}")).await;
    assert_eq!(run.body["launched_by"], "ci-bot", "{}", run.body);
    let listed = app.get("/api/v1/runs?launched_by=ci-bot").await;
    listed.assert_status(StatusCode::OK);
    let ids: Vec<&str> = listed.body["runs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, [id.as_str()]);
    let all = app.get("/api/v1/runs").await;
    assert_eq!(all.body["runs"].as_array().unwrap().len(), 2);
    // The run made by the store directly records nobody.
    assert_eq!(all.body["runs"][0]["launched_by"], json!(null));
}

async fn without_auth_runs_are_anonymous_and_reexecutions_name_their_parent(app: TestApp) {
    let launched = app.post("/api/v1/jobs/etl/launch", Some(json!({}))).await;
    launched.assert_status(StatusCode::CREATED);
    let id = launched.body["id"].as_str().unwrap();
    let run = app.get(&format!("/api/v1/runs/{id}")).await;
    assert_eq!(run.body["launched_by"], "anonymous");

    let parent = app.finished(RunStatus::Failure).await;
    let again = app
        .post(
            &format!("/api/v1/runs/{}/reexecute", parent.id),
            Some(json!({"from_failure": true})),
        )
        .await;
    again.assert_status(StatusCode::CREATED);
    let child = app
        .get(&format!(
            "/api/v1/runs/{}",
            again.body["id"].as_str().unwrap()
        ))
        .await;
    assert_eq!(
        child.body["launched_by"],
        format!("reexecute:{}", parent.id)
    );
    let filtered = app
        .get(&format!("/api/v1/runs?launched_by=reexecute:{}", parent.id))
        .await;
    assert_eq!(filtered.body["runs"].as_array().unwrap().len(), 1);
}
