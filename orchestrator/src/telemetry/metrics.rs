//! The Prometheus metrics of orch, recorded through the `metrics` facade: one function per
//! measurement, names and labels defined here only. [`install`] puts the Prometheus recorder in
//! place (once per process) and returns the handle that renders the text format for `/metrics`;
//! before that, every function here is a no-op.
//!
//! Who records what: the daemon's coordinator the launch latency, its scheduler the tick
//! lateness, its run observer (`daemon::observer`) the ended runs and their step durations;
//! whoever serves `/metrics` refreshes the store gauges (queue depth, runs in progress, pool)
//! at scrape time through [`refresh_store_gauges`]. Other crates add their own counters with
//! the `metrics` macros (e.g. `orch_alert_deliveries_total{outcome}`); the recorder shows them.

use std::sync::OnceLock;
use std::time::Duration;

use ::metrics::{
    Unit, counter, describe_counter, describe_gauge, describe_histogram, gauge, histogram,
};
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};

use super::steps::StepDuration;
use crate::domain::{JobName, RunStatus};
use crate::storage::{PoolStats, RunStorage, StorageError};

/// Metric names, as Prometheus shows them. Dashboards and the Helm chart's alerts use these.
pub mod names {
    pub const RUNS_TOTAL: &str = "orch_runs_total";
    pub const RUNS_IN_PROGRESS: &str = "orch_runs_in_progress";
    pub const QUEUE_DEPTH: &str = "orch_queue_depth";
    pub const LAUNCH_LATENCY: &str = "orch_launch_latency_seconds";
    pub const STEP_DURATION: &str = "orch_step_duration_seconds";
    pub const TICK_LATENESS: &str = "orch_schedule_tick_lateness_seconds";
    pub const DB_POOL_CONNECTIONS: &str = "orch_db_pool_connections";
    pub const DB_POOL_MAX: &str = "orch_db_pool_max_connections";
    pub const BUILD_INFO: &str = "orch_build_info";
}

/// The statuses of runs holding a slot of the queue.
const IN_PROGRESS: [RunStatus; 3] = [
    RunStatus::Starting,
    RunStatus::Started,
    RunStatus::Canceling,
];

const LAUNCH_BUCKETS: &[f64] = &[
    0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0,
];
const STEP_BUCKETS: &[f64] = &[
    0.01, 0.05, 0.1, 0.5, 1.0, 5.0, 10.0, 30.0, 60.0, 300.0, 900.0, 1800.0, 3600.0,
];
const TICK_BUCKETS: &[f64] = &[0.01, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0];

/// The process's Prometheus recorder, for `/metrics`. Cheap to clone.
#[derive(Clone)]
pub struct MetricsHandle(PrometheusHandle);

impl std::fmt::Debug for MetricsHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("MetricsHandle")
    }
}

impl MetricsHandle {
    /// Everything recorded so far, in the Prometheus text format (0.0.4).
    pub fn render(&self) -> String {
        // Upkeep at scrape time is enough: it bounds the histograms' memory between scrapes.
        self.0.run_upkeep();
        self.0.render()
    }
}

/// Why the recorder could not be installed.
#[derive(Debug, thiserror::Error)]
#[error("cannot install the Prometheus recorder: {0}")]
pub struct MetricsError(String);

/// Installs the Prometheus recorder for this process (the first call does; later calls return
/// the same handle) and records `orch_build_info`.
pub fn install() -> Result<MetricsHandle, MetricsError> {
    static HANDLE: OnceLock<Result<PrometheusHandle, String>> = OnceLock::new();
    HANDLE
        .get_or_init(|| {
            let handle = builder()
                .map_err(|e| e.to_string())?
                .install_recorder()
                .map_err(|e| e.to_string())?;
            describe();
            gauge!(names::BUILD_INFO, "version" => env!("CARGO_PKG_VERSION")).set(1.0);
            Ok(handle)
        })
        .clone()
        .map(MetricsHandle)
        .map_err(MetricsError)
}

fn builder() -> Result<PrometheusBuilder, metrics_exporter_prometheus::BuildError> {
    let full = |name: &str| Matcher::Full(name.to_owned());
    PrometheusBuilder::new()
        .set_buckets_for_metric(full(names::LAUNCH_LATENCY), LAUNCH_BUCKETS)?
        .set_buckets_for_metric(full(names::STEP_DURATION), STEP_BUCKETS)?
        .set_buckets_for_metric(full(names::TICK_LATENESS), TICK_BUCKETS)
}

