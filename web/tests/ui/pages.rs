//! Every page renders with real data, with the ids and links the browser test relies on; unknown
//! ids are a 404 page; lists filter and page.

use axum::http::StatusCode;
use orchestrator::domain::{AssetKey, EventKind, LogLevel, NewEvent, RunStatus};

use crate::browser::Browser;
use crate::support::{TestApp, api_tests};

api_tests!(
    every_page_renders_with_real_data,
    unknown_ids_are_a_404_page,
    runs_filter_by_status_job_and_tag_and_page_by_keyset,
    bad_filters_are_a_400_page_naming_the_problem,
    live_update_returns_status_timeline_and_new_events,
    static_files_are_embedded_and_cached,
    a_run_page_names_the_definition_version_it_runs,
);

const NAV: [&str; 5] = [
    "href=\"/\"",
    "href=\"/runs\"",
    "href=\"/jobs\"",
    "href=\"/assets\"",
    "href=\"/schedules\"",
];

async fn every_page_renders_with_real_data(app: TestApp) {
    let failed = app.finished(RunStatus::Failure).await;
    let ok = app.finished(RunStatus::Success).await;
    let queued = app.queued(&[("team", "data")]).await;
    let extract = AssetKey::parse("extract").unwrap();
    app.store
        .append_events(
            ok.id,
            &[NewEvent::step(
                &extract,
                EventKind::Log {
                    level: LogLevel::Info,
                    message: "fetched 100 posts".into(),
                },
            )],
        )
        .await
        .unwrap();
    let browser = Browser::new(&app);

    let overview = browser.get("/").await;
    overview.assert_status(StatusCode::OK);
    for link in NAV {
        overview.assert_contains(link);
    }
    overview
        .assert_contains(&format!("href=\"/runs/{}\"", failed.id))
        .assert_contains("id=\"next-ticks\"");

    browser
        .get("/runs")
        .await
        .assert_status(StatusCode::OK)
        .assert_contains(&format!("href=\"/runs/{}\"", queued.id))
        .assert_contains("status-failure")
        .assert_contains("team=data");

    let run = browser.get(&format!("/runs/{}", failed.id)).await;
    run.assert_status(StatusCode::OK)
        .assert_contains("<span id=\"run-status\" class=\"status status-failure\" data-status=\"FAILURE\">FAILURE</span>")
        .assert_contains("<svg id=\"timeline\"")
        .assert_contains("class=\"bar bar-success\"")
        .assert_contains("id=\"events\"")
        .assert_contains("RUN_FAILURE")
        .assert_contains("load failed")
        .assert_contains("id=\"reexecute-failure\"")
        .assert_contains("id=\"reexecute-all\"")
        .assert_lacks("id=\"terminate\"")
        .assert_contains(&format!("href=\"/runs/{}/steps/extract\"", failed.id));
    browser
        .get(&format!("/runs/{}", queued.id))
        .await
        .assert_contains("data-status=\"QUEUED\"")
        .assert_contains("id=\"terminate\"")
        .assert_contains("data-live=\"true\"")
        .assert_contains("/static/run.js?v=");

    browser
        .get(&format!("/runs/{}/steps/extract", ok.id))
        .await
        .assert_status(StatusCode::OK)
        .assert_contains("[info] fetched 100 posts");

    browser
        .get("/jobs")
        .await
        .assert_status(StatusCode::OK)
        .assert_contains("href=\"/jobs/etl\"");
    let job = browser.get("/jobs/etl").await;
    job.assert_status(StatusCode::OK)
        .assert_contains("<form id=\"launch-form\" method=\"post\" action=\"/jobs/etl/launch\">")
        .assert_contains("<button id=\"launch-run\" type=\"submit\">Launch Run</button>")
        .assert_contains("<svg id=\"asset-graph\"")
        .assert_contains("data-key=\"load\"")
        .assert_contains("class=\"edge\"");
    // The config editor holds the defaults as pretty JSON (quotes escaped for HTML).
    job.assert_contains("&#34;limit&#34;: 10,\n  &#34;source&#34;: &#34;http://upstream&#34;");

    browser
        .get("/assets")
        .await
        .assert_status(StatusCode::OK)
        .assert_contains("href=\"/assets/extract\"")
        .assert_contains("s3://bucket/extract.json")
        // Defined, never materialized: listed too.
        .assert_contains("href=\"/assets/load\"");
    let asset = browser.get("/assets/extract").await;
    asset
        .assert_status(StatusCode::OK)
        .assert_contains("<section id=\"latest\">")
        .assert_contains(&format!("href=\"/runs/{}\"", ok.id))
        .assert_contains("s3://bucket/extract.json")
        .assert_contains("<svg id=\"lineage\"")
        .assert_contains("node node-focus");
    let latest = &asset.html[asset.html.find("id=\"latest\"").unwrap()..];
    let latest = &latest[..latest.find("</section>").unwrap()];
    assert!(latest.contains(&format!("/runs/{}", ok.id)), "{latest}");

    let schedules = browser.get("/schedules").await;
    schedules
        .assert_status(StatusCode::OK)
        .assert_contains("0 0 2 * * *")
        .assert_contains("Europe/Paris")
        .assert_contains("action=\"/schedules/nightly/on\"");
    browser
        .get("/schedules/nightly")
        .await
        .assert_status(StatusCode::OK)
        .assert_contains("No ticks recorded.");
    browser
        .get("/login")
        .await
        .assert_status(StatusCode::OK)
        .assert_contains("without authentication");
}

