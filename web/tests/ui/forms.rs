//! The forms, as a browser submits them: Launch Run (303 to the run; a bad config is a 422 with
//! the reason and the typed text, and no run), Terminate, Re-execute, schedule toggles — and the
//! CSRF check every one of them goes through.

use axum::http::StatusCode;
use orchestrator::domain::{RunStatus, ScheduleName};
use serde_json::json;

use crate::browser::Browser;
use crate::support::{TestApp, api_tests};

api_tests!(
    launch_form_creates_a_queued_run_and_redirects_to_it,
    bad_config_is_a_422_with_the_reason_and_no_run,
    forms_without_a_valid_csrf_token_are_refused,
    terminate_and_reexecute_buttons_act_on_the_run,
    schedule_toggles_switch_the_schedule,
    sensors_are_listed_and_their_toggles_switch_them,
);

async fn launch_form_creates_a_queued_run_and_redirects_to_it(app: TestApp) {
    let browser = Browser::new(&app);
    let form = browser.get("/jobs/etl").await;
    assert!(browser.cookie().is_some(), "no session cookie was set");
    let reply = browser
        .post(
            "/jobs/etl/launch",
            &[
                ("csrf", &form.csrf()),
                ("config", "{\"limit\": 3}"),
                ("tags", "team=data\n"),
            ],
        )
        .await;
    reply.assert_status(StatusCode::SEE_OTHER);
    let runs = app.runs().await;
    assert_eq!(runs.len(), 1);
    let run = &runs[0];
    assert_eq!(reply.location(), format!("/runs/{}", run.id));
    assert_eq!(run.status, RunStatus::Queued);
    assert_eq!(run.config, json!({"limit": 3, "source": "http://upstream"}));
    assert_eq!(run.tags.len(), 1);
    browser
        .get(reply.location())
        .await
        .assert_contains("data-status=\"QUEUED\"");
}

async fn bad_config_is_a_422_with_the_reason_and_no_run(app: TestApp) {
    let browser = Browser::new(&app);
    let csrf = browser.get("/jobs/etl").await.csrf();
    for (config, tags, reason) in [
        ("{\"limit\": ", "", "not valid JSON"),
        ("[1, 2]", "", "must be a JSON object"),
        ("{\"limit\": \"ten\"}", "", "limit"),
        ("{\"unknown_key\": 1}", "", "unknown_key"),
        ("{}", "no-equals-sign", "is not key=value"),
    ] {
        let page = browser
            .post(
                "/jobs/etl/launch",
                &[("csrf", &csrf), ("config", config), ("tags", tags)],
            )
            .await;
        page.assert_status(StatusCode::UNPROCESSABLE_ENTITY)
            .assert_contains("<p class=\"error\" id=\"launch-error\">")
            .assert_contains(reason)
            .assert_contains("<form id=\"launch-form\"");
        // The text as typed is back in the editor (HTML-escaped).
        let typed = config.replace('"', "&#34;");
        page.assert_contains(&format!(
            "name=\"config\" rows=\"12\" spellcheck=\"false\">{typed}</textarea>"
        ));
    }
    assert!(
        app.runs().await.is_empty(),
        "a refused launch created a run"
    );
}

async fn forms_without_a_valid_csrf_token_are_refused(app: TestApp) {
    let browser = Browser::new(&app);
    let csrf = browser.get("/jobs/etl").await.csrf();
    for token in ["", "00", &"ab".repeat(32)] {
        browser
            .post("/jobs/etl/launch", &[("csrf", token), ("config", "{}")])
            .await
            .assert_status(StatusCode::FORBIDDEN)
            .assert_contains("<h1>403 Forbidden</h1>");
    }
    browser
        .post("/jobs/etl/launch", &[("config", "{}")])
        .await
        .assert_status(StatusCode::FORBIDDEN);
    // Another browser's token is no good either, nor a valid token without the cookie.
    let other = Browser::new(&app);
    let other_csrf = other.get("/jobs/etl").await.csrf();
    browser
        .post(
            "/jobs/etl/launch",
            &[("csrf", &other_csrf), ("config", "{}")],
        )
        .await
        .assert_status(StatusCode::FORBIDDEN);
    Browser::new(&app)
        .post("/jobs/etl/launch", &[("csrf", &csrf), ("config", "{}")])
        .await
        .assert_status(StatusCode::FORBIDDEN);
    let run = app.queued(&[]).await;
    browser
        .post(&format!("/runs/{}/cancel", run.id), &[])
        .await
        .assert_status(StatusCode::FORBIDDEN);
    browser
        .post("/schedules/nightly/on", &[("csrf", "x")])
        .await
        .assert_status(StatusCode::FORBIDDEN);
    assert_eq!(app.runs().await.len(), 1, "a refused form created a run");
    assert_eq!(app.runs().await[0].status, RunStatus::Queued);
    // The right token works.
    browser
        .post("/jobs/etl/launch", &[("csrf", &csrf), ("config", "{}")])
        .await
        .assert_status(StatusCode::SEE_OTHER);
}

