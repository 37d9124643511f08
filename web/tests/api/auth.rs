//! The bearer token: with `ORCH_AUTH_TOKEN` set, mutations without it (or with another) are
//! refused with 401 and change nothing; reads stay open unless `protect_reads`; health checks
//! always answer.

use axum::body::Body;
use axum::http::{Method, Request, StatusCode};
use serde_json::json;
use web::{AuthPolicy, AuthToken};

use crate::support::{TestApp, api_tests};

api_tests!(
    mutations_need_the_token_and_a_refusal_creates_nothing,
    reads_can_be_protected_but_probes_stay_open,
);

const TOKEN: &str = "correct-horse-battery-staple";

fn policy(protect_reads: bool) -> AuthPolicy {
    AuthPolicy {
        token: AuthToken::new(TOKEN),
        protect_reads,
        ..AuthPolicy::default()
    }
}

fn launch(authorization: Option<&str>) -> Request<Body> {
    let mut request = Request::builder()
        .method(Method::POST)
        .uri("/api/v1/jobs/etl/launch")
        .header("content-type", "application/json");
    if let Some(value) = authorization {
        request = request.header("authorization", value);
    }
    request
        .body(Body::from(json!({"config": {"limit": 1}}).to_string()))
        .unwrap()
}

async fn mutations_need_the_token_and_a_refusal_creates_nothing(app: TestApp) {
    let app = app.with_auth(policy(false));
    let none = app.request(launch(None)).await;
    none.assert_error(StatusCode::UNAUTHORIZED, "Authorization: Bearer");
    assert_eq!(none.headers["www-authenticate"], "Bearer");
    app.request(launch(Some("Bearer wrong-token")))
        .await
        .assert_error(StatusCode::UNAUTHORIZED, "not one this server knows");
    app.request(launch(Some(&format!("Basic {TOKEN}"))))
        .await
        .assert_status(StatusCode::UNAUTHORIZED);
    assert!(
        app.runs().await.is_empty(),
        "a refused launch created a run"
    );

    let ok = app.request(launch(Some(&format!("Bearer {TOKEN}")))).await;
    ok.assert_status(StatusCode::CREATED);
    assert_eq!(app.runs().await.len(), 1);
    // Reads stay open by default.
    app.get("/api/v1/runs").await.assert_status(StatusCode::OK);
}

async fn reads_can_be_protected_but_probes_stay_open(app: TestApp) {
    let app = app.with_auth(policy(true));
    app.get("/api/v1/runs")
        .await
        .assert_status(StatusCode::UNAUTHORIZED);
    app.get("/healthz").await.assert_status(StatusCode::OK);
    app.get("/readyz").await.assert_status(StatusCode::OK);
    let authorized = app
        .request(
            Request::get("/api/v1/runs")
                .header("authorization", format!("Bearer {TOKEN}"))
                .body(Body::empty())
                .unwrap(),
        )
        .await;
    authorized.assert_status(StatusCode::OK);
}
