//! Running the `orch` binary and reading `orch runs show --json`.

use super::*;

// ---------------------------------------------------------------------------------------------
// The orch binary

/// What one `orch` invocation did.
#[derive(Debug)]
pub struct Output {
    pub args: Vec<String>,
    pub code: Option<i32>,
    pub stdout: String,
    pub stderr: String,
}

impl Output {
    /// Asserts the exit code, and that nothing panicked, printing everything on failure.
    #[track_caller]
    pub fn assert_exit(&self, code: i32) -> &Self {
        assert_eq!(
            self.code,
            Some(code),
            "orch {:?}: wrong exit code\n{self}",
            self.args
        );
        self.assert_no_panic();
        self
    }

    #[track_caller]
    pub fn assert_no_panic(&self) {
        assert!(
            !self.stderr.contains("panicked") && !self.stdout.contains("panicked"),
            "orch {:?} panicked\n{self}",
            self.args
        );
    }

    /// Asserts that stdout or stderr contains each of `needles`.
    #[track_caller]
    pub fn assert_says(&self, needles: &[&str]) -> &Self {
        for needle in needles {
            assert!(
                self.stdout.contains(needle) || self.stderr.contains(needle),
                "orch {:?}: expected {needle:?} in its output\n{self}",
                self.args
            );
        }
        self
    }

    /// The run id from the `run <id> of <job>` line of `orch run`.
    #[track_caller]
    pub fn run_id(&self) -> String {
        self.stdout
            .lines()
            .find_map(|l| l.strip_prefix("run ")?.split_once(" of ").map(|(id, _)| id))
            .unwrap_or_else(|| panic!("no 'run <id> of <job>' line\n{self}"))
            .to_owned()
    }

    /// Stdout as JSON.
    #[track_caller]
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.stdout)
            .unwrap_or_else(|e| panic!("orch {:?}: stdout is not JSON: {e}\n{self}", self.args))
    }
}

impl std::fmt::Display for Output {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "--- exit {:?}\n--- stdout\n{}--- stderr\n{}---",
            self.code, self.stdout, self.stderr
        )
    }
}

/// The binary under test: `ORCH_E2E_BIN` when set, else the one cargo built. Worktrees that
/// share a CARGO_TARGET_DIR all build into the same `debug/orch`, so a build elsewhere can swap
/// the binary under a running suite; a copy named by `ORCH_E2E_BIN` is immune to that.
pub fn orch_bin() -> PathBuf {
    std::env::var_os("ORCH_E2E_BIN")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_BIN_EXE_orch")))
}

/// The `orch` binary with a clean environment: PATH, its own ORCH_HOME (a temporary directory)
/// and only the variables a test gives.
#[derive(Debug)]
pub struct Orch {
    home: TempDir,
    env: Vec<(String, String)>,
}

impl Orch {
    /// The embedded default: SQLite and objects under ORCH_HOME.
    pub fn local() -> Self {
        Self {
            home: tempfile::tempdir().expect("ORCH_HOME tempdir"),
            env: Vec::new(),
        }
    }

    pub fn env(mut self, key: &str, value: impl Into<String>) -> Self {
        self.env.push((key.to_owned(), value.into()));
        self
    }

    /// Runs in the given PostgreSQL database.
    pub fn on_postgres(self, db: &TestDb) -> Self {
        self.env("DATABASE_URL", db.url.clone())
    }

    /// Writes objects to `bucket` on the S3 API at `endpoint` with the given keys.
    pub fn on_s3(self, endpoint: &str, bucket: &str, key_id: &str, secret: &str) -> Self {
        self.env("S3_BUCKET_NAME", bucket)
            .env("AWS_ENDPOINT_URL", endpoint)
            .env("AWS_REGION", region())
            .env("AWS_ACCESS_KEY_ID", key_id)
            .env("AWS_SECRET_ACCESS_KEY", secret)
            .env("AWS_EC2_METADATA_DISABLED", "true")
    }

    /// Writes objects to the test bucket on the shared moto server.
    pub fn on_bucket(self, bucket: &TestBucket) -> Self {
        self.on_s3(
            &bucket.endpoint,
            &bucket.name,
            &required_env("AWS_ACCESS_KEY_ID"),
            &required_env("AWS_SECRET_ACCESS_KEY"),
        )
    }

