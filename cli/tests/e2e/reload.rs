//! Reloading job files in a running `orch dev` (daemon and web in one process): SIGHUP and
//! `POST /api/v1/reload` put a good edit in force (the web server lists the new job, the daemon
//! ticks its schedule), a bad edit keeps the definitions in force and shows the fault with its
//! file and line (API, UI, stderr), and the next good edit clears it.

use std::path::Path;
use std::time::Duration;

use serde_json::Value;

use crate::support::{Orch, eventually, init, served_at};

const FIRST: &str = r#"name = "first_job"
[[assets]]
name = "one"
command = ["true"]
"#;

/// A second job with a schedule that is on and ticks every second: a run of it proves that
/// the daemon's scheduler follows the reload too.
const SECOND: &str = r#"name = "second_job"
[[assets]]
name = "two"
command = ["true"]

[[schedules]]
name = "second_every_second"
cron = "* * * * * *"
enabled = true
"#;

/// `SECOND` with a misspelt key on line 4.
const SECOND_BROKEN: &str = r#"name = "second_job"
[[assets]]
name = "two"
comand = ["true"]
"#;

async fn get(base: &str, path: &str) -> Value {
    reqwest::get(format!("{base}{path}"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

async fn job_names(base: &str) -> Vec<String> {
    get(base, "/api/v1/jobs").await["jobs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|j| j["name"].as_str().unwrap().to_owned())
        .collect()
}

fn write(dir: &Path, name: &str, text: &str) {
    std::fs::create_dir_all(dir).unwrap();
    // Write then rename: a reader never sees half a file.
    let tmp = dir.join(format!(".{name}.tmp"));
    std::fs::write(&tmp, text).unwrap();
    std::fs::rename(tmp, dir.join(name)).unwrap();
}

fn sighup(child: &tokio::process::Child) {
    let pid = child.id().expect("orch dev runs");
    let status = std::process::Command::new("kill")
        .args(["-HUP", &pid.to_string()])
        .status()
        .unwrap();
    assert!(status.success());
}

#[tokio::test]
async fn sighup_and_the_api_reload_job_files_and_a_bad_edit_keeps_the_definitions_in_force() {
    init();
    let orch = Orch::local()
        .env("ORCH_WEB_ADDR", "127.0.0.1:0")
        .env("PRODUCT_API_URL", "http://127.0.0.1:9/posts");
    // The default jobs directory, $ORCH_HOME/jobs.
    let jobs = orch.home().join("jobs");
    write(&jobs, "first.toml", FIRST);
    let dev = orch.spawn(&["dev"], "dev.log");
    let base = format!(
        "http://{}",
        served_at(&orch, "dev.log", "orch dev: http://").await
    );
    assert!(job_names(&base).await.contains(&"first_job".to_owned()));
    assert_eq!(get(&base, "/api/v1/reload").await["version"], 1);

    // A good edit, by SIGHUP: the web server lists the job, the daemon ticks its schedule.
    write(&jobs, "second.toml", SECOND);
    sighup(&dev);
    eventually("second_job listed", Duration::from_secs(10), || async {
        job_names(&base).await.contains(&"second_job".to_owned())
    })
    .await;
    let status = get(&base, "/api/v1/reload").await;
    assert_eq!(status["version"], 2, "{status}");
    assert_eq!(status["reload_error"], Value::Null, "{status}");
    assert!(
        status["schedules"]
            .as_array()
            .unwrap()
            .contains(&"second_every_second".into()),
        "{status}"
    );
    eventually(
        "a scheduled run of second_job",
        Duration::from_secs(15),
        || async { !orch.list_ids(&["--job", "second_job"]).await.is_empty() },
    )
    .await;

    // A bad edit, by the API: refused with the file and line, the definitions stay.
    write(&jobs, "second.toml", SECOND_BROKEN);
    let client = reqwest::Client::new();
    let refused = client
        .post(format!("{base}/api/v1/reload"))
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), 422);
    let body: Value = refused.json().await.unwrap();
    let error = body["error"].as_str().unwrap_or_default().to_owned();
    assert!(error.contains("second.toml:4"), "{body}");
    assert!(error.contains("comand"), "{body}");
    assert!(error.contains("version 2 stays in force"), "{body}");
    assert!(job_names(&base).await.contains(&"second_job".to_owned()));
    let status = get(&base, "/api/v1/reload").await;
    assert_eq!(status["version"], 2, "{status}");
    assert!(
        status["reload_error"]["error"]
            .as_str()
            .is_some_and(|e| e.contains("second.toml:4")),
        "{status}"
    );
    let page = reqwest::get(format!("{base}/jobs"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(page.contains("id=\"reload-error\""), "{page}");
    assert!(page.contains("second.toml:4"), "{page}");
    assert!(page.contains("Reload definitions"), "{page}");

    // The same bad edit by SIGHUP: said on stderr, still version 2.
    sighup(&dev);
    eventually(
        "the refused SIGHUP on stderr",
        Duration::from_secs(10),
        || async {
            orch.log("dev.log")
                .contains("SIGHUP: the definitions did not reload")
        },
    )
    .await;
    assert_eq!(get(&base, "/api/v1/reload").await["version"], 2);

    // Fixed, by the API: in force, the error gone; removing the file removes the job.
    std::fs::remove_file(jobs.join("second.toml")).unwrap();
    let reloaded = client
        .post(format!("{base}/api/v1/reload"))
        .send()
        .await
        .unwrap();
    assert_eq!(reloaded.status(), 200);
    let body: Value = reloaded.json().await.unwrap();
    assert_eq!(body["version"], 3, "{body}");
    assert_eq!(body["reload_error"], Value::Null, "{body}");
    assert!(
        !body["jobs"]
            .as_array()
            .unwrap()
            .contains(&"second_job".into()),
        "{body}"
    );
    assert!(!job_names(&base).await.contains(&"second_job".to_owned()));
    drop(dev);
}