fn describe() {
    describe_counter!(
        names::RUNS_TOTAL,
        "Runs seen ending, by job and terminal status (every daemon replica counts every run)."
    );
    describe_gauge!(
        names::RUNS_IN_PROGRESS,
        "Runs STARTING, STARTED or CANCELING, by status, at the last scrape."
    );
    describe_gauge!(names::QUEUE_DEPTH, "Runs QUEUED, at the last scrape.");
    describe_histogram!(
        names::LAUNCH_LATENCY,
        Unit::Seconds,
        "From a run's creation (QUEUED) to its worker's launch, by job."
    );
    describe_histogram!(
        names::STEP_DURATION,
        Unit::Seconds,
        "From a step's first start to its success or failure, by job, step and outcome."
    );
    describe_histogram!(
        names::TICK_LATENESS,
        Unit::Seconds,
        "From a schedule tick's time to the creation of its run, by schedule."
    );
    describe_gauge!(
        names::DB_POOL_CONNECTIONS,
        "Database connections of this process, by state (idle, in_use)."
    );
    describe_gauge!(
        names::DB_POOL_MAX,
        "The most database connections this process opens."
    );
    describe_gauge!(names::BUILD_INFO, "Always 1; the version is a label.");
}

/// A run was seen ending in `status`.
pub fn run_ended(job: &JobName, status: RunStatus) {
    counter!(names::RUNS_TOTAL, "job" => job.as_str().to_owned(), "status" => status.as_str())
        .increment(1);
}

/// A run's worker was launched `queued_for` after the run was created.
pub fn run_launched(job: &JobName, queued_for: Duration) {
    histogram!(names::LAUNCH_LATENCY, "job" => job.as_str().to_owned())
        .record(queued_for.as_secs_f64());
}

/// A step of a run of `job` ended.
pub fn step_ended(job: &JobName, step: &StepDuration) {
    histogram!(
        names::STEP_DURATION,
        "job" => job.as_str().to_owned(),
        "step" => step.step.as_str().to_owned(),
        "outcome" => step.outcome.as_str()
    )
    .record(step.duration.as_secs_f64());
}

/// A schedule tick created its run `lateness` after the tick's time.
pub fn tick_launched(schedule: &str, lateness: Duration) {
    histogram!(names::TICK_LATENESS, "schedule" => schedule.to_owned())
        .record(lateness.as_secs_f64());
}

/// The number of unfinished runs by status, as `QueueStorage::count_unfinished` returns them.
pub fn unfinished_runs(counts: &[(RunStatus, u64)]) {
    let count = |status: RunStatus| {
        counts
            .iter()
            .find(|(s, _)| *s == status)
            .map_or(0, |(_, n)| *n)
    };
    gauge!(names::QUEUE_DEPTH).set(count(RunStatus::Queued) as f64);
    for status in IN_PROGRESS {
        gauge!(names::RUNS_IN_PROGRESS, "status" => status.as_str()).set(count(status) as f64);
    }
}

/// The connection pool's usage.
pub fn db_pool(stats: PoolStats) {
    gauge!(names::DB_POOL_CONNECTIONS, "state" => "idle").set(f64::from(stats.idle));
    gauge!(names::DB_POOL_CONNECTIONS, "state" => "in_use")
        .set(f64::from(stats.size.saturating_sub(stats.idle)));
    gauge!(names::DB_POOL_MAX).set(f64::from(stats.max));
}

/// Reads the gauges that describe the store (queue depth, runs in progress, pool usage): what
/// `/metrics` calls before rendering, so they are exact at scrape time. One grouped count.
pub async fn refresh_store_gauges(store: &dyn RunStorage) -> Result<(), StorageError> {
    db_pool(store.pool_stats());
    unfinished_runs(&store.count_unfinished().await?);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `cargo test` runs a test binary's tests in one process: every test that builds a server
    /// installs the recorder, so a second install must hand back the first recorder, not fail.
    #[test]
    fn installing_twice_in_one_process_returns_the_same_recorder() {
        let first = install().expect("first install");
        let second = install().expect("second install in the same process");
        counter!("orch_test_install_twice_total").increment(1);
        for handle in [first, second] {
            let text = handle.render();
            assert!(text.contains(names::BUILD_INFO), "{text}");
            assert!(text.contains("orch_test_install_twice_total 1"), "{text}");
        }
    }
}