    pub fn home(&self) -> &Path {
        self.home.path()
    }

    fn command(&self, args: &[&str]) -> tokio::process::Command {
        let mut cmd = tokio::process::Command::new(orch_bin());
        cmd.args(args)
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("ORCH_HOME", self.home.path())
            .envs(self.env.iter().map(|(k, v)| (k, v)))
            .current_dir(self.home.path())
            .stdin(Stdio::null())
            .kill_on_drop(true);
        cmd
    }

    pub async fn run(&self, args: &[&str]) -> Output {
        let out = tokio::time::timeout(ORCH_DEADLINE, self.command(args).output())
            .await
            .unwrap_or_else(|_| panic!("orch {args:?} did not end within {ORCH_DEADLINE:?}"))
            .expect("start the orch binary");
        Output {
            args: args.iter().map(|a| a.to_string()).collect(),
            code: out.status.code(),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        }
    }

    /// Starts `orch` without waiting for it (to signal it, or to act while it runs); its
    /// output is collected by [`Running::wait`].
    pub fn start(&self, args: &[&str]) -> Running {
        let child = self
            .command(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start the orch binary");
        Running {
            args: args.iter().map(|a| a.to_string()).collect(),
            child,
        }
    }

    /// The store this `orch` uses (DATABASE_URL, else SQLite under ORCH_HOME), opened by the
    /// test itself, migrations applied: how a test creates runs as the daemon would.
    pub async fn store(&self) -> Arc<dyn RunStorage> {
        let url = self
            .env
            .iter()
            .rev()
            .find(|(k, _)| k == "DATABASE_URL")
            .map(|(_, v)| v.clone())
            .unwrap_or_else(|| format!("sqlite://{}", self.home.path().join("orch.db").display()));
        let options = StoreOptions {
            max_connections: 2,
            migrate: true,
        };
        orchestrator::storage::connect(&url, &options)
            .await
            .unwrap_or_else(|e| panic!("open the store at {url}: {e}"))
    }

    /// Starts a long-running `orch` (e.g. `daemon`) in the background; its stdout and stderr go
    /// to `<ORCH_HOME>/<log_name>`. The process is killed when the returned child is dropped.
    pub fn spawn(&self, args: &[&str], log_name: &str) -> tokio::process::Child {
        let log = std::fs::File::create(self.home.path().join(log_name)).expect("create log");
        let err = log.try_clone().expect("clone log");
        self.command(args)
            .stdout(log)
            .stderr(err)
            .spawn()
            .expect("start the orch binary")
    }

    /// What a spawned process wrote to `<ORCH_HOME>/<log_name>`.
    pub fn log(&self, log_name: &str) -> String {
        std::fs::read_to_string(self.home.path().join(log_name)).unwrap_or_default()
    }

    /// `orch runs show <id> --json`, which must succeed.
    pub async fn show(&self, run_id: &str) -> Value {
        self.run(&["runs", "show", run_id, "--json"])
            .await
            .assert_exit(0)
            .json()
    }

    /// `orch runs list --json` with extra arguments; the ids, newest first.
    pub async fn list_ids(&self, args: &[&str]) -> Vec<String> {
        let mut all = vec!["runs", "list", "--json"];
        all.extend_from_slice(args);
        let runs = self.run(&all).await.assert_exit(0).json();
        runs.as_array()
            .unwrap_or_else(|| panic!("runs list is not an array: {runs}"))
            .iter()
            .map(|r| r["id"].as_str().expect("run id").to_owned())
            .collect()
    }
}

/// The `host:port` a spawned `orch` printed right after `marker` (e.g. `listening on http://`)
/// in `<ORCH_HOME>/<log_name>`, once it has printed it.
pub async fn served_at(orch: &Orch, log_name: &str, marker: &str) -> String {
    eventually(
        &format!("{marker} in {log_name}"),
        Duration::from_secs(30),
        || async { orch.log(log_name).contains(marker) },
    )
    .await;
    let log = orch.log(log_name);
    let rest = log.split(marker).nth(1).unwrap_or_default();
    rest.split_whitespace()
        .next()
        .unwrap_or_default()
        .to_owned()
}

/// An `orch` process started by [`Orch::spawn`]; killed if dropped.
#[derive(Debug)]
pub struct Running {
    args: Vec<String>,
    child: tokio::process::Child,
}

impl Running {
    /// Sends `signal` (e.g. `TERM`) to the process with the `kill` command.
    pub fn signal(&self, signal: &str) {
        let pid = self.child.id().expect("the orch process is running");
        let status = std::process::Command::new("kill")
            .args([&format!("-{signal}"), &pid.to_string()])
            .status()
            .expect("run kill");
        assert!(status.success(), "kill -{signal} {pid}: {status}");
    }