async fn unknown_ids_are_a_404_page(app: TestApp) {
    let browser = Browser::new(&app);
    let missing = orchestrator::domain::RunId::new();
    for path in [
        format!("/runs/{missing}"),
        "/runs/not-a-run-id".to_owned(),
        format!("/runs/{missing}/steps/extract"),
        "/jobs/nope".to_owned(),
        "/assets/nope".to_owned(),
        "/schedules/nope".to_owned(),
        "/nothing/here".to_owned(),
    ] {
        let page = browser.get(&path).await;
        page.assert_status(StatusCode::NOT_FOUND)
            .assert_contains("<h1>404 Not Found</h1>")
            .assert_contains("href=\"/runs\"");
        assert!(
            page.headers["content-type"]
                .to_str()
                .unwrap()
                .starts_with("text/html"),
            "{path}"
        );
    }
}

async fn runs_filter_by_status_job_and_tag_and_page_by_keyset(app: TestApp) {
    let mut tagged = Vec::new();
    for i in 0..55 {
        let team = if i % 5 == 0 { "red" } else { "blue" };
        tagged.push(app.queued(&[("team", team)]).await);
    }
    let failed = app.finished(RunStatus::Failure).await;
    let browser = Browser::new(&app);

    let first = browser.get("/runs").await;
    first.assert_status(StatusCode::OK);
    assert_eq!(first.count("<tr>\n  <td><a class=\"mono\""), 50);
    // Newest first: the failure was created last.
    let newest = first.html.find(&failed.id.to_string()).unwrap();
    let older = first.html.find(&tagged[54].id.to_string()).unwrap();
    assert!(newest < older);
    let next = first.html.split("id=\"next-page\" href=\"").nth(1).unwrap();
    let next = next[..next.find('"').unwrap()].replace("&amp;", "&");
    let second = browser.get(&next).await;
    second.assert_status(StatusCode::OK);
    assert_eq!(second.count("<tr>\n  <td><a class=\"mono\""), 6);
    second
        .assert_contains(&tagged[0].id.to_string())
        .assert_lacks("id=\"next-page\"");

    let failures = browser.get("/runs?status=failure").await;
    failures
        .assert_contains(&failed.id.to_string())
        .assert_lacks(&tagged[0].id.to_string())
        .assert_contains("<option value=\"FAILURE\" selected>");
    let red = browser.get("/runs?tag=team%3Dred").await;
    assert_eq!(red.count("<tr>\n  <td><a class=\"mono\""), 11);
    red.assert_lacks(&failed.id.to_string());
    let none = browser.get("/runs?job=other_job").await;
    none.assert_contains("No runs.");
}

async fn bad_filters_are_a_400_page_naming_the_problem(app: TestApp) {
    let browser = Browser::new(&app);
    browser
        .get("/runs?status=SLEEPING")
        .await
        .assert_status(StatusCode::BAD_REQUEST)
        .assert_contains("id=\"filter-error\"")
        .assert_contains("SLEEPING");
    browser
        .get("/runs?tag=no-equals")
        .await
        .assert_status(StatusCode::BAD_REQUEST)
        .assert_contains("is not KEY=VALUE");
    browser
        .get("/runs?before=garbage")
        .await
        .assert_status(StatusCode::BAD_REQUEST);
    let run = app.queued(&[]).await;
    browser
        .get(&format!("/runs/{}?after=abc", run.id))
        .await
        .assert_status(StatusCode::BAD_REQUEST)
        .assert_contains("<h1>400 Bad Request</h1>");
}

