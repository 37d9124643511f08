//! `orch runs list` filters and `orch jobs list`.

use crate::support::{JOB, Orch, Route, STEPS, TestDb, Upstream, init};

/// Three runs (SUCCESS tagged team=data, FAILURE, SUCCESS), then every filter of `runs list`.
async fn check_runs_list_filters(orch: Orch, upstream: &Upstream) {
    let mut ids = Vec::new();
    let runs: [&[&str]; 3] = [
        &["--tag", "team=data"],
        &[
            "--config",
            &format!("source_url={}", upstream.url(Route::NotJson)),
        ],
        &[],
    ];
    for (extra, code) in runs.iter().zip([0, 1, 0]) {
        let mut args = vec!["run", JOB];
        args.extend_from_slice(extra);
        let out = orch.run(&args).await;
        out.assert_exit(code);
        ids.push(out.run_id());
    }
    let [first, failed, last] = [ids[0].clone(), ids[1].clone(), ids[2].clone()];

    let check = async |args: &[&str], expected: &[&String]| {
        let got = orch.list_ids(args).await;
        let expected: Vec<String> = expected.iter().map(|s| s.to_string()).collect();
        assert_eq!(got, expected, "orch runs list {args:?}");
    };
    check(&[], &[&last, &failed, &first]).await;
    check(&["--status", "SUCCESS"], &[&last, &first]).await;
    check(&["--status", "failure"], &[&failed]).await;
    check(&["--status", "STARTED"], &[]).await;
    check(&["--job", JOB], &[&last, &failed, &first]).await;
    check(&["--job", "other_job"], &[]).await;
    check(&["--limit", "1"], &[&last]).await;
    check(&["--limit", "2"], &[&last, &failed]).await;
    check(&["--status", "SUCCESS", "--limit", "1"], &[&last]).await;
    check(&["--tag", "team=data"], &[&first]).await;
    check(&["--tag", "team=ops"], &[]).await;

    let statuses = orch
        .run(&["runs", "list", "--json", "--status", "SUCCESS"])
        .await
        .assert_exit(0)
        .json();
    for run in statuses.as_array().expect("an array of runs") {
        assert_eq!(run["status"], "SUCCESS");
        assert_eq!(run["job"], JOB);
    }

    let bad = orch.run(&["runs", "list", "--status", "DONE"]).await;
    bad.assert_exit(2)
        .assert_says(&["'DONE' is not a run status"]);
}

#[tokio::test]
async fn runs_list_filters_by_status_job_tag_and_limit_newest_first_on_sqlite() {
    init();
    let upstream = Upstream::start().await;
    let orch = Orch::local().env("PRODUCT_API_URL", upstream.url(Route::Posts));
    check_runs_list_filters(orch, &upstream).await;
}

#[tokio::test]
async fn runs_list_filters_by_status_job_tag_and_limit_newest_first_on_postgres() {
    init();
    let upstream = Upstream::start().await;
    let db = TestDb::create().await;
    let orch = Orch::local()
        .env("PRODUCT_API_URL", upstream.url(Route::Posts))
        .on_postgres(&db);
    check_runs_list_filters(orch, &upstream).await;
    db.drop_database().await;
}

#[tokio::test]
async fn jobs_list_shows_the_product_job_with_its_three_assets_in_order() {
    init();
    let orch = Orch::local().env("PRODUCT_API_URL", "http://127.0.0.1:9/posts");

    let jobs = orch
        .run(&["jobs", "list", "--json"])
        .await
        .assert_exit(0)
        .json();

    let jobs = jobs.as_array().expect("an array of jobs");
    let names: Vec<&str> = jobs.iter().map(|j| j["name"].as_str().unwrap()).collect();
    assert_eq!(names, [JOB, "weather_product_job"], "{jobs:?}");
    let job = &jobs[0];
    assert!(!job["description"].as_str().unwrap_or("").is_empty());
    let assets = job["assets"].as_array().expect("assets");
    let keys: Vec<&str> = assets
        .iter()
        .map(|a| a["key"].as_str().expect("key"))
        .collect();
    assert_eq!(keys, STEPS);
    let upstream: Vec<Vec<&str>> = assets
        .iter()
        .map(|a| {
            a["upstream"]
                .as_array()
                .expect("upstream")
                .iter()
                .map(|u| u.as_str().expect("an asset key"))
                .collect()
        })
        .collect();
    assert_eq!(upstream, [vec![], vec!["fetch_data"], vec!["process_data"]]);
    assert_eq!(
        job["default_config"]["source_url"],
        "http://127.0.0.1:9/posts"
    );
    assert_eq!(job["default_config"]["timeout_seconds"], 10);

    let text = orch.run(&["jobs", "list"]).await;
    text.assert_exit(0).assert_says(&[
        "fetch_data -> process_data -> store_to_s3",
        "fetch_weather -> transform_weather -> upload_to_s3",
    ]);
}