    /// Waits for the process to end, at most `deadline`.
    pub async fn wait(self, deadline: Duration) -> Output {
        let args = self.args;
        let out = tokio::time::timeout(deadline, self.child.wait_with_output())
            .await
            .unwrap_or_else(|_| panic!("orch {args:?} did not end within {deadline:?}"))
            .expect("wait for orch");
        Output {
            args,
            code: out.status.code(),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        }
    }
}

/// Polls `check` every 20 ms until it holds; fails the test after the deadline
/// (test-support's one polling wait).
pub use orch_test_support::wait::until as eventually;

// ---------------------------------------------------------------------------------------------
// Runs as `orch runs show --json` prints them

/// The events of a shown run.
pub fn events(run: &Value) -> &[Value] {
    run["events"].as_array().expect("the run has events")
}

/// Events of `kind`, optionally only those of `step`.
pub fn events_of<'a>(run: &'a Value, kind: &str, step: Option<&str>) -> Vec<&'a Value> {
    events(run)
        .iter()
        .filter(|e| e["type"] == kind && step.is_none_or(|s| e["step"] == s))
        .collect()
}

/// The steps of the events of `kind`, in event order.
pub fn steps_with(run: &Value, kind: &str) -> Vec<String> {
    events_of(run, kind, None)
        .iter()
        .map(|e| e["step"].as_str().unwrap_or("<run>").to_owned())
        .collect()
}

/// Asserts event ids grow in the order the events are listed.
#[track_caller]
pub fn assert_events_in_order(run: &Value) {
    let ids: Vec<i64> = events(run)
        .iter()
        .map(|e| e["id"].as_i64().expect("event id"))
        .collect();
    assert!(ids.windows(2).all(|w| w[0] < w[1]), "event ids {ids:?}");
}

/// Asserts the shape of a failed run: FAILURE, one STEP_FAILURE on `failed_step` whose error
/// contains `needles`, the same error in the RUN_FAILURE message, and every later step skipped.
#[track_caller]
pub fn assert_failed_at(run: &Value, failed_step: &str, needles: &[&str]) {
    assert_eq!(run["status"], "FAILURE", "{run:#}");
    let failures = events_of(run, "STEP_FAILURE", None);
    assert_eq!(failures.len(), 1, "one STEP_FAILURE: {run:#}");
    assert_eq!(failures[0]["step"], failed_step);
    let step_error = failures[0]["error"].as_str().expect("step error");
    let run_failures = events_of(run, "RUN_FAILURE", None);
    assert_eq!(run_failures.len(), 1, "one RUN_FAILURE: {run:#}");
    let message = run_failures[0]["message"]
        .as_str()
        .expect("RUN_FAILURE has a message");
    for needle in needles {
        assert!(step_error.contains(needle), "{needle:?} in {step_error:?}");
        assert!(message.contains(needle), "{needle:?} in {message:?}");
    }
    let position = STEPS
        .iter()
        .position(|s| *s == failed_step)
        .expect("a step of the job");
    let downstream: Vec<String> = STEPS[position + 1..]
        .iter()
        .map(|s| s.to_string())
        .collect();
    assert_eq!(steps_with(run, "STEP_SKIPPED"), downstream, "{run:#}");
    assert_eq!(
        steps_with(run, "STEP_SUCCESS"),
        STEPS[..position]
            .iter()
            .map(|s| s.to_string())
            .collect::<Vec<_>>(),
        "{run:#}"
    );
    assert_eq!(
        events(run).last().map(|e| &e["type"]),
        Some(&Value::from("RUN_FAILURE")),
        "RUN_FAILURE is the last event"
    );
}
