//! Asset-centric pages: the catalog's health (filterable), the lineage and job graphs coloured
//! by health, the overview's health counts and overdue assets, failed checks in run lists and
//! on the run page, and "Materialize selected" from the job page (a selection run, or a 422
//! naming the upstream never materialized).

use axum::http::StatusCode;
use chrono::Utc;
use orchestrator::domain::{
    AssetKey, CheckSeverity, EventKind, FreshnessState, JobName, NewEvent, RunStatus,
};
use orchestrator::storage::NewFreshnessChange;

use crate::browser::Browser;
use crate::support::{TestApp, api_tests};

api_tests!(
    health_shows_on_the_catalog_graphs_and_overview_with_failed_checks_in_run_lists,
    materialize_selected_launches_a_selection_run_or_names_what_is_missing,
    the_asset_page_lists_the_latest_check_verdict_per_partition,
);

/// `extract` materialized; a failed ERROR check on it in that run.
async fn failed_check(app: &TestApp) -> orchestrator::domain::Run {
    let run = app.finished(RunStatus::Success).await;
    let extract = AssetKey::parse("extract").unwrap();
    app.store
        .append_events(
            run.id,
            &[NewEvent::step(
                &extract,
                EventKind::AssetCheckEvaluation {
                    asset: extract.clone(),
                    check: "has_rows".into(),
                    passed: false,
                    severity: CheckSeverity::Error,
                    metadata: Default::default(),
                    partition: None,
                },
            )],
        )
        .await
        .unwrap();
    run
}

async fn health_shows_on_the_catalog_graphs_and_overview_with_failed_checks_in_run_lists(
    app: TestApp,
) {
    let run = failed_check(&app).await;
    let load = AssetKey::parse("load").unwrap();
    let job = JobName::parse("etl").unwrap();
    app.store
        .record_freshness_change(&NewFreshnessChange {
            asset_key: &load,
            job: &job,
            previous: None,
            state: FreshnessState::Overdue,
            reason: "never materialized within 7h",
            at: Utc::now(),
        })
        .await
        .unwrap();
    let browser = Browser::new(&app);

    let catalog = browser.get("/assets").await;
    catalog
        .assert_status(StatusCode::OK)
        .assert_contains("<tr data-health=\"degraded\">")
        .assert_contains("check has_rows failed (ERROR)")
        .assert_contains("overdue: never materialized within 7h");
    let degraded = browser.get("/assets?health=degraded").await;
    degraded
        .assert_contains(">extract</a>")
        .assert_contains(">load</a>")
        .assert_lacks(">daily_extract</a>");
    browser
        .get("/assets?health=unknown")
        .await
        .assert_contains(">daily_extract</a>")
        .assert_lacks(">extract</a>");
    browser
        .get("/assets?health=purple")
        .await
        .assert_status(StatusCode::BAD_REQUEST)
        .assert_contains("unknown health &#39;purple&#39;");

    browser
        .get("/assets/extract")
        .await
        .assert_contains("id=\"asset-health\" class=\"health health-degraded\"")
        .assert_contains("class=\"node node-focus health-degraded\" data-key=\"extract\"")
        .assert_contains("class=\"node health-degraded\" data-key=\"load\"");
    browser
        .get("/jobs/etl")
        .await
        .assert_contains("class=\"node health-degraded\" data-key=\"extract\"")
        .assert_contains("id=\"materialize-selected\"");

    let overview = browser.get("/").await;
    overview
        .assert_contains(
            "href=\"/assets?health=degraded\" data-health=\"degraded\"><div class=\"num\">2</div>",
        )
        .assert_contains(
            "href=\"/assets?health=unknown\" data-health=\"unknown\"><div class=\"num\">1</div>",
        )
        .assert_contains("<section id=\"overdue\">")
        .assert_contains("never materialized within 7h")
        .assert_contains(&format!("href=\"/runs/{}\">1 check failed</a>", run.id));

    let ok = app.finished(RunStatus::Success).await;
    let filtered = browser.get("/runs?checks_failed=true").await;
    filtered
        .assert_contains(&format!("/runs/{}", run.id))
        .assert_lacks(&format!("/runs/{}", ok.id))
        .assert_contains("name=\"checks_failed\" value=\"true\" checked");
    browser
        .get("/runs")
        .await
        .assert_contains(&format!("/runs/{}", ok.id))
        .assert_contains("1 check failed");
    browser
        .get(&format!("/runs/{}", run.id))
        .await
        .assert_contains(
            "<span id=\"checks-failed\" class=\"checks-failed\">1 check failed</span>",
        );
}

async fn materialize_selected_launches_a_selection_run_or_names_what_is_missing(app: TestApp) {
    let browser = Browser::new(&app);
    let csrf = browser.get("/jobs/etl").await.csrf();
    // `load` alone needs `extract`'s output, never materialized yet: refused, no run.
    let refused = browser
        .post("/jobs/etl/launch", &[("csrf", &csrf), ("select", "load")])
        .await;
    refused
        .assert_status(StatusCode::UNPROCESSABLE_ENTITY)
        .assert_contains("id=\"launch-error\"")
        .assert_contains("extract");
    assert!(app.runs().await.is_empty());
    browser
        .post("/jobs/etl/launch", &[("csrf", &csrf), ("select", "nope")])
        .await
        .assert_status(StatusCode::UNPROCESSABLE_ENTITY)
        .assert_contains("nope");

    app.finished(RunStatus::Success).await;
    let reply = browser
        .post("/jobs/etl/launch", &[("csrf", &csrf), ("select", " load ")])
        .await;
    reply.assert_status(StatusCode::SEE_OTHER);
    let run = app
        .runs()
        .await
        .into_iter()
        .find(|r| r.status == RunStatus::Queued)
        .unwrap();
    assert_eq!(reply.location(), format!("/runs/{}", run.id));
    assert_eq!(
        run.step_selection,
        Some(vec![AssetKey::parse("load").unwrap()])
    );
}

async fn the_asset_page_lists_the_latest_check_verdict_per_partition(app: TestApp) {
    let run = app.finished(RunStatus::Success).await;
    let extract = AssetKey::parse("extract").unwrap();
    let verdict = |passed: bool, partition: &str| {
        NewEvent::step(
            &extract,
            EventKind::AssetCheckEvaluation {
                asset: extract.clone(),
                check: "has_rows".into(),
                passed,
                severity: CheckSeverity::Warn,
                metadata: Default::default(),
                partition: Some(partition.to_owned()),
            },
        )
    };
    app.store
        .append_events(
            run.id,
            &[verdict(false, "2026-03-01"), verdict(true, "2026-03-02")],
        )
        .await
        .unwrap();
    let page = Browser::new(&app).get("/assets/extract").await;
    page.assert_status(StatusCode::OK)
        .assert_contains(
            "<tr class=\"ev-ok\"><td>has_rows</td><td class=\"mono\">2026-03-02</td><td>passed</td>",
        )
        .assert_contains(
            "<tr class=\"ev-warn\"><td>has_rows</td><td class=\"mono\">2026-03-01</td><td>failed (WARN)</td>",
        );
    let body = &page.html;
    assert!(
        body.find("2026-03-02").unwrap() < body.find("2026-03-01").unwrap(),
        "the latest partition comes first"
    );
}
