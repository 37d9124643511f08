//! `orch schedules list|on|off|ticks` on both backends, `orch.toml` overrides and additions,
//! and the exit code 2 of an unknown schedule or a bad config file.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use orchestrator::domain::{JobName, NewRun, ScheduleName};
use orchestrator::storage::{self, RunStorage, StoreOptions};
use serde_json::{Value, json};

use crate::support::{JOB, Orch, TestDb, init};

const SCHEDULE: &str = "product_pipeline_schedule";

fn utc(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
}

/// `orch schedules list --json`, by name.
async fn listed(orch: &Orch, name: &str) -> Value {
    let all = orch
        .run(&["schedules", "list", "--json"])
        .await
        .assert_exit(0)
        .json();
    all.as_array()
        .expect("an array of schedules")
        .iter()
        .find(|s| s["name"] == name)
        .unwrap_or_else(|| panic!("{name} not listed: {all:#}"))
        .clone()
}

/// The store `orch` uses, opened by the test (SQLite in ORCH_HOME unless `url`).
async fn open(orch: &Orch, url: Option<&str>) -> Arc<dyn RunStorage> {
    let url = url.map_or_else(
        || format!("sqlite://{}/orch.db", orch.home().display()),
        str::to_owned,
    );
    storage::connect(&url, &StoreOptions::default())
        .await
        .unwrap()
}

