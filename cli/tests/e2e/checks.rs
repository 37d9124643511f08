//! The seed's checks on `product_pipeline_job`: an upstream that answers no posts, or posts
//! without titles, still gives a SUCCESS run that writes the seed's object (the checks do not
//! block), but the run says which checks failed, and `runs list --checks-failed` finds it.

use crate::support::{JOB, Orch, events_of, init};

/// A `file://` source holding `posts`, in a file of its own.
fn source(orch: &Orch, posts: &str) -> String {
    let path = orch.home().join(format!("posts-{}.json", posts.len()));
    std::fs::create_dir_all(orch.home()).expect("ORCH_HOME");
    std::fs::write(&path, posts).expect("write the posts");
    format!("source_url=file://{}", path.display())
}

#[tokio::test]
async fn no_posts_and_missing_titles_fail_their_checks_and_the_run_says_so() {
    init();
    let orch = Orch::local();
    assert_eq!(
        health_of(&orch, "fetch_data").await,
        ("unknown".to_owned(), 1)
    );
    let empty = source(&orch, "[]");
    let out = orch.run(&["run", JOB, "--config", &empty]).await;
    out.assert_exit(0);
    let empty_run = out.run_id();
    let untitled = source(&orch, r#"[{"title": "a"}, {"id": 2}, {"title": ""}]"#);
    let out = orch.run(&["run", JOB, "--config", &untitled]).await;
    out.assert_exit(0);
    let untitled_run = out.run_id();

    let run = orch.show(&empty_run).await;
    assert_eq!(run["status"], "SUCCESS", "{run:#}");
    assert_eq!(run["checks_failed"], 1, "{run:#}");
    let checks = events_of(&run, "ASSET_CHECK_EVALUATION", Some("fetch_data"));
    let has_posts = checks
        .iter()
        .find(|c| c["check"] == "has_posts")
        .expect("has_posts");
    assert_eq!(has_posts["passed"], false);
    assert_eq!(has_posts["severity"], "ERROR");
    assert_eq!(has_posts["asset"], "fetch_data");
    assert_eq!(has_posts["metadata"]["count"], 0);
    assert_eq!(
        events_of(&run, "STEP_SUCCESS", Some("store_to_s3")).len(),
        1,
        "not blocking: the object is still written"
    );

    let run = orch.show(&untitled_run).await;
    assert_eq!(run["checks_failed"], 1, "{run:#}");
    let checks = events_of(&run, "ASSET_CHECK_EVALUATION", Some("fetch_data"));
    let titles = checks
        .iter()
        .find(|c| c["check"] == "titles_present")
        .expect("titles");
    assert_eq!(titles["passed"], false);
    assert_eq!(titles["severity"], "WARN");
    assert_eq!(titles["metadata"]["missing_titles"], 2);

    // The latest verdicts: titles_present failed (WARN) last, has_posts passed again; then an
    // empty answer fails has_posts (ERROR) while titles_present passes.
    assert_eq!(
        health_of(&orch, "fetch_data").await,
        ("warning".to_owned(), 1)
    );
    assert_eq!(
        health_of(&orch, "process_data").await,
        ("healthy".to_owned(), 0)
    );
    let out = orch.run(&["run", JOB, "--config", &empty]).await;
    out.assert_exit(0);
    assert_eq!(
        health_of(&orch, "fetch_data").await,
        ("degraded".to_owned(), 1)
    );

    let listed = orch
        .run(&["runs", "list", "--checks-failed", "--json"])
        .await
        .assert_exit(0)
        .json();
    let mut ids: Vec<&str> = listed
        .as_array()
        .expect("runs")
        .iter()
        .filter_map(|r| r["id"].as_str())
        .collect();
    ids.sort_unstable();
    assert_eq!(ids.len(), 3, "{listed:#}");
    assert!(ids.contains(&empty_run.as_str()) && ids.contains(&untitled_run.as_str()));
    orch.run(&["runs", "list"])
        .await
        .assert_exit(0)
        .assert_says(&["1 check failed"]);
}

/// `orch assets health --json`'s health of `asset` of the job, and its number of reasons.
async fn health_of(orch: &Orch, asset: &str) -> (String, usize) {
    let all = orch
        .run(&["assets", "health", "--json"])
        .await
        .assert_exit(0)
        .json();
    let entry = all["assets"]
        .as_array()
        .expect("assets")
        .iter()
        .find(|a| a["job"] == JOB && a["key"] == asset)
        .unwrap_or_else(|| panic!("{asset} in {all:#}"))
        .clone();
    let reasons = entry["reasons"].as_array().expect("reasons").len();
    (
        entry["health"].as_str().expect("health").to_owned(),
        reasons,
    )
}

/// `orch checks run fetch_data`: a queued checks-only run that a daemon executes — the checks
/// judge the latest materialization's output (no titles there: `titles_present` fails again)
/// and nothing is fetched or materialized; an asset without checks is refused with exit 2.
#[tokio::test]
async fn checks_run_on_their_own_over_the_latest_output() {
    init();
    let orch = Orch::local();
    let untitled = source(&orch, r#"[{"id": 1, "body": "x"}, {"id": 2, "body": "y"}]"#);
    orch.run(&["run", JOB, "--config", &untitled])
        .await
        .assert_exit(0);
    orch.run(&["checks", "run", "process_data"])
        .await
        .assert_exit(2)
        .assert_says(&["no job declares checks on asset 'process_data'"]);

    let out = orch.run(&["checks", "run", "fetch_data"]).await;
    out.assert_exit(0);
    let id = out
        .stdout
        .lines()
        .last()
        .unwrap_or_default()
        .trim()
        .to_owned();
    let mut daemon = orch.spawn(&["daemon"], "daemon.log");
    let store = orch.store().await;
    let run_id = orchestrator::domain::RunId::parse(&id).unwrap();
    crate::support::eventually(
        "the end of the checks run",
        std::time::Duration::from_secs(30),
        || async { store.get_run(run_id).await.unwrap().status.is_terminal() },
    )
    .await;
    daemon.kill().await.unwrap();
    let run = orch.show(&id).await;
    assert_eq!(
        run["status"],
        "SUCCESS",
        "{run:#}\n{}",
        orch.log("daemon.log")
    );
    assert_eq!(run["checks_failed"], 1, "{run:#}");
    let verdicts = events_of(&run, "ASSET_CHECK_EVALUATION", Some("fetch_data"));
    assert_eq!(verdicts.len(), 2, "{run:#}");
    assert!(events_of(&run, "STEP_START", None).is_empty(), "{run:#}");
    assert!(
        events_of(&run, "ASSET_MATERIALIZATION", None).is_empty(),
        "{run:#}"
    );
}