async fn terminate_and_reexecute_buttons_act_on_the_run(app: TestApp) {
    let browser = Browser::new(&app);
    let queued = app.queued(&[]).await;
    let csrf = browser.get(&format!("/runs/{}", queued.id)).await.csrf();
    let reply = browser
        .post(&format!("/runs/{}/cancel", queued.id), &[("csrf", &csrf)])
        .await;
    reply.assert_status(StatusCode::SEE_OTHER);
    assert_eq!(reply.location(), format!("/runs/{}", queued.id));
    let canceled = app.store.get_run(queued.id).await.unwrap();
    assert_eq!(canceled.status, RunStatus::Canceled);
    // Terminating a finished run is refused with the reason.
    browser
        .post(&format!("/runs/{}/cancel", queued.id), &[("csrf", &csrf)])
        .await
        .assert_status(StatusCode::CONFLICT)
        .assert_contains("CANCELED");

    let failed = app.finished(RunStatus::Failure).await;
    let reply = browser
        .post(
            &format!("/runs/{}/reexecute", failed.id),
            &[("csrf", &csrf), ("from", "failure")],
        )
        .await;
    reply.assert_status(StatusCode::SEE_OTHER);
    let child_id = reply.location().trim_start_matches("/runs/").to_owned();
    let child = browser.get(reply.location()).await;
    child
        .assert_contains("data-status=\"QUEUED\"")
        .assert_contains(&format!(
            "<a id=\"parent-run\" class=\"mono\" href=\"/runs/{}\">",
            failed.id
        ))
        .assert_contains("Steps selected</th><td>load");
    let all = browser
        .post(
            &format!("/runs/{}/reexecute", failed.id),
            &[("csrf", &csrf), ("from", "all")],
        )
        .await;
    all.assert_status(StatusCode::SEE_OTHER);
    assert_ne!(all.location(), format!("/runs/{child_id}"));
    browser
        .post(
            &format!("/runs/{}/reexecute", failed.id),
            &[("csrf", &csrf), ("from", "somewhere")],
        )
        .await
        .assert_status(StatusCode::BAD_REQUEST);
    // From failure, of a run where nothing failed: refused with the reason.
    let ok = app.finished(RunStatus::Success).await;
    browser
        .post(
            &format!("/runs/{}/reexecute", ok.id),
            &[("csrf", &csrf), ("from", "failure")],
        )
        .await
        .assert_status(StatusCode::UNPROCESSABLE_ENTITY);
}

async fn schedule_toggles_switch_the_schedule(app: TestApp) {
    let browser = Browser::new(&app);
    let page = browser.get("/schedules").await;
    page.assert_contains("Turn on");
    let reply = browser
        .post("/schedules/nightly/on", &[("csrf", &page.csrf())])
        .await;
    reply.assert_status(StatusCode::SEE_OTHER);
    assert_eq!(reply.location(), "/schedules");
    let states = app.store.list_schedule_states().await.unwrap();
    assert_eq!(states.len(), 1);
    assert_eq!(states[0].name, ScheduleName::parse("nightly").unwrap());
    assert!(states[0].enabled);
    let page = browser.get("/schedules").await;
    page.assert_contains("action=\"/schedules/nightly/off\"")
        .assert_contains("(switched)");
    // Now on, it shows on the overview's next ticks.
    browser
        .get("/")
        .await
        .assert_contains("href=\"/schedules/nightly\"");
    browser
        .post("/schedules/nope/on", &[("csrf", &page.csrf())])
        .await
        .assert_status(StatusCode::NOT_FOUND);
}

async fn sensors_are_listed_and_their_toggles_switch_them(app: TestApp) {
    let browser = Browser::new(&app);
    let page = browser.get("/schedules").await;
    page.assert_contains("id=\"sensor-etl_failures\"")
        .assert_contains("action=\"/sensors/etl_failures/off\"");
    let reply = browser
        .post("/sensors/etl_failures/off", &[("csrf", &page.csrf())])
        .await;
    reply.assert_status(StatusCode::SEE_OTHER);
    assert_eq!(reply.location(), "/schedules");
    let states = app.store.list_sensor_states().await.unwrap();
    assert_eq!(states.len(), 1);
    assert!(!states[0].enabled);
    browser
        .get("/schedules")
        .await
        .assert_contains("action=\"/sensors/etl_failures/on\"")
        .assert_contains("(switched)");
    // Without the CSRF token nothing changes.
    browser
        .post("/sensors/etl_failures/on", &[])
        .await
        .assert_status(StatusCode::FORBIDDEN);
    assert!(!app.store.list_sensor_states().await.unwrap()[0].enabled);
    browser
        .post("/sensors/nope/on", &[("csrf", &page.csrf())])
        .await
        .assert_status(StatusCode::NOT_FOUND);
}