/// The product schedule is off by default; `on` and `off` persist; `ticks` lists what a
/// scheduler recorded, newest first, with paging.
async fn check_schedules_commands(orch: Orch, url: Option<&str>) {
    let product = listed(&orch, SCHEDULE).await;
    assert_eq!(product["job"], JOB);
    assert_eq!(product["cron"], "0 0 * * * *");
    assert_eq!(product["timezone"], "UTC");
    assert_eq!(product["enabled"], false);
    assert_eq!(product["state"], "default");
    assert_eq!(product["next_tick"], Value::Null);

    orch.run(&["schedules", "on", SCHEDULE])
        .await
        .assert_exit(0)
        .assert_says(&["schedule product_pipeline_schedule is on; next tick "]);
    let on = listed(&orch, SCHEDULE).await;
    assert_eq!(
        (&on["enabled"], &on["state"]),
        (&json!(true), &json!("switched"))
    );
    let next = utc(on["next_tick"].as_str().expect("a next tick when on"));
    assert!(next > Utc::now() && next <= Utc::now() + chrono::TimeDelta::hours(1));
    assert_eq!(next.timestamp() % 3600, 0, "on the hour: {next}");

    orch.run(&["schedules", "off", SCHEDULE])
        .await
        .assert_exit(0)
        .assert_says(&["schedule product_pipeline_schedule is off"]);
    let off = listed(&orch, SCHEDULE).await;
    assert_eq!(
        (&off["enabled"], &off["state"]),
        (&json!(false), &json!("switched"))
    );
    orch.run(&["schedules", "list"])
        .await
        .assert_exit(0)
        .assert_says(&["product_pipeline_schedule", "off"]);

    // Ticks as a scheduler records them.
    let store = open(&orch, url).await;
    let name = ScheduleName::parse(SCHEDULE).unwrap();
    let [t1, t2, t3] = [
        utc("2026-05-01T08:00:00Z"),
        utc("2026-05-01T09:00:00Z"),
        utc("2026-05-01T10:00:00Z"),
    ];
    let job = JobName::parse(JOB).unwrap();
    let run = NewRun::for_tick(job, json!({}), Default::default(), &name, t3);
    store.record_tick_run(&name, t3, &run).await.unwrap();
    store.record_skipped_ticks(&name, &[t2]).await.unwrap();
    store
        .record_failed_tick(&name, t1, "run config refused: nope")
        .await
        .unwrap();

    let ticks = orch
        .run(&["schedules", "ticks", SCHEDULE, "--json"])
        .await
        .assert_exit(0)
        .json();
    let seen: Vec<(&str, &str)> = ticks
        .as_array()
        .expect("an array of ticks")
        .iter()
        .map(|t| {
            (
                t["tick_time"].as_str().unwrap(),
                t["status"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        seen,
        [
            ("2026-05-01T10:00:00Z", "SUCCESS"),
            ("2026-05-01T09:00:00Z", "SKIPPED"),
            ("2026-05-01T08:00:00Z", "FAILURE"),
        ]
    );
    assert_eq!(ticks[0]["run_id"], run.id.to_string());
    assert_eq!(ticks[2]["error"], "run config refused: nope");

    let page = orch
        .run(&[
            "schedules",
            "ticks",
            SCHEDULE,
            "--json",
            "--limit",
            "1",
            "--before",
            "2026-05-01T10:00:00Z",
        ])
        .await
        .assert_exit(0)
        .json();
    assert_eq!(page.as_array().map(Vec::len), Some(1));
    assert_eq!(page[0]["tick_time"], "2026-05-01T09:00:00Z");

    orch.run(&["schedules", "ticks", SCHEDULE])
        .await
        .assert_exit(0)
        .assert_says(&[
            "2026-05-01T10:00:00Z",
            &run.id.to_string(),
            "SKIPPED",
            "run config refused: nope",
        ]);
}

#[tokio::test]
async fn schedules_list_on_off_and_ticks_on_sqlite() {
    init();
    check_schedules_commands(Orch::local(), None).await;
}

#[tokio::test]
async fn schedules_list_on_off_and_ticks_on_postgres() {
    init();
    let db = TestDb::create().await;
    let orch = Orch::local().on_postgres(&db);
    check_schedules_commands(orch, Some(&db.url)).await;
    db.drop_database().await;
}

#[tokio::test]
async fn an_unknown_schedule_is_a_usage_error_naming_the_known_ones() {
    init();
    let orch = Orch::local();
    for args in [
        &["schedules", "on", "nope"][..],
        &["schedules", "off", "nope"],
        &["schedules", "ticks", "nope"],
    ] {
        orch.run(args)
            .await
            .assert_exit(2)
            .assert_says(&["unknown schedule 'nope' (known schedules: product_pipeline_schedule, weather_product_schedule)"]);
    }
    orch.run(&["schedules", "ticks", SCHEDULE, "--before", "yesterday"])
        .await
        .assert_exit(2)
        .assert_says(&["--before 'yesterday' is not an RFC 3339 time"]);
}

#[tokio::test]
async fn orch_toml_overrides_a_declared_schedule_and_adds_one() {
    init();
    let orch = Orch::local();
    std::fs::write(
        orch.home().join("orch.toml"),
        r#"
[schedules.product_pipeline_schedule]
cron = "0 */15 * * * *"
timezone = "Europe/Paris"
enabled = true
catch_up = "latest"

[schedules.nightly]
job = "product_pipeline_job"
cron = "0 30 2 * * *"
config = { timeout_seconds = 30 }
tags = { team = "data" }
"#,
    )
    .unwrap();
    let product = listed(&orch, SCHEDULE).await;
    assert_eq!(product["cron"], "0 */15 * * * *");
    assert_eq!(product["timezone"], "Europe/Paris");
    assert_eq!(
        (&product["enabled"], &product["state"]),
        (&json!(true), &json!("default"))
    );
    assert_eq!(product["catch_up"], "latest");
    let nightly = listed(&orch, "nightly").await;
    assert_eq!(nightly["job"], JOB);
    assert_eq!(nightly["timezone"], "UTC");
    assert_eq!(nightly["enabled"], true);
    assert_eq!(nightly["config"], json!({"timeout_seconds": 30}));
    assert_eq!(nightly["tags"], json!({"team": "data"}));
    orch.run(&["schedules", "off", "nightly"])
        .await
        .assert_exit(0);
    assert_eq!(listed(&orch, "nightly").await["enabled"], false);
}

#[tokio::test]
async fn a_bad_config_file_is_a_usage_error_naming_the_file_and_the_fault() {
    init();
    let orch = Orch::local();
    let file = orch.home().join("orch.toml");
    let path = file.display().to_string();
    let cases = [
        (
            "[schedules.product_pipeline_schedule]\ncolour = \"red\"\n",
            "unknown field `colour`",
        ),
        (
            "[schedules.product_pipeline_schedule]\ncron = \"0 * * * *\"\n",
            "schedule 'product_pipeline_schedule': invalid cron expression '0 * * * *'",
        ),
        (
            "[schedules.product_pipeline_schedule]\ntimezone = \"Mars/Olympus\"\n",
            "schedule 'product_pipeline_schedule': unknown time zone 'Mars/Olympus'",
        ),
        (
            "[schedules.nightly]\njob = \"no_such_job\"\ncron = \"0 0 2 * * *\"\n",
            "schedule 'nightly': job 'no_such_job' is not defined (known jobs: product_pipeline_job, weather_product_job)",
        ),
    ];
    for (text, fault) in cases {
        std::fs::write(&file, text).unwrap();
        for args in [&["schedules", "list"][..], &["schedules", "on", SCHEDULE]] {
            orch.run(args)
                .await
                .assert_exit(2)
                .assert_says(&[&format!("config file {path}"), fault]);
        }
    }
    // Nothing was switched by the refused `on`s.
    std::fs::remove_file(&file).unwrap();
    assert_eq!(listed(&orch, SCHEDULE).await["state"], "default");

    let missing = orch.home().join("missing.toml");
    let explicit = Orch::local().env("ORCH_CONFIG", missing.display().to_string());
    explicit
        .run(&["schedules", "list"])
        .await
        .assert_exit(2)
        .assert_says(&[&format!(
            "config file {} does not exist (ORCH_CONFIG names it)",
            missing.display()
        )]);
}
