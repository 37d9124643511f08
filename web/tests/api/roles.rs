//! Roles: with `ORCH_AUTH_TOKENS_FILE`, a viewer token reads, an operator token also launches,
//! cancels and re-executes, an admin token also switches schedules and sensors and reloads; a
//! request below its role is 403 naming the role and changes nothing. The single
//! `ORCH_AUTH_TOKEN` is an admin. The file rotates without a restart.

use std::sync::Arc;

use axum::body::Body;
use axum::http::{Method, Request, StatusCode};
use orchestrator::domain::RunStatus;
use serde_json::json;
use web::roles::Role;
use web::tokens::{TokensFile, hash_token};
use web::{AuthPolicy, AuthToken};

use crate::support::{TestApp, api_tests};

api_tests!(
    each_role_against_each_mutation_and_a_read,
    the_single_token_is_an_admin_beside_the_file,
    a_rotated_tokens_file_applies_without_a_restart,
);

/// A tokens file with one token per role: `<role>-token` named `<role>-bot`.
fn tokens_file(dir: &std::path::Path, roles: &[(&str, Role)]) -> std::path::PathBuf {
    let path = dir.join("tokens.toml");
    let text: String = roles
        .iter()
        .map(|(token, role)| {
            format!(
                "[[tokens]]\nname = \"{role}-bot\"\nrole = \"{role}\"\nsha256 = \"{}\"\n\n",
                hash_token(token)
            )
        })
        .collect();
    std::fs::write(&path, text).unwrap();
    path
}

fn with_tokens(app: TestApp, path: &std::path::Path, protect_reads: bool) -> TestApp {
    app.with_auth(AuthPolicy {
        tokens: Some(Arc::new(TokensFile::open(path).unwrap())),
        protect_reads,
        ..AuthPolicy::default()
    })
}

fn post(uri: &str, token: &str, body: Option<serde_json::Value>) -> Request<Body> {
    let builder = Request::builder()
        .method(Method::POST)
        .uri(uri)
        .header("authorization", format!("Bearer {token}"));
    match body {
        Some(body) => builder
            .header("content-type", "application/json")
            .body(Body::from(body.to_string()))
            .unwrap(),
        None => builder.body(Body::empty()).unwrap(),
    }
}

fn get(uri: &str, token: &str) -> Request<Body> {
    Request::get(uri)
        .header("authorization", format!("Bearer {token}"))
        .body(Body::empty())
        .unwrap()
}

const ROLES: [(&str, Role); 3] = [
    ("viewer-token", Role::Viewer),
    ("operator-token", Role::Operator),
    ("admin-token", Role::Admin),
];

async fn each_role_against_each_mutation_and_a_read(app: TestApp) {
    let dir = tempfile::tempdir().unwrap();
    let app = with_tokens(app, &tokens_file(dir.path(), &ROLES), true);
    for (token, role) in ROLES {
        let queued = app.queued(&[]).await;
        let failed = app.finished(RunStatus::Failure).await;
        let before = app.runs().await.len();
        let mutations: [(String, Option<serde_json::Value>, Role); 8] = [
            (
                "/api/v1/jobs/etl/launch".into(),
                Some(json!({})),
                Role::Operator,
            ),
            (
                format!("/api/v1/runs/{}/cancel", queued.id),
                None,
                Role::Operator,
            ),
            (
                format!("/api/v1/runs/{}/reexecute", failed.id),
                Some(json!({"from_failure": true})),
                Role::Operator,
            ),
            ("/api/v1/schedules/nightly/on".into(), None, Role::Admin),
            ("/api/v1/schedules/nightly/off".into(), None, Role::Admin),
            ("/api/v1/sensors/etl_failures/off".into(), None, Role::Admin),
            ("/api/v1/sensors/etl_failures/on".into(), None, Role::Admin),
            ("/api/v1/reload".into(), None, Role::Admin),
        ];
        for (uri, body, needed) in mutations {
            let reply = app.request(post(&uri, token, body)).await;
            if role >= needed {
                // Passed the role check: done (reload answers 422 here, its definitions being
                // fixed: that is the handler's answer, not a refusal).
                assert!(
                    reply.status.is_success() || reply.status == StatusCode::UNPROCESSABLE_ENTITY,
                    "{role} POST {uri}: {} {}",
                    reply.status,
                    reply.body
                );
            } else {
                reply.assert_error(
                    StatusCode::FORBIDDEN,
                    &format!("this needs the {needed} role; `{role}-bot` is"),
                );
            }
        }
        // Refusals changed nothing: the viewer created no run and canceled nothing.
        let runs = app.runs().await;
        let created = runs.len() - before;
        assert_eq!(
            created,
            if role >= Role::Operator { 2 } else { 0 },
            "{role}"
        );
        let queued_now = app.store.get_run(queued.id).await.unwrap();
        assert_eq!(
            queued_now.status == RunStatus::Queued,
            role < Role::Operator,
            "{role}: {:?}",
            queued_now.status
        );
        // Every role reads, under ORCH_AUTH_READS too.
        app.request(get("/api/v1/runs", token))
            .await
            .assert_status(StatusCode::OK);
    }
    app.get("/api/v1/runs")
        .await
        .assert_status(StatusCode::UNAUTHORIZED);
    app.request(get("/api/v1/runs", "not-a-token"))
        .await
        .assert_error(StatusCode::UNAUTHORIZED, "not one this server knows");
}

async fn the_single_token_is_an_admin_beside_the_file(app: TestApp) {
    let dir = tempfile::tempdir().unwrap();
    let path = tokens_file(dir.path(), &ROLES[..1]);
    let app = app.with_auth(AuthPolicy {
        token: AuthToken::new("the-old-token"),
        tokens: Some(Arc::new(TokensFile::open(&path).unwrap())),
        ..AuthPolicy::default()
    });
    app.request(post("/api/v1/schedules/nightly/on", "the-old-token", None))
        .await
        .assert_status(StatusCode::OK);
    app.request(post("/api/v1/schedules/nightly/off", "viewer-token", None))
        .await
        .assert_error(StatusCode::FORBIDDEN, "needs the admin role");
}

async fn a_rotated_tokens_file_applies_without_a_restart(app: TestApp) {
    let dir = tempfile::tempdir().unwrap();
    let path = tokens_file(dir.path(), &[("first-token", Role::Operator)]);
    let app = with_tokens(app, &path, false);
    let launch = |token: &'static str| post("/api/v1/jobs/etl/launch", token, Some(json!({})));
    app.request(launch("first-token"))
        .await
        .assert_status(StatusCode::CREATED);

    // Rotate: the first token goes, a second comes; the server picks it up on use (the file's
    // modification time is looked at once a second at most).
    tokens_file(dir.path(), &[("second-token", Role::Operator)]);
    // Polled with the old token (accepted until the change is seen, so no wrong-token count
    // piles up towards the throttle).
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    loop {
        let reply = app.request(launch("first-token")).await;
        if reply.status == StatusCode::UNAUTHORIZED {
            break;
        }
        reply.assert_status(StatusCode::CREATED);
        assert!(
            std::time::Instant::now() < deadline,
            "the rotated file was not read again within 5 s"
        );
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    app.request(launch("second-token"))
        .await
        .assert_status(StatusCode::CREATED);

    // A malformed version is refused; the tokens read before stay in force.
    std::fs::write(&path, "[[tokens]]\nname = \"x\"\nrole = \"root\"\n").unwrap();
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    app.request(launch("second-token"))
        .await
        .assert_status(StatusCode::CREATED);
}