async fn live_update_returns_status_timeline_and_new_events(app: TestApp) {
    let run = app.queued(&[]).await;
    app.store
        .transition_run(run.id, RunStatus::Starting, None)
        .await
        .unwrap();
    app.store
        .transition_run(run.id, RunStatus::Started, None)
        .await
        .unwrap();
    let browser = Browser::new(&app);
    let page = browser.get(&format!("/runs/{}", run.id)).await;
    let after: i64 = {
        let at = page.html.split("data-after=\"").nth(1).unwrap();
        at[..at.find('"').unwrap()].parse().unwrap()
    };
    let extract = AssetKey::parse("extract").unwrap();
    app.store
        .append_events(
            run.id,
            &[
                NewEvent::step(&extract, EventKind::StepStart { attempt: 1 }),
                NewEvent::step(
                    &extract,
                    EventKind::Log {
                        level: LogLevel::Warn,
                        message: "slow <upstream>".into(),
                    },
                ),
            ],
        )
        .await
        .unwrap();
    let live = app
        .get(&format!("/runs/{}/live?after={after}", run.id))
        .await;
    live.assert_status(StatusCode::OK);
    assert_eq!(live.body["status"], "STARTED");
    assert_eq!(live.body["ended"], false);
    assert_ne!(live.body["started_at"], "—", "{}", live.body);
    let actions = live.body["actions"].as_str().unwrap();
    assert!(actions.contains("id=\"terminate\""), "{actions}");
    assert!(!actions.contains("reexecute-all"), "{actions}");
    let events = live.body["events"].as_str().unwrap();
    assert_eq!(events.matches("<tr").count(), 2, "{events}");
    assert!(events.contains("slow &#60;upstream&#62;"), "{events}");
    assert!(
        live.body["timeline"]
            .as_str()
            .unwrap()
            .contains("bar-running")
    );
    assert!(live.body["after"].as_i64().unwrap() > after);

    app.store
        .transition_run(run.id, RunStatus::Success, None)
        .await
        .unwrap();
    let done = app
        .get(&format!(
            "/runs/{}/live?after={}",
            run.id, live.body["after"]
        ))
        .await;
    assert_eq!(done.body["status"], "SUCCESS");
    assert_eq!(done.body["ended"], true);
    // The buttons follow the status: an ended run can be re-executed, not terminated.
    let actions = done.body["actions"].as_str().unwrap();
    assert!(actions.contains("id=\"reexecute-all\""), "{actions}");
    assert!(!actions.contains("id=\"terminate\""), "{actions}");
    assert!(
        done.body["events"]
            .as_str()
            .unwrap()
            .contains("RUN_SUCCESS")
    );
}

async fn static_files_are_embedded_and_cached(app: TestApp) {
    let browser = Browser::new(&app);
    let page = browser.get("/").await;
    let href = page
        .html
        .split("rel=\"stylesheet\" href=\"")
        .nth(1)
        .unwrap();
    let href = &href[..href.find('"').unwrap()];
    let css = browser.get(href).await;
    css.assert_status(StatusCode::OK)
        .assert_contains(".status-failure");
    assert_eq!(css.headers["content-type"], "text/css; charset=utf-8");
    assert!(
        css.headers["cache-control"]
            .to_str()
            .unwrap()
            .contains("immutable")
    );
    browser
        .get("/static/run.js")
        .await
        .assert_status(StatusCode::OK)
        .assert_contains("/live?after=");
    browser
        .get("/static/nope.js")
        .await
        .assert_status(StatusCode::NOT_FOUND);
    assert!(
        page.headers["content-security-policy"]
            .to_str()
            .unwrap()
            .contains("script-src 'self'")
    );
}

async fn a_run_page_names_the_definition_version_it_runs(app: TestApp) {
    let definitions = crate::support::definitions();
    let job = definitions.job("etl").unwrap();
    let stored = orchestrator::snapshot::JobSnapshot::of(job).stored();
    let run = app
        .store
        .create_run(
            &orchestrator::domain::NewRun::queued(
                job.name.clone(),
                serde_json::json!({"limit": 10}),
                Default::default(),
            )
            .with_definition(stored.clone()),
        )
        .await
        .unwrap();
    let browser = Browser::new(&app);
    browser
        .get(&format!("/runs/{}", run.id))
        .await
        .assert_status(StatusCode::OK)
        .assert_contains(&format!(
            "<span id=\"definition-version\" class=\"mono\" title=\"{}\">{}</span>",
            stored.version,
            &stored.version[..12]
        ));
    // A run created without a snapshot shows none.
    let plain = app.queued(&[]).await;
    browser
        .get(&format!("/runs/{}", plain.id))
        .await
        .assert_lacks("id=\"definition-version\"");
}
