//! The `custom-pipelines` binary end to end, as a user would run it: it lists `hello_job`, runs
//! it in process (both materializations recorded, the metadata of `message` included), knows
//! its schedule (off), `web` serves the job in the JSON API and on the jobs page, and its
//! `daemon` runs a launched `hello_job` in a worker process of the same binary. Real processes
//! on a SQLite store in a temporary ORCH_HOME; the web server on 127.0.0.1:0.

// A failing unwrap is how a test reports a broken precondition.
#![allow(clippy::unwrap_used)]

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

const BIN: &str = env!("CARGO_BIN_EXE_custom-pipelines");

/// The binary with a clean environment: PATH and its own ORCH_HOME.
fn command(home: &Path, args: &[&str]) -> Command {
    let mut command = Command::new(BIN);
    command
        .args(args)
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("ORCH_HOME", home);
    command
}

#[track_caller]
fn succeed(home: &Path, args: &[&str]) -> Output {
    let out = command(home, args)
        .output()
        .expect("custom-pipelines starts");
    assert!(
        out.status.success(),
        "custom-pipelines {args:?}: {:?}\n--- stdout\n{}--- stderr\n{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

#[track_caller]
fn json(out: &Output) -> Value {
    serde_json::from_slice(&out.stdout).expect("stdout is JSON")
}

fn events<'a>(run: &'a Value, kind: &str) -> Vec<&'a Value> {
    run["events"]
        .as_array()
        .expect("events")
        .iter()
        .filter(|e| e["type"] == kind)
        .collect()
}

#[test]
fn hello_job_is_listed_and_runs_with_its_materializations() {
    let home = tempfile::tempdir().unwrap();

    let jobs = json(&succeed(home.path(), &["jobs", "list", "--json"]));
    let names: Vec<&str> = jobs
        .as_array()
        .expect("an array of jobs")
        .iter()
        .map(|j| j["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["hello_job"], "only the crate's own job: {jobs}");
    let keys: Vec<&str> = jobs[0]["assets"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["key"].as_str().unwrap())
        .collect();
    assert_eq!(keys, ["greeting", "message"]);

    let out = succeed(home.path(), &["run", "hello_job", "--config", "name=orch"]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    let run_id = stdout
        .lines()
        .find_map(|l| l.strip_prefix("run ")?.split_once(" of ").map(|(id, _)| id))
        .unwrap_or_else(|| panic!("no 'run <id> of hello_job' line:\n{stdout}"))
        .to_owned();
    assert!(
        stdout.contains(&format!("run {run_id} SUCCESS")),
        "{stdout}"
    );

    let run = json(&succeed(home.path(), &["runs", "show", &run_id, "--json"]));
    assert_eq!(run["status"], "SUCCESS", "{run:#}");
    let materialized: Vec<&str> = events(&run, "ASSET_MATERIALIZATION")
        .iter()
        .map(|e| e["asset_key"].as_str().unwrap())
        .collect();
    assert_eq!(materialized, ["greeting", "message"], "{run:#}");
    let message = events(&run, "ASSET_MATERIALIZATION")[1];
    assert_eq!(
        message["metadata"]["length"],
        "Hello, orch!".len(),
        "{run:#}"
    );

    let schedules = json(&succeed(home.path(), &["schedules", "list", "--json"]));
    assert!(
        schedules.to_string().contains("hello_schedule"),
        "{schedules}"
    );
    let help = String::from_utf8_lossy(&succeed(home.path(), &["--help"]).stdout).into_owned();
    assert!(help.contains("Usage: custom-pipelines"), "{help}");
    assert!(!help.contains("products"), "no seed commands: {help}");
}

/// A long-running subcommand (`web`, `daemon`) with its stderr in a file; killed when dropped.
struct Web {
    child: Child,
    log: tempfile::NamedTempFile,
}

impl Drop for Web {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Web {
    fn start(home: &Path) -> Self {
        Self::spawn(home, &["web"])
    }

    fn spawn(home: &Path, args: &[&str]) -> Self {
        let log = tempfile::NamedTempFile::new().unwrap();
        let child = command(home, args)
            .env("ORCH_WEB_ADDR", "127.0.0.1:0")
            .stdout(Stdio::null())
            .stderr(log.reopen().unwrap())
            .spawn()
            .expect("custom-pipelines starts");
        Self { child, log }
    }

    /// The address the server printed once it listens.
    fn address(&mut self) -> String {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let log = std::fs::read_to_string(self.log.path()).unwrap_or_default();
            if let Some(rest) = log.split("listening on http://").nth(1) {
                return rest
                    .split_whitespace()
                    .next()
                    .unwrap_or_default()
                    .to_owned();
            }
            if let Some(status) = self.child.try_wait().unwrap() {
                panic!("custom-pipelines web exited {status}:\n{log}");
            }
            assert!(Instant::now() < deadline, "web never listened:\n{log}");
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

/// GET `path` over HTTP/1.1: the status line and the body.
fn get(address: &str, path: &str) -> (String, String) {
    let mut stream = TcpStream::connect(address).unwrap();
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: {address}\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut reply = String::new();
    stream.read_to_string(&mut reply).unwrap();
    let (head, body) = reply.split_once("\r\n\r\n").unwrap_or((&reply, ""));
    (
        head.lines().next().unwrap_or_default().to_owned(),
        body.to_owned(),
    )
}

#[test]
fn web_serves_hello_job_in_the_api_and_on_the_jobs_page() {
    let home = tempfile::tempdir().unwrap();
    let mut web = Web::start(home.path());
    let address = web.address();

    let (status, body) = get(&address, "/api/v1/jobs");
    assert!(status.contains(" 200 "), "{status}\n{body}");
    assert!(body.contains("\"name\":\"hello_job\""), "{body}");
    assert!(body.contains("\"greeting\""), "{body}");

    let (status, page) = get(&address, "/jobs");
    assert!(status.contains(" 200 "), "{status}\n{page}");
    assert!(page.contains("hello_job"), "{page}");

    let (status, _) = get(&address, "/api/v1/products");
    assert!(status.contains(" 404 "), "no seed routes here: {status}");
}

#[test]
fn the_daemon_runs_a_launched_hello_job_in_a_worker_of_the_same_binary() {
    let home = tempfile::tempdir().unwrap();
    succeed(home.path(), &["migrate"]);
    let _daemon = Web::spawn(home.path(), &["daemon"]);

    let out = succeed(
        home.path(),
        &["launch", "hello_job", "--config", "name=daemon", "--wait"],
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    let run_id = stdout
        .lines()
        .find_map(|l| l.strip_prefix("run ")?.strip_suffix(" SUCCESS"))
        .unwrap_or_else(|| panic!("no 'run <id> SUCCESS' line:\n{stdout}"))
        .to_owned();

    let run = json(&succeed(home.path(), &["runs", "show", &run_id, "--json"]));
    let materialized: Vec<&str> = events(&run, "ASSET_MATERIALIZATION")
        .iter()
        .map(|e| e["asset_key"].as_str().unwrap())
        .collect();
    assert_eq!(materialized, ["greeting", "message"], "{run:#}");
    // The local launcher started `custom-pipelines worker --run-id <id>`, whose output it keeps.
    let log = home.path().join("logs").join(format!("{run_id}.log"));
    assert!(log.exists(), "no worker log at {}", log.display());
}
