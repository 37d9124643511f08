//! A run with 100 000 events opens fast and renders a bounded page: the page reads one page of
//! the log and the step lifecycle events (their own index), never the whole log. PostgreSQL only
//! (the production store; filling SQLite the same way adds minutes and proves nothing new).

use std::time::{Duration, Instant};

use axum::http::StatusCode;
use chrono::Utc;
use orchestrator::domain::{AssetKey, EventKind, LogLevel, NewEvent, RunStatus};

use crate::browser::Browser;
use crate::support::{TestApp, on_postgres};

const LOG_LINES: usize = 100_000;

#[sqlx::test(migrations = false)]
async fn a_run_with_100k_events_renders_a_bounded_page_fast(pool: sqlx::PgPool) {
    on_postgres(pool, check).await;
}

async fn check(app: TestApp) {
    let run = app.queued(&[]).await;
    for to in [RunStatus::Starting, RunStatus::Started] {
        app.store.transition_run(run.id, to, None).await.unwrap();
    }
    let extract = AssetKey::parse("extract").unwrap();
    let load = AssetKey::parse("load").unwrap();
    let now = Utc::now();
    let event = |step: &AssetKey, kind| NewEvent {
        timestamp: now,
        step: Some(step.clone()),
        kind,
    };
    app.store
        .append_events(
            run.id,
            &[
                event(&extract, EventKind::StepStart { attempt: 1 }),
                event(
                    &extract,
                    EventKind::StepUpRetry {
                        error: "503".into(),
                        attempt: 1,
                        delay_ms: 1,
                    },
                ),
                event(&extract, EventKind::StepStart { attempt: 2 }),
            ],
        )
        .await
        .unwrap();
    let line = |i: usize| {
        event(
            &extract,
            EventKind::Log {
                level: LogLevel::Info,
                message: format!("line {i}"),
            },
        )
    };
    let lines: Vec<NewEvent> = (0..LOG_LINES).map(line).collect();
    for chunk in lines.chunks(10_000) {
        app.store.append_events(run.id, chunk).await.unwrap();
    }
    app.store
        .append_events(
            run.id,
            &[
                event(&extract, EventKind::StepSuccess { duration_ms: 9 }),
                event(&load, EventKind::StepStart { attempt: 1 }),
                event(&load, EventKind::StepSuccess { duration_ms: 1 }),
            ],
        )
        .await
        .unwrap();
    app.store
        .transition_run(run.id, RunStatus::Success, None)
        .await
        .unwrap();

    let browser = Browser::new(&app);
    let uri = format!("/runs/{}", run.id);
    browser.get(&uri).await.assert_status(StatusCode::OK);
    let started = Instant::now();
    let page = browser.get(&uri).await;
    let took = started.elapsed();
    page.assert_status(StatusCode::OK)
        .assert_contains("id=\"events-next\"")
        .assert_contains("extract ×2")
        .assert_contains("class=\"bar bar-retry\"")
        .assert_contains("data-step=\"load\"");
    let events = &page.html[page.html.find("id=\"event-rows\"").unwrap()..];
    assert_eq!(events.matches("<tr class=").count(), 200);
    assert!(
        page.html.len() < 200_000,
        "page of {} bytes",
        page.html.len()
    );
    eprintln!(
        "run page with {LOG_LINES} log lines: {took:?}, {} bytes",
        page.html.len()
    );
    assert!(took < Duration::from_secs(2), "run page took {took:?}");

    let started = Instant::now();
    let logs = browser
        .get(&format!("/runs/{}/steps/extract", run.id))
        .await;
    let took = started.elapsed();
    logs.assert_status(StatusCode::OK)
        .assert_contains("[info] line 499<")
        .assert_lacks("[info] line 500<")
        .assert_contains("id=\"logs-next\"");
    eprintln!("step log page: {took:?}");
    assert!(took < Duration::from_secs(2), "step logs took {took:?}");
}
