//! What every response carries, what unknown paths get, and input that looks like an attack.

use axum::body::Body;
use axum::http::{Request, StatusCode};
use orchestrator::domain::RunStatus;

use crate::support::{TestApp, api_tests};

api_tests!(
    health_checks_answer,
    responses_carry_security_headers_and_a_request_id,
    unknown_paths_and_methods_are_json_errors,
    injection_looking_filters_are_harmless,
    oversized_body_is_413,
    a_panicking_handler_is_a_500_not_a_dropped_connection,
);

async fn health_checks_answer(app: TestApp) {
    let live = app.get("/healthz").await;
    live.assert_status(StatusCode::OK);
    assert_eq!(live.body["status"], "ok");
    let ready = app.get("/readyz").await;
    ready.assert_status(StatusCode::OK);
    assert_eq!(ready.body["status"], "ready");
}

async fn responses_carry_security_headers_and_a_request_id(app: TestApp) {
    for reply in [app.get("/api/v1/runs").await, app.get("/api/nowhere").await] {
        let header = |name: &str| {
            reply
                .headers
                .get(name)
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned)
        };
        assert_eq!(header("x-content-type-options").as_deref(), Some("nosniff"));
        assert_eq!(header("x-frame-options").as_deref(), Some("DENY"));
        assert_eq!(header("referrer-policy").as_deref(), Some("no-referrer"));
        let id = header("x-request-id").unwrap_or_default();
        assert_eq!(id.len(), 36, "request id {id:?}");
    }
    // A client's own request id is kept.
    let reply = app
        .request(
            Request::get("/healthz")
                .header("x-request-id", "abc-123")
                .body(Body::empty())
                .unwrap(),
        )
        .await;
    assert_eq!(reply.headers["x-request-id"], "abc-123");
}

async fn unknown_paths_and_methods_are_json_errors(app: TestApp) {
    app.get("/api/v1/nothing")
        .await
        .assert_error(StatusCode::NOT_FOUND, "no such endpoint");
    // Outside the API an unknown path is the UI's HTML 404 page (tests/ui); under /api/ JSON.
    app.get("/api/elsewhere")
        .await
        .assert_error(StatusCode::NOT_FOUND, "no such endpoint");
    app.post("/api/v1/runs", None)
        .await
        .assert_error(StatusCode::METHOD_NOT_ALLOWED, "method");
    app.post("/healthz", None)
        .await
        .assert_error(StatusCode::METHOD_NOT_ALLOWED, "method");
}

async fn injection_looking_filters_are_harmless(app: TestApp) {
    let run = app.finished(RunStatus::Success).await;
    let drop = "%27%3B%20DROP%20TABLE%20runs%3B%20--";
    let script = "%3Cscript%3Ealert(1)%3C%2Fscript%3E";
    // Values that are not names are refused; tag values are bound, so they match nothing.
    for uri in [
        format!("/api/v1/runs?job={drop}"),
        format!("/api/v1/runs?status={drop}"),
        format!("/api/v1/runs?before={drop}"),
        format!("/api/v1/runs?job={script}"),
        format!("/api/v1/runs/{drop}"),
    ] {
        let reply = app.get(&uri).await;
        reply.assert_status(StatusCode::BAD_REQUEST);
        assert_eq!(
            reply.headers["content-type"], "application/json",
            "{uri}: never HTML"
        );
    }
    for uri in [
        format!("/api/v1/runs?tag=team%3D{drop}"),
        format!("/api/v1/runs?tag=team%3D{script}"),
    ] {
        let reply = app.get(&uri).await;
        reply.assert_status(StatusCode::OK);
        assert_eq!(
            reply.body["runs"].as_array().map(Vec::len),
            Some(0),
            "{uri}"
        );
    }
    app.get(&format!("/api/v1/jobs/{drop}/launch"))
        .await
        .assert_status(StatusCode::METHOD_NOT_ALLOWED);
    app.post(&format!("/api/v1/jobs/{script}/launch"), None)
        .await
        .assert_status(StatusCode::NOT_FOUND);
    // The tables are intact.
    let runs = app.runs().await;
    assert_eq!(runs.len(), 1);
    assert_eq!(runs[0].id, run.id);
}

async fn oversized_body_is_413(app: TestApp) {
    let big = format!(
        "{{\"config\": {{\"source\": \"{}\"}}}}",
        "x".repeat(web::BODY_LIMIT)
    );
    let reply = app
        .post_raw("/api/v1/jobs/etl/launch", "application/json", big)
        .await;
    reply.assert_error(StatusCode::PAYLOAD_TOO_LARGE, "");
    assert!(app.runs().await.is_empty());
}

/// `/readyz` fails while the store does not answer; `/healthz` still answers.
#[sqlx::test(migrations = false)]
async fn readiness_follows_the_store(pool: sqlx::PgPool) {
    use std::sync::Arc;

    use orchestrator::storage::{PgStore, RunStorage};

    let store = PgStore::from_pool(pool.clone());
    store.migrate().await.unwrap();
    let app = TestApp::new(Arc::new(store));
    app.get("/readyz").await.assert_status(StatusCode::OK);
    pool.close().await;
    app.get("/readyz")
        .await
        .assert_error(StatusCode::SERVICE_UNAVAILABLE, "does not answer");
    app.get("/healthz").await.assert_status(StatusCode::OK);
}

/// While the database is away, the API answers 503 (not 500) and the pages a clear error page
/// that reloads itself; neither leaks the driver's error.
#[sqlx::test(migrations = false)]
async fn pages_and_api_answer_503_with_a_clear_message_while_the_store_is_away(pool: sqlx::PgPool) {
    use std::sync::Arc;

    use orchestrator::storage::{PgStore, RunStorage};

    let store = PgStore::from_pool(pool.clone());
    store.migrate().await.unwrap();
    let app = TestApp::new(Arc::new(store));
    app.get("/api/v1/runs").await.assert_status(StatusCode::OK);
    pool.close().await;
    let api = app.get("/api/v1/runs").await;
    api.assert_error(StatusCode::SERVICE_UNAVAILABLE, "reconnects by itself");
    assert!(api.headers.contains_key("retry-after"), "{:?}", api.headers);
    let (status, content_type, page) = app.get_text("/runs").await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{page}");
    assert!(content_type.starts_with("text/html"), "{content_type}");
    assert!(page.contains("The database does not answer"), "{page}");
    assert!(!page.contains("pool"), "the driver's error leaked: {page}");
}

async fn a_panicking_handler_is_a_500_not_a_dropped_connection(app: TestApp) {
    let boom = axum::Router::new().route(
        "/boom",
        axum::routing::get(|| async {
            if true {
                panic!("a bug in a handler");
            }
        }),
    );
    let state = web::AppState::new(
        app.store.clone(),
        crate::support::definitions(),
        crate::support::schedules(),
    );
    let router = web::router_with_extensions(state, web::AuthPolicy::default(), boom.into());
    let app = TestApp { router, ..app };
    let reply = app.get("/api/v1/boom").await;
    reply.assert_error(StatusCode::INTERNAL_SERVER_ERROR, "internal server error");
    assert!(reply.headers.contains_key("x-request-id"));
}
