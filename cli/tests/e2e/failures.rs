//! Bad inputs: each ends with a clear message and the right exit code, never a panic; runtime
//! failures are recorded as FAILURE runs with the error and the downstream steps skipped.

use chrono::DateTime;
use serde_json::Value;

use crate::support::{
    AuthMoto, JOB, Orch, Output, Route, SLOW_DELAY, TestBucket, Upstream, assert_failed_at,
    events_of, init, unique_bucket_name,
};

/// Runs the job, expects exit 1, and returns the output with the run as `orch runs show` gives it.
async fn failed_run(orch: &Orch, config: &[String]) -> (Output, Value) {
    let mut args = vec!["run", JOB];
    for c in config {
        args.extend(["--config", c.as_str()]);
    }
    let out = orch.run(&args).await;
    out.assert_exit(1);
    let run_id = out.run_id();
    out.assert_says(&[&format!("run {run_id} FAILURE")]);
    let run = orch.show(&run_id).await;
    (out, run)
}

fn source(upstream: &Upstream, route: Route) -> String {
    format!("source_url={}", upstream.url(route))
}

/// No object was written under ORCH_HOME.
#[track_caller]
fn assert_no_local_object(orch: &Orch) {
    let objects = orch.home().join("objects");
    let count = std::fs::read_dir(&objects).map_or(0, |d| d.count());
    assert_eq!(count, 0, "objects under {}", objects.display());
}

/// Asserts a usage error: exit 2, an `error:` line on stderr with `needles`, and no run stored.
async fn assert_usage_error(orch: &Orch, args: &[&str], needles: &[&str]) {
    let out = orch.run(args).await;
    out.assert_exit(2).assert_says(needles);
    assert!(out.stderr.starts_with("error: "), "{out}");
    for needle in needles {
        assert!(out.stderr.contains(needle), "{needle:?} on stderr\n{out}");
    }
    assert!(
        !out.stdout.lines().any(|l| l.starts_with("run ")),
        "no run started\n{out}"
    );
    assert_eq!(
        orch.list_ids(&[]).await,
        Vec::<String>::new(),
        "no run created"
    );
}

#[tokio::test]
async fn upstream_500_fails_the_run_after_three_attempts() {
    init();
    let upstream = Upstream::start().await;
    let orch = Orch::local();
    let url = upstream.url(Route::ServerError);

    let (out, run) = failed_run(&orch, &[source(&upstream, Route::ServerError)]).await;

    out.assert_says(&[&url, "500"]);
    assert_eq!(upstream.hits(Route::ServerError), 3);
    assert_failed_at(&run, "fetch_data", &[&url, "500", "attempt 3 of 3"]);
    let retries = events_of(&run, "STEP_UP_RETRY", Some("fetch_data"));
    assert_eq!(retries.len(), 2, "{run:#}");
    assert_eq!(events_of(&run, "STEP_FAILURE", None)[0]["attempt"], 3);
    assert_no_local_object(&orch);
}

#[tokio::test]
async fn non_json_upstream_fails_at_once_naming_the_url() {
    init();
    let upstream = Upstream::start().await;
    let orch = Orch::local();
    let url = upstream.url(Route::NotJson);

    let (out, run) = failed_run(&orch, &[source(&upstream, Route::NotJson)]).await;

    out.assert_says(&[&url, "did not return JSON"]);
    assert_eq!(upstream.hits(Route::NotJson), 1, "not retried");
    assert_failed_at(&run, "fetch_data", &[&url, "did not return JSON"]);
    assert!(events_of(&run, "STEP_UP_RETRY", None).is_empty());
    assert_no_local_object(&orch);
}

#[tokio::test]
async fn json_object_upstream_fails_at_once_asking_for_an_array() {
    init();
    let upstream = Upstream::start().await;
    let orch = Orch::local();
    let url = upstream.url(Route::Object);

    let (out, run) = failed_run(&orch, &[source(&upstream, Route::Object)]).await;

    out.assert_says(&[&url, "not an array"]);
    assert_eq!(upstream.hits(Route::Object), 1, "not retried");
    assert_failed_at(&run, "fetch_data", &[&url, "not an array", "an object"]);
    assert!(events_of(&run, "STEP_UP_RETRY", None).is_empty());
    assert_no_local_object(&orch);
}

