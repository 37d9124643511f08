//! Roles in the pages: a viewer signed in with a named token sees who is signed in and no
//! launch, cancel, re-execute, switch or reload forms, and a forged form is refused 403 naming
//! the role (nothing done); an operator sees the run forms but not the admin ones. A token
//! removed from the tokens file loses its sessions.

use std::sync::Arc;

use axum::http::StatusCode;
use orchestrator::domain::RunStatus;
use web::AuthPolicy;
use web::tokens::{TokensFile, hash_token};

use crate::browser::Browser;
use crate::support::{TestApp, api_tests};

api_tests!(
    a_viewer_sees_no_forms_and_a_forged_one_is_refused,
    an_operator_sees_run_forms_but_not_admin_ones,
);

fn write_tokens(path: &std::path::Path, entries: &[(&str, &str)]) {
    let text: String = entries
        .iter()
        .map(|(role, token)| {
            format!(
                "[[tokens]]\nname = \"{role}-bot\"\nrole = \"{role}\"\nsha256 = \"{}\"\n",
                hash_token(token)
            )
        })
        .collect();
    std::fs::write(path, text).unwrap();
}

fn with_tokens(app: TestApp, dir: &std::path::Path) -> (TestApp, Arc<TokensFile>) {
    let path = dir.join("tokens.toml");
    write_tokens(&path, &[("viewer", "v-token"), ("operator", "o-token")]);
    let tokens = Arc::new(TokensFile::open(&path).unwrap());
    let app = app.with_auth(AuthPolicy {
        tokens: Some(tokens.clone()),
        ..AuthPolicy::default()
    });
    (app, tokens)
}

async fn log_in(browser: &Browser, token: &str) {
    browser
        .post("/login", &[("token", token), ("next", "/")])
        .await
        .assert_status(StatusCode::SEE_OTHER);
}

async fn a_viewer_sees_no_forms_and_a_forged_one_is_refused(app: TestApp) {
    let dir = tempfile::tempdir().unwrap();
    let (app, tokens) = with_tokens(app, dir.path());
    let failed = app.finished(RunStatus::Failure).await;
    let queued = app.queued(&[]).await;
    let browser = Browser::new(&app);
    log_in(&browser, "v-token").await;

    let job = browser.get("/jobs/etl").await;
    job.assert_status(StatusCode::OK)
        .assert_contains("Signed in as viewer-bot (viewer)")
        .assert_contains("id=\"launch-needs-role\"")
        .assert_lacks("id=\"launch-form\"");
    browser
        .get("/jobs")
        .await
        .assert_lacks("action=\"/reload\"");
    browser
        .get("/schedules")
        .await
        .assert_status(StatusCode::OK)
        .assert_lacks("action=\"/schedules/nightly/on\"")
        .assert_lacks("action=\"/sensors/etl_failures/");
    browser
        .get(&format!("/runs/{}", failed.id))
        .await
        .assert_lacks("/reexecute\"");
    browser
        .get(&format!("/runs/{}", queued.id))
        .await
        .assert_lacks("id=\"terminate\"");

    // Forms forged with the viewer's own CSRF token are refused, naming the role.
    let csrf = job.csrf();
    let forged = [
        ("/jobs/etl/launch".to_owned(), "operator"),
        (format!("/runs/{}/cancel", queued.id), "operator"),
        (format!("/runs/{}/reexecute", failed.id), "operator"),
        ("/schedules/nightly/on".to_owned(), "admin"),
        ("/sensors/etl_failures/off".to_owned(), "admin"),
        ("/reload".to_owned(), "admin"),
        ("/jobs/daily_etl/backfill".to_owned(), "operator"),
        (
            "/backfills/01890000-0000-7000-8000-000000000000/cancel".to_owned(),
            "operator",
        ),
        (
            "/backfills/01890000-0000-7000-8000-000000000000/retry".to_owned(),
            "operator",
        ),
    ];
    for (uri, role) in forged {
        browser
            .post(&uri, &[("csrf", &csrf), ("config", "{}")])
            .await
            .assert_status(StatusCode::FORBIDDEN)
            .assert_contains(&format!("this needs the {role} role"));
    }
    assert_eq!(app.runs().await.len(), 2, "a refused form created a run");
    browser
        .get("/jobs/daily_etl")
        .await
        .assert_contains("id=\"partition-bar\"")
        .assert_lacks("id=\"backfill-form\"");
    assert_eq!(
        app.store.get_run(queued.id).await.unwrap().status,
        RunStatus::Queued
    );

    // The viewer's token is rotated out: the session is gone at once.
    write_tokens(tokens.path(), &[("operator", "o-token")]);
    tokens.reload().unwrap();
    browser
        .get("/jobs/etl")
        .await
        .assert_lacks("Signed in as")
        .assert_contains("href=\"/login\"");
}

async fn an_operator_sees_run_forms_but_not_admin_ones(app: TestApp) {
    let dir = tempfile::tempdir().unwrap();
    let (app, _tokens) = with_tokens(app, dir.path());
    let browser = Browser::new(&app);
    log_in(&browser, "o-token").await;
    let job = browser.get("/jobs/etl").await;
    job.assert_contains("Signed in as operator-bot (operator)")
        .assert_contains("id=\"launch-form\"");
    browser
        .get("/schedules")
        .await
        .assert_lacks("action=\"/schedules/nightly/on\"");
    browser
        .post(
            "/jobs/etl/launch",
            &[("csrf", &job.csrf()), ("config", "{}")],
        )
        .await
        .assert_status(StatusCode::SEE_OTHER);
    let runs = app.runs().await;
    assert_eq!(runs.len(), 1);
    assert_eq!(runs[0].launched_by.as_deref(), Some("operator-bot"));
    browser
        .get(&format!("/runs/{}", runs[0].id))
        .await
        .assert_contains("<td id=\"launched-by\">operator-bot</td>");
    browser
        .get("/runs")
        .await
        .assert_contains("<td class=\"launched-by\">operator-bot</td>");
    browser
        .post("/schedules/nightly/on", &[("csrf", &job.csrf())])
        .await
        .assert_status(StatusCode::FORBIDDEN)
        .assert_contains("this needs the admin role; `operator-bot` is an operator");
}
