//! A partitioned job's page: the health bar (ranges coloured by status, titled with their keys,
//! linking to the key list of that status), the key list's status filter, and the backfill
//! form (303 to the new backfill; refused keys: 422 with the reason and the form as typed).

use axum::http::StatusCode;
use orchestrator::domain::{RunId, RunStatus};
use serde_json::json;

use crate::browser::Browser;
use crate::support::{TestApp, api_tests};

api_tests!(
    the_health_bar_and_key_list_show_mixed_statuses,
    the_backfill_form_creates_a_backfill_or_says_why_not,
    the_launch_form_takes_a_partition_key,
);

async fn the_launch_form_takes_a_partition_key(app: TestApp) {
    let browser = Browser::new(&app);
    let page = browser.get("/jobs/daily_etl").await;
    page.assert_contains("<input id=\"partition\" name=\"partition\"");
    let csrf = page.csrf();
    for (key, reason) in [("", "partition"), ("1999-01-01", "1999-01-01")] {
        browser
            .post(
                "/jobs/daily_etl/launch",
                &[("csrf", &csrf), ("config", "{}"), ("partition", key)],
            )
            .await
            .assert_status(StatusCode::UNPROCESSABLE_ENTITY)
            .assert_contains("id=\"launch-error\"")
            .assert_contains(reason);
    }
    assert!(
        app.runs().await.is_empty(),
        "a refused launch created a run"
    );
    let launched = browser
        .post(
            "/jobs/daily_etl/launch",
            &[
                ("csrf", &csrf),
                ("config", "{}"),
                ("partition", "2026-01-02"),
            ],
        )
        .await;
    launched.assert_status(StatusCode::SEE_OTHER);
    let runs = app.runs().await;
    assert_eq!(runs.len(), 1);
    assert_eq!(launched.location(), format!("/runs/{}", runs[0].id));
    browser
        .get("/jobs/daily_etl?status=in_progress")
        .await
        .assert_contains("<tr data-key=\"2026-01-02\">");
    // An unpartitioned job has no picker and launches as before.
    browser
        .get("/jobs/etl")
        .await
        .assert_lacks("name=\"partition\"");
}

async fn launch(app: &TestApp, key: &str) -> RunId {
    let reply = app
        .post(
            "/api/v1/jobs/daily_etl/launch",
            Some(json!({"partition": key})),
        )
        .await;
    reply.assert_status(StatusCode::CREATED);
    RunId::parse(reply.body["id"].as_str().unwrap()).unwrap()
}

async fn the_health_bar_and_key_list_show_mixed_statuses(app: TestApp) {
    launch(&app, "2026-01-02").await;
    let failed = launch(&app, "2026-01-03").await;
    for status in [RunStatus::Starting, RunStatus::Started, RunStatus::Failure] {
        app.store
            .transition_run(failed, status, None)
            .await
            .unwrap();
    }
    let browser = Browser::new(&app);
    let page = browser.get("/jobs/daily_etl").await;
    page.assert_status(StatusCode::OK)
        .assert_contains("<svg id=\"partition-bar\"")
        .assert_contains(
            "href=\"/jobs/daily_etl?status=missing#partition-keys\" \
             title=\"2026-01-01: missing (1)\" class=\"part-range\" data-status=\"missing\"",
        )
        .assert_contains("title=\"2026-01-02: in_progress (1)\"")
        .assert_contains("title=\"2026-01-03: failed (1)\"")
        .assert_contains("data-status=\"failed\" href=\"/jobs/daily_etl?status=failed#partition-keys\">failed 1</a>")
        .assert_contains("<form id=\"backfill-form\"");
    // The rest of the span is one missing range from 2026-01-04 on.
    assert_eq!(page.count("class=\"part-range\""), 4, "4 ranges");
    let failed_keys = browser.get("/jobs/daily_etl?status=failed").await;
    failed_keys
        .assert_status(StatusCode::OK)
        .assert_contains("<tr data-key=\"2026-01-03\">")
        .assert_lacks("<tr data-key=\"2026-01-02\">")
        .assert_contains("<option value=\"failed\" selected>");
    assert_eq!(failed_keys.count("<tr data-key="), 1);
    browser
        .get("/jobs/daily_etl?status=done")
        .await
        .assert_status(StatusCode::BAD_REQUEST);
    // An unpartitioned job has no partitions section.
    browser
        .get("/jobs/etl")
        .await
        .assert_lacks("partition-bar")
        .assert_lacks("backfill-form");
}

async fn the_backfill_form_creates_a_backfill_or_says_why_not(app: TestApp) {
    let browser = Browser::new(&app);
    let csrf = browser.get("/jobs/daily_etl").await.csrf();
    let refused = browser
        .post(
            "/jobs/daily_etl/backfill",
            &[
                ("csrf", &csrf),
                ("from", "2026-01-05"),
                ("to", "2026-01-01"),
                ("mode", "all"),
            ],
        )
        .await;
    refused
        .assert_status(StatusCode::UNPROCESSABLE_ENTITY)
        .assert_contains("<p class=\"error\" id=\"backfill-error\">")
        .assert_contains("name=\"from\" value=\"2026-01-05\"")
        .assert_contains("<option value=\"all\" selected>");
    for fields in [
        vec![("keys", "not-a-day")],
        vec![("from", "2026-01-01")],
        vec![("keys", "2026-01-01"), ("max_concurrent", "many")],
        vec![("keys", "2026-01-01"), ("mode", "some")],
    ] {
        let mut form = vec![("csrf", csrf.as_str())];
        form.extend(fields);
        browser
            .post("/jobs/daily_etl/backfill", &form)
            .await
            .assert_status(StatusCode::UNPROCESSABLE_ENTITY)
            .assert_contains("id=\"backfill-error\"");
    }
    assert!(
        app.store.list_backfills(None, 10).await.unwrap().is_empty(),
        "a refused form created a backfill"
    );

    let created = browser
        .post(
            "/jobs/daily_etl/backfill",
            &[
                ("csrf", &csrf),
                ("from", "2026-01-01"),
                ("to", "2026-01-04"),
                ("mode", "missing"),
                ("max_concurrent", "2"),
                ("reverse", "true"),
            ],
        )
        .await;
    created.assert_status(StatusCode::SEE_OTHER);
    let backfills = app.store.list_backfills(None, 10).await.unwrap();
    assert_eq!(backfills.len(), 1);
    assert_eq!(backfills[0].partitions, 4);
    assert_eq!(backfills[0].max_concurrent, 2);
    assert_eq!(
        created.location(),
        format!("/backfills/{}", backfills[0].id)
    );
    browser
        .get(created.location())
        .await
        .assert_contains("id=\"backfill-partitions\">4</td>");
}
