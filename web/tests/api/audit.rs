//! The audit log through the API: each mutation that went through (launch, cancel, re-execute,
//! schedule and sensor switches) is one record with who, what, on what and from where, listed
//! newest first by `GET /api/v1/audit`; a refused mutation is not recorded.

use std::sync::Arc;

use axum::body::Body;
use axum::http::{Method, Request, StatusCode};
use orchestrator::domain::RunStatus;
use serde_json::{Value, json};
use web::AuthPolicy;
use web::tokens::{TokensFile, hash_token};

use crate::support::{TestApp, api_tests};

api_tests!(every_mutation_is_recorded_with_who_what_and_where);

fn post(uri: &str, token: &str) -> Request<Body> {
    Request::builder()
        .method(Method::POST)
        .uri(uri)
        .header("authorization", format!("Bearer {token}"))
        .header("content-type", "application/json")
        .body(Body::from("{}"))
        .unwrap()
}

async fn every_mutation_is_recorded_with_who_what_and_where(app: TestApp) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("tokens.toml");
    let entry = |name: &str, role: &str, token: &str| {
        format!(
            "[[tokens]]\nname = \"{name}\"\nrole = \"{role}\"\nsha256 = \"{}\"\n",
            hash_token(token)
        )
    };
    std::fs::write(
        &path,
        entry("ops", "admin", "a-token") + &entry("viewer", "viewer", "v-token"),
    )
    .unwrap();
    let app = app.with_auth(AuthPolicy {
        tokens: Some(Arc::new(TokensFile::open(&path).unwrap())),
        ..AuthPolicy::default()
    });
    let queued = app.queued(&[]).await;
    let failed = app.finished(RunStatus::Failure).await;
    let requests = [
        "/api/v1/jobs/etl/launch".to_owned(),
        format!("/api/v1/runs/{}/cancel", queued.id),
        format!("/api/v1/runs/{}/reexecute", failed.id),
        "/api/v1/schedules/nightly/on".to_owned(),
        "/api/v1/sensors/etl_failures/off".to_owned(),
    ];
    for uri in &requests {
        let reply = app.request(post(uri, "a-token")).await;
        assert!(reply.status.is_success(), "{uri}: {}", reply.body);
    }
    // Refused: below the role, and a handler's own refusal (an ended run cannot be canceled).
    app.request(post("/api/v1/schedules/nightly/off", "v-token"))
        .await
        .assert_status(StatusCode::FORBIDDEN);
    app.request(post(
        &format!("/api/v1/runs/{}/cancel", failed.id),
        "a-token",
    ))
    .await
    .assert_status(StatusCode::CONFLICT);

    let page = app.get("/api/v1/audit?limit=3").await;
    page.assert_status(StatusCode::OK);
    let mut records: Vec<Value> = page.body["records"].as_array().unwrap().clone();
    let next = page.body["next"].as_i64().expect("a next cursor");
    let rest = app.get(&format!("/api/v1/audit?before={next}")).await;
    records.extend(rest.body["records"].as_array().unwrap().iter().cloned());
    assert_eq!(rest.body["next"], json!(null));
    let seen: Vec<(String, String)> = records
        .iter()
        .map(|r| {
            assert_eq!(r["who"], "ops", "{r}");
            assert!(r["at"].as_str().unwrap().starts_with("20"), "{r}");
            assert!(!r["client"].as_str().unwrap().is_empty(), "{r}");
            (
                r["action"].as_str().unwrap().to_owned(),
                r["target"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    let expected: Vec<(String, String)> = [
        ("sensor.off", "etl_failures".to_owned()),
        ("schedule.on", "nightly".to_owned()),
        ("reexecute", failed.id.to_string()),
        ("cancel", queued.id.to_string()),
        ("launch", "etl".to_owned()),
    ]
    .into_iter()
    .map(|(a, t)| (a.to_owned(), t))
    .collect();
    assert_eq!(seen, expected);
}
