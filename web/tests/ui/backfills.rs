//! The Backfills pages: the list with status and runs per status, the detail with its runs
//! (and the run list filtered by backfill), Cancel and Retry failed as CSRF-checked forms.

use axum::http::StatusCode;
use orchestrator::daemon::BackfillDaemon;
use serde_json::json;

use crate::browser::Browser;
use crate::support::{TestApp, api_tests, definitions};

api_tests!(backfills_are_listed_shown_canceled_and_retried_from_the_ui,);

async fn backfills_are_listed_shown_canceled_and_retried_from_the_ui(app: TestApp) {
    let browser = Browser::new(&app);
    browser
        .get("/backfills")
        .await
        .assert_status(StatusCode::OK)
        .assert_contains("No backfills yet")
        .assert_contains("<a href=\"/backfills\">Backfills</a>");
    let created = app
        .post(
            "/api/v1/jobs/daily_etl/backfills",
            Some(json!({"from": "2026-01-01", "to": "2026-01-05", "max_concurrent": 2})),
        )
        .await;
    created.assert_status(StatusCode::CREATED);
    let id = created.body["id"].as_str().unwrap().to_owned();
    let daemon = BackfillDaemon::new(app.store.clone(), definitions());
    daemon.tick_once(chrono::Utc::now()).await.unwrap();

    let list = browser.get("/backfills").await;
    list.assert_status(StatusCode::OK)
        .assert_contains(&format!("<tr id=\"backfill-{id}\">"))
        .assert_contains("data-status=\"RUNNING\"")
        .assert_contains("data-count=\"PENDING\">PENDING 3</span>")
        .assert_contains("data-count=\"QUEUED\">QUEUED 2</span>");

    let detail = browser.get(&format!("/backfills/{id}")).await;
    detail
        .assert_status(StatusCode::OK)
        .assert_contains("id=\"backfill-partitions\">5</td>")
        .assert_contains(&format!("href=\"/runs?backfill={id}\""))
        .assert_contains("id=\"cancel-backfill\"")
        .assert_lacks("id=\"retry-failed\"");
    assert_eq!(
        detail.count("class=\"status status-queued\">QUEUED"),
        2,
        "its 2 runs"
    );

    // The run list filtered by backfill shows its runs only, and keeps the filter.
    app.queued(&[]).await;
    let runs = browser.get(&format!("/runs?backfill={id}")).await;
    runs.assert_status(StatusCode::OK)
        .assert_contains(&format!("name=\"backfill\" value=\"{id}\""));
    assert_eq!(
        runs.count("class=\"status status-queued\">QUEUED"),
        2,
        "only its runs"
    );
    let by_key = browser.get("/runs?partition=2026-01-01").await;
    assert_eq!(
        by_key.count("class=\"status status-queued\">QUEUED"),
        1,
        "one run per key"
    );
    browser
        .get("/runs?backfill=nope")
        .await
        .assert_status(StatusCode::BAD_REQUEST);

    // Cancel: CSRF-checked, then 303 back; the daemon cancels the runs in flight.
    browser
        .post(&format!("/backfills/{id}/cancel"), &[("csrf", "wrong")])
        .await
        .assert_status(StatusCode::FORBIDDEN);
    let canceled = browser
        .post(
            &format!("/backfills/{id}/cancel"),
            &[("csrf", &detail.csrf())],
        )
        .await;
    canceled.assert_status(StatusCode::SEE_OTHER);
    assert_eq!(canceled.location(), format!("/backfills/{id}"));
    daemon.tick_once(chrono::Utc::now()).await.unwrap();
    daemon.tick_once(chrono::Utc::now()).await.unwrap();
    let detail = browser.get(&format!("/backfills/{id}")).await;
    detail
        .assert_contains("id=\"backfill-status\" data-status=\"CANCELED\"")
        .assert_contains("id=\"retry-failed\">Retry failed (2)</button>")
        .assert_lacks("id=\"cancel-backfill\"");
    let retried = browser
        .post(
            &format!("/backfills/{id}/retry"),
            &[("csrf", &detail.csrf())],
        )
        .await;
    retried.assert_status(StatusCode::SEE_OTHER);
    let child = browser.get(retried.location()).await;
    child
        .assert_status(StatusCode::OK)
        .assert_contains("id=\"backfill-partitions\">2</td>")
        .assert_contains(&format!("<a href=\"/backfills/{id}\">"));
    browser
        .get("/backfills/nope")
        .await
        .assert_status(StatusCode::BAD_REQUEST);
    browser
        .get("/backfills/01890000-0000-7000-8000-000000000000")
        .await
        .assert_status(StatusCode::NOT_FOUND);
}
