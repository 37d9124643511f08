//! `orch web`: the JSON API served over TCP by the binary, reached with a real HTTP client.

use std::time::Duration;

use orchestrator::domain::{RunId, RunStatus};
use serde_json::{Value, json};

use crate::support::{JOB, Orch, file_source, init, served_at};

/// The address `orch web` printed, once it is listening.
async fn listening_address(orch: &Orch) -> String {
    served_at(orch, "web.log", "listening on http://").await
}

#[tokio::test]
async fn orch_web_serves_health_and_launches_a_queued_run() {
    init();
    let orch = Orch::local().env("ORCH_WEB_ADDR", "127.0.0.1:0");
    let mut server = orch.spawn(&["web"], "web.log");
    let base = format!("http://{}", listening_address(&orch).await);
    let client = reqwest::Client::new();

    let health = client.get(format!("{base}/healthz")).send().await.unwrap();
    assert_eq!(health.status(), 200);
    assert_eq!(health.headers()["x-frame-options"], "DENY");
    let ready = client.get(format!("{base}/readyz")).send().await.unwrap();
    assert_eq!(ready.status(), 200);

    let launched = client
        .post(format!("{base}/api/v1/jobs/{JOB}/launch"))
        .json(&json!({"config": {"timeout_seconds": 3}, "tags": {"via": "api"}}))
        .send()
        .await
        .unwrap();
    assert_eq!(launched.status(), 201);
    let body: Value = launched.json().await.unwrap();
    let id = RunId::parse(body["id"].as_str().unwrap()).unwrap();

    // What the API says is what the store holds.
    let shown: Value = client
        .get(format!("{base}/api/v1/runs/{id}"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(shown["status"], "QUEUED");
    let run = orch.store().await.get_run(id).await.unwrap();
    assert_eq!(run.status, RunStatus::Queued);
    assert_eq!(run.config["timeout_seconds"], 3);
    // The API and `orch runs show --json` print a run the same way (one shape, web::json).
    let mut cli = orch.show(&id.to_string()).await;
    cli.as_object_mut().unwrap().remove("events");
    assert_eq!(shown, cli);

    // SIGTERM stops it gracefully.
    let pid = server.id().unwrap();
    let status = std::process::Command::new("kill")
        .args(["-TERM", &pid.to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let exit = tokio::time::timeout(Duration::from_secs(10), server.wait())
        .await
        .expect("orch web stops within 10 s of SIGTERM")
        .unwrap();
    assert!(
        exit.success(),
        "orch web exited {exit}\n{}",
        orch.log("web.log")
    );
}

#[tokio::test]
async fn orch_web_with_a_token_file_refuses_mutations_without_the_token() {
    init();
    let orch = Orch::local().env("ORCH_WEB_ADDR", "127.0.0.1:0");
    let token_file = orch.home().join("token");
    std::fs::write(&token_file, "s3cret-token\n").unwrap();
    let orch = orch.env("ORCH_AUTH_TOKEN_FILE", token_file.display().to_string());
    let mut server = orch.spawn(&["web"], "web.log");
    let base = format!("http://{}", listening_address(&orch).await);
    let client = reqwest::Client::new();
    let launch = format!("{base}/api/v1/jobs/{JOB}/launch");

    let refused = client.post(&launch).send().await.unwrap();
    assert_eq!(refused.status(), 401);
    assert!(
        orch.store()
            .await
            .list_runs(&Default::default())
            .await
            .unwrap()
            .is_empty()
    );
    let accepted = client
        .post(&launch)
        .bearer_auth("s3cret-token")
        .send()
        .await
        .unwrap();
    assert_eq!(accepted.status(), 201);
    let reads = client
        .get(format!("{base}/api/v1/runs"))
        .send()
        .await
        .unwrap();
    assert_eq!(reads.status(), 200);
    assert!(
        !orch.log("web.log").contains("s3cret-token"),
        "the token was logged"
    );
    server.kill().await.unwrap();

    // Both sources at once is a configuration error.
    orch.run(&["web", "--auth-token", "other"])
        .await
        .assert_exit(2)
        .assert_says(&["not both"]);
}

#[tokio::test]
async fn orch_dev_launch_queues_the_job_and_prints_its_page_which_follows_it_to_success() {
    init();
    let orch = Orch::local().env("ORCH_WEB_ADDR", "127.0.0.1:0");
    let source = format!("source_url={}", file_source());
    let mut dev = orch.spawn(&["dev", "--launch", JOB, "--config", &source], "dev.log");
    let page = served_at(&orch, "dev.log", "; open ").await;
    let (base, id) = page.split_once("/runs/").expect("a run page URL");
    let id = RunId::parse(id).unwrap();
    let client = reqwest::Client::new();
    orch_test_support::wait::until_ok("the run succeeds", Duration::from_secs(30), async || {
        let run: Value = client
            .get(format!("{base}/api/v1/runs/{id}"))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        if run["status"] == "SUCCESS" {
            Ok(())
        } else {
            Err(format!("{run}\n{}", orch.log("dev.log")))
        }
    })
    .await;
    let page = client
        .get(format!("{base}/runs/{id}"))
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), 200);
    dev.kill().await.unwrap();

    // A job that does not exist: a usage error, nothing queued, nothing served.
    orch.run(&["dev", "--launch", "no_such_job"])
        .await
        .assert_exit(2)
        .assert_says(&["unknown job 'no_such_job'"]);
    assert_eq!(orch.list_ids(&[]).await, vec![id.to_string()]);
}
