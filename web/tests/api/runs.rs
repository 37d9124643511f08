//! Reading runs: the list with its filters and keyset paging, one run, its events a page at a
//! time.

use axum::http::StatusCode;
use orchestrator::domain::{EventKind, LogLevel, NewEvent, RunStatus};
use serde_json::Value;

use crate::support::{TestApp, api_tests};

api_tests!(
    runs_page_newest_first_with_a_next_cursor,
    runs_filter_by_status_job_and_tag,
    events_come_a_page_at_a_time,
    unknown_run_is_404_and_malformed_id_400,
);

fn ids(body: &Value) -> Vec<String> {
    body["runs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["id"].as_str().unwrap().to_owned())
        .collect()
}

async fn runs_page_newest_first_with_a_next_cursor(app: TestApp) {
    let mut created = Vec::new();
    for _ in 0..5 {
        created.push(app.queued(&[]).await.id.to_string());
    }
    created.reverse();

    let first = app.get("/api/v1/runs?limit=2").await;
    first.assert_status(StatusCode::OK);
    assert_eq!(ids(&first.body), created[0..2]);
    let next = first.body["next"].as_str().unwrap();
    assert_eq!(next, created[1]);

    let second = app
        .get(&format!("/api/v1/runs?limit=2&before={next}"))
        .await;
    assert_eq!(ids(&second.body), created[2..4]);
    let next = second.body["next"].as_str().unwrap();

    let last = app
        .get(&format!("/api/v1/runs?limit=2&before={next}"))
        .await;
    assert_eq!(ids(&last.body), created[4..5]);
    assert!(last.body["next"].is_null(), "{}", last.body);

    app.get("/api/v1/runs?limit=0")
        .await
        .assert_error(StatusCode::BAD_REQUEST, "limit 0 is out of range");
}

async fn runs_filter_by_status_job_and_tag(app: TestApp) {
    let tagged = app.queued(&[("team", "data")]).await;
    app.queued(&[("team", "web")]).await;
    let failed = app.finished(RunStatus::Failure).await;

    let by_tag = app.get("/api/v1/runs?tag=team%3Ddata").await;
    assert_eq!(ids(&by_tag.body), vec![tagged.id.to_string()]);
    assert_eq!(by_tag.body["runs"][0]["tags"]["team"], "data");

    let by_status = app.get("/api/v1/runs?status=FAILURE").await;
    assert_eq!(ids(&by_status.body), vec![failed.id.to_string()]);
    let lower = app.get("/api/v1/runs?status=failure").await;
    assert_eq!(ids(&lower.body), vec![failed.id.to_string()]);

    let by_job = app.get("/api/v1/runs?job=etl&status=QUEUED").await;
    assert_eq!(ids(&by_job.body).len(), 2);
    let other_job = app.get("/api/v1/runs?job=other").await;
    assert!(ids(&other_job.body).is_empty());

    app.get("/api/v1/runs?status=LOST")
        .await
        .assert_status(StatusCode::BAD_REQUEST);
    app.get("/api/v1/runs?tag=team")
        .await
        .assert_error(StatusCode::BAD_REQUEST, "not KEY=VALUE");
    app.get("/api/v1/runs?colour=red")
        .await
        .assert_error(StatusCode::BAD_REQUEST, "unknown field");
}

async fn events_come_a_page_at_a_time(app: TestApp) {
    let run = app.queued(&[]).await;
    let logs: Vec<NewEvent> = (0..5)
        .map(|i| {
            NewEvent::run(EventKind::Log {
                level: LogLevel::Info,
                message: format!("line {i}"),
            })
        })
        .collect();
    app.store.append_events(run.id, &logs).await.unwrap();
    // RUN_ENQUEUED + 5 logs = 6 events.
    let base = format!("/api/v1/runs/{}/events", run.id);
    let first = app.get(&format!("{base}?limit=4")).await;
    first.assert_status(StatusCode::OK);
    let events = first.body["events"].as_array().unwrap();
    assert_eq!(events.len(), 4);
    assert_eq!(events[0]["type"], "RUN_ENQUEUED");
    assert_eq!(events[1]["message"], "line 0");
    let next = first.body["next"].as_i64().unwrap();
    assert_eq!(next, events[3]["id"].as_i64().unwrap());

    let rest = app.get(&format!("{base}?limit=4&after={next}")).await;
    let events = rest.body["events"].as_array().unwrap();
    assert_eq!(events.len(), 2);
    assert_eq!(events[1]["message"], "line 4");
    assert!(rest.body["next"].is_null());

    app.get(&format!("{base}?after=abc"))
        .await
        .assert_status(StatusCode::BAD_REQUEST);
}

async fn unknown_run_is_404_and_malformed_id_400(app: TestApp) {
    let unknown = orchestrator::domain::RunId::new();
    app.get(&format!("/api/v1/runs/{unknown}"))
        .await
        .assert_error(StatusCode::NOT_FOUND, &unknown.to_string());
    app.get(&format!("/api/v1/runs/{unknown}/events"))
        .await
        .assert_error(StatusCode::NOT_FOUND, "not found");
    app.get("/api/v1/runs/not-a-run")
        .await
        .assert_error(StatusCode::BAD_REQUEST, "'not-a-run' is not a run id");
}
