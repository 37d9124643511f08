//! One trace per run, from the daemon's claim to the worker's steps, exported over OTLP/HTTP to
//! a receiver on loopback; the worker's JSON log lines carry the run id and the step.

use std::collections::{HashMap, HashSet};
use std::time::{Duration, Instant};

use orchestrator::domain::RunStatus;
use serde_json::Value;

use crate::otlp::{OtlpReceiver, ReceivedSpan};
use crate::support::*;
use crate::{ended, queue};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_run_is_one_trace_from_the_daemons_claim_to_the_workers_steps() {
    init();
    let db = TestDb::create().await;
    let bucket = TestBucket::create().await;
    let upstream = Upstream::start().await;
    let receiver = OtlpReceiver::start().await;
    let orch = Orch::local()
        .on_postgres(&db)
        .on_bucket(&bucket)
        .env("OTEL_EXPORTER_OTLP_ENDPOINT", receiver.endpoint())
        .env("ORCH_LOG", "info")
        .env("ORCH_LOG_FORMAT", "json");
    let store = orch.store().await;
    let daemon = orch.start(&["daemon"]);
    let id = queue(&store, &upstream.url(Route::Posts)).await;
    let run = ended(&store, id, Duration::from_secs(60)).await;
    // SIGTERM: the daemon stops and flushes its spans (the worker flushed when it exited).
    daemon.signal("TERM");
    let daemon_out = daemon.wait(Duration::from_secs(30)).await;
    assert_eq!(run.status, RunStatus::Success, "{daemon_out}");

    let wanted = [
        "orch.run",
        "queue",
        "launch",
        "worker",
        "run",
        "step",
        "http.fetch",
        "s3.put",
    ];
    let deadline = Instant::now() + Duration::from_secs(10);
    let spans = loop {
        let spans = receiver.spans();
        let names: HashSet<&str> = spans.iter().map(|s| s.name.as_str()).collect();
        if wanted.iter().all(|w| names.contains(w)) {
            break spans;
        }
        assert!(
            Instant::now() < deadline,
            "missing spans; received {names:?}\n{daemon_out}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    let one = |name: &str| -> &ReceivedSpan {
        let found: Vec<&ReceivedSpan> = spans.iter().filter(|s| s.name == name).collect();
        assert_eq!(found.len(), 1, "{name}: {found:?}");
        found[0]
    };
    let (root, queue_span, launch) = (one("orch.run"), one("queue"), one("launch"));
    let (worker, execution) = (one("worker"), one("run"));
    // Daemon side: the root and its queue and launch spans, with the run id.
    for span in [root, queue_span, launch, worker, execution] {
        assert_eq!(
            span.attributes.get("run_id"),
            Some(&id.to_string()),
            "{span:?}"
        );
        assert_eq!(span.service, "orch");
    }
    assert_eq!(root.parent_span_id, "", "the run's root span has no parent");
    assert_eq!(queue_span.parent_span_id, root.span_id);
    assert_eq!(launch.parent_span_id, root.span_id);
    // Worker side (another process): continued from TRACEPARENT, under the launch span.
    assert_eq!(worker.trace_id, root.trace_id);
    assert_eq!(worker.parent_span_id, launch.span_id);
    assert_eq!(execution.parent_span_id, worker.span_id);
    let in_trace: Vec<&ReceivedSpan> = spans
        .iter()
        .filter(|s| s.trace_id == root.trace_id)
        .collect();
    let steps: HashSet<&str> = in_trace
        .iter()
        .filter(|s| s.name == "step")
        .map(|s| {
            assert_eq!(s.attributes.get("run_id"), Some(&id.to_string()));
            s.attributes["step"].as_str()
        })
        .collect();
    assert_eq!(steps, STEPS.into_iter().collect::<HashSet<_>>());
    let by_id: HashMap<&str, &ReceivedSpan> =
        in_trace.iter().map(|s| (s.span_id.as_str(), *s)).collect();
    for (child, step) in [("http.fetch", "fetch_data"), ("s3.put", "store_to_s3")] {
        let span = in_trace
            .iter()
            .find(|s| s.name == child)
            .unwrap_or_else(|| panic!("{child} is not in the run's trace"));
        let parent = by_id[span.parent_span_id.as_str()];
        assert_eq!(parent.name, "step", "{child}'s parent: {parent:?}");
        assert_eq!(parent.attributes["step"], step);
    }
    // Stored with the run, for whoever continues the trace without the environment.
    let stored = store.trace_parent(id).await.unwrap().unwrap();
    assert_eq!(
        stored,
        format!("00-{}-{}-01", root.trace_id, launch.span_id)
    );

    // The worker's JSON log: every line inside the run names it, and inside a step the step.
    let log = std::fs::read_to_string(orch.home().join("logs").join(format!("{id}.log"))).unwrap();
    let lines: Vec<Value> = log
        .lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect();
    let succeeded: Vec<&Value> = lines
        .iter()
        .filter(|l| l["fields"]["message"] == "step succeeded")
        .collect();
    assert_eq!(succeeded.len(), 3, "{log}");
    let mut logged_steps = HashSet::new();
    for line in &succeeded {
        assert_eq!(line["span"]["run_id"], id.to_string(), "{line}");
        logged_steps.insert(line["span"]["step"].as_str().unwrap().to_owned());
    }
    assert_eq!(logged_steps.len(), 3);
    let run_lines: Vec<&Value> = lines
        .iter()
        .filter(|l| {
            l["fields"]["message"] == "run started" || l["fields"]["message"] == "run ended"
        })
        .collect();
    assert_eq!(run_lines.len(), 2, "{log}");
    for line in run_lines {
        assert_eq!(line["span"]["run_id"], id.to_string(), "{line}");
    }

    bucket.delete().await;
    db.drop_database().await;
}
