//! Idempotent launches: a Job of the run already exists (a daemon died after creating it and
//! before recording it); launching the run again adopts that Job instead of failing or
//! starting a second worker.

use orchestrator::domain::{JobName, NewRun};
use orchestrator::launcher::Launcher;
use serde_json::json;

use crate::support::Harness;

#[tokio::test]
async fn launching_a_run_whose_job_exists_adopts_that_job() {
    let h = Harness::start(json!({"namespace": "adopt", "image": "sleeper:1"})).await;
    // STARTING, never queued: the daemon does not launch it; the test does, twice.
    let run = h
        .store
        .create_run(&NewRun::in_process(
            JobName::parse("job").unwrap(),
            json!({}),
            Default::default(),
        ))
        .await
        .unwrap();
    let first = h.launcher.launch(&run).await.unwrap();
    let again = h.launcher.relaunch(&run).await.unwrap();
    assert_eq!(again.0["job"], first.0["job"]);
    assert!(first.0["uid"].is_string(), "{first:?}");
    assert_eq!(
        again.0["uid"], first.0["uid"],
        "the same Job, not a new one"
    );
    let third = h.launcher.launch(&run).await.unwrap();
    assert_eq!(third.0["uid"], first.0["uid"]);
}