#[tokio::test]
async fn slow_upstream_times_out_after_the_configured_timeout_on_each_attempt() {
    init();
    let upstream = Upstream::start().await;
    let orch = Orch::local();
    let url = upstream.url(Route::Slow);

    let (out, run) = failed_run(
        &orch,
        &[
            source(&upstream, Route::Slow),
            "timeout_seconds=0.5".to_owned(),
        ],
    )
    .await;

    out.assert_says(&[&url, "timed out after 0.5 s"]);
    assert_eq!(upstream.hits(Route::Slow), 3, "timeouts are retried");
    assert_failed_at(&run, "fetch_data", &[&url, "timed out after 0.5 s"]);
    assert_eq!(
        events_of(&run, "STEP_UP_RETRY", Some("fetch_data")).len(),
        2
    );
    // Each attempt gave up well before the upstream would have answered.
    let at = |e: &Value| {
        DateTime::parse_from_rfc3339(e["timestamp"].as_str().expect("timestamp"))
            .expect("an RFC 3339 timestamp")
    };
    let starts = events_of(&run, "STEP_START", Some("fetch_data"));
    let ends: Vec<&Value> = events_of(&run, "STEP_UP_RETRY", Some("fetch_data"))
        .into_iter()
        .chain(events_of(&run, "STEP_FAILURE", Some("fetch_data")))
        .collect();
    assert_eq!(starts.len(), 3);
    assert_eq!(ends.len(), 3);
    for (start, end) in starts.iter().zip(&ends) {
        let took = (at(end) - at(start))
            .to_std()
            .expect("ends after it starts");
        assert!(took < SLOW_DELAY / 2, "an attempt took {took:?}");
    }
    assert_no_local_object(&orch);
}

#[tokio::test]
async fn missing_bucket_fails_the_store_step_naming_the_bucket() {
    init();
    let upstream = Upstream::start().await;
    let bucket = TestBucket::missing().await;
    let orch = Orch::local().on_bucket(&bucket);

    let (out, run) = failed_run(&orch, &[source(&upstream, Route::Posts)]).await;

    out.assert_says(&[&bucket.name, "NoSuchBucket"]);
    assert_failed_at(&run, "store_to_s3", &[&bucket.name, "NoSuchBucket"]);
    assert!(
        events_of(&run, "STEP_UP_RETRY", None).is_empty(),
        "a missing bucket is not retried: {run:#}"
    );
    assert!(!bucket.exists().await, "the bucket was not created");
    assert_no_local_object(&orch);
}

#[tokio::test]
async fn unknown_s3_credentials_fail_the_store_step_with_invalid_access_key() {
    init();
    let upstream = Upstream::start().await;
    let moto = AuthMoto::start().await;
    let bucket = unique_bucket_name();
    let orch = Orch::local().on_s3(
        &moto.endpoint,
        &bucket,
        "AKIAORCHE2EUNKNOWN00",
        "not-a-known-secret",
    );

    let (out, run) = failed_run(&orch, &[source(&upstream, Route::Posts)]).await;

    out.assert_says(&["InvalidAccessKeyId", &bucket]);
    assert_failed_at(&run, "store_to_s3", &["InvalidAccessKeyId", &bucket]);
    assert!(
        events_of(&run, "STEP_UP_RETRY", None).is_empty(),
        "refused credentials are not retried: {run:#}"
    );
    assert!(
        !out.stdout.contains("not-a-known-secret") && !out.stderr.contains("not-a-known-secret")
    );
    assert_no_local_object(&orch);
    drop(moto);
}

#[tokio::test]
async fn unknown_job_exits_2_listing_the_known_jobs_without_creating_a_run() {
    init();
    let orch = Orch::local();
    assert_usage_error(
        &orch,
        &["run", "no_such_job"],
        &["unknown job 'no_such_job'", JOB],
    )
    .await;
}

#[tokio::test]
async fn malformed_config_argument_exits_2_without_creating_a_run() {
    init();
    let orch = Orch::local();
    assert_usage_error(
        &orch,
        &["run", JOB, "--config", "timeout_seconds"],
        &["--config 'timeout_seconds' is not KEY=VALUE"],
    )
    .await;
}

#[tokio::test]
async fn unknown_config_key_exits_2_naming_the_key_and_the_known_ones() {
    init();
    let orch = Orch::local();
    assert_usage_error(
        &orch,
        &["run", JOB, "--config", "colour=blue"],
        &["no config key 'colour'", "source_url", "timeout_seconds"],
    )
    .await;
}

#[tokio::test]
async fn config_value_of_the_wrong_type_exits_2_without_creating_a_run() {
    init();
    let orch = Orch::local();
    assert_usage_error(
        &orch,
        &["run", JOB, "--config", "timeout_seconds=soon"],
        &["'timeout_seconds' must be a number, not a string"],
    )
    .await;
}
