//! Fixtures of the end-to-end suite: a fixture upstream HTTP server (axum, in this process), the
//! `orch` binary run with a clean environment and its own ORCH_HOME, a fresh PostgreSQL database
//! per test, unique S3 buckets on the shared moto server, a private moto server that checks
//! credentials, and readers for what `orch` prints and stores.
//!
//! The services come from `eval "$(scripts/test-services.sh)"` (DATABASE_URL,
//! ORCH_TEST_S3_ENDPOINT, ORCH_TEST_MOTO_SERVER, AWS_*); a test that needs a missing one fails
//! and says so.

mod openweather;
mod orch;
mod storage;
mod upstream;

// The daemon suite shares this module and uses no weather fixture.
#[allow(unused_imports)]
pub use openweather::*;
pub use orch::*;
pub use storage::*;
pub use upstream::*;

use std::collections::HashMap;
use std::net::{SocketAddr, TcpListener as StdTcpListener};
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use chrono::{DateTime, NaiveDateTime, Utc};
use orchestrator::storage::{RunStorage, StoreOptions};
use serde_json::Value;
use tempfile::TempDir;
use worker::object_store::{S3Settings, S3Store};

/// The posts the fixture upstream serves: the repository's sample, byte for byte.
pub const POSTS_JSON: &str = include_str!(concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../pipelines/samples/posts.json"
));

/// The sample posts as a `file://` URL for `source_url`: runs of the job that need no upstream
/// and take well under a second (the daemon, telemetry and chaos suites).
pub fn file_source() -> String {
    format!(
        "file://{}/../pipelines/samples/posts.json",
        env!("CARGO_MANIFEST_DIR")
    )
}

/// The job under test.
pub const JOB: &str = "product_pipeline_job";

/// Its steps, in dependency order.
pub const STEPS: [&str; 3] = ["fetch_data", "process_data", "store_to_s3"];

/// How long the slow route sleeps before answering; tests pass a much shorter timeout.
pub const SLOW_DELAY: Duration = Duration::from_secs(5);

/// The longest one `orch` invocation may take before the test gives up on it.
const ORCH_DEADLINE: Duration = Duration::from_secs(90);

/// Whether process `pid` lives (and is not a zombie).
pub fn alive(pid: i32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat")).is_ok_and(|stat| {
        !stat
            .rsplit_once(')')
            .is_some_and(|(_, rest)| rest.trim_start().starts_with('Z'))
    })
}

/// One crypto provider for the test process (ring), as `orch` itself installs at start-up.
pub fn init() {
    orch_test_support::services::init_crypto();
}

/// The sample posts, parsed (key order kept: serde_json's `preserve_order` is on).
pub fn sample_posts() -> Vec<Value> {
    serde_json::from_str(POSTS_JSON).expect("pipelines/samples/posts.json is a JSON array")
}

pub use orch_test_support::services::required_env;
