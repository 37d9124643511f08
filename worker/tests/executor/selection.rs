//! Launched selections: a run that selects some assets takes the unselected upstream outputs
//! from their latest materialization (not from a parent run), and fails clearly when there is
//! none.

use super::*;

fn counting(key: &str, upstream: &[&str], value: i64, calls: Arc<AtomicU32>) -> AssetDef {
    AssetDef::builder(key)
        .upstream(upstream)
        .compute(move |ctx| {
            let calls = calls.clone();
            async move {
                calls.fetch_add(1, Ordering::SeqCst);
                let up: i64 = ctx
                    .inputs
                    .keys()
                    .next()
                    .map_or(Ok(0), |k| ctx.input(k.as_str()))?;
                Ok(AssetOutput::new(json!(up + value)))
            }
        })
        .unwrap()
}

fn selected(keys: &[&str]) -> NewRun {
    let mut run = NewRun::in_process(
        orchestrator::domain::JobName::parse("j").unwrap(),
        json!({}),
        Tags::new(),
    );
    run.step_selection = Some(keys.iter().map(|k| AssetKey::parse(k).unwrap()).collect());
    run
}

#[tokio::test]
async fn a_selection_reads_unselected_upstream_from_the_latest_materialization() {
    let (a_calls, b_calls) = (Arc::new(AtomicU32::new(0)), Arc::new(AtomicU32::new(0)));
    let h = harness(vec![job(
        "j",
        vec![
            counting("a", &[], 1, a_calls.clone()),
            counting("b", &["a"], 10, b_calls.clone()),
        ],
    )])
    .await;
    let (status, _) = h.run("j").await;
    assert_eq!(status, RunStatus::Success);
    let first = h.store.list_runs(&Default::default()).await.unwrap()[0].id;

    let (status, events) = h.run_new(selected(&["b"])).await;
    assert_eq!(
        status,
        RunStatus::Success,
        "{}",
        run_failure_message(&events)
    );
    assert_eq!(a_calls.load(Ordering::SeqCst), 1, "a must not run again");
    assert_eq!(b_calls.load(Ordering::SeqCst), 2);
    let reused = events.iter().find_map(|e| match &e.kind {
        EventKind::StepOutputReused { from_run, .. } => Some(from_run.clone()),
        _ => None,
    });
    assert_eq!(reused, Some(first.to_string()));
    assert_eq!(types_of(&events, "a"), ["STEP_OUTPUT_REUSED"]);
}

#[tokio::test]
async fn a_selection_whose_upstream_was_never_materialized_fails_naming_it() {
    let calls = Arc::new(AtomicU32::new(0));
    let h = harness(vec![job(
        "j",
        vec![
            counting("a", &[], 1, calls.clone()),
            counting("b", &["a"], 10, calls.clone()),
        ],
    )])
    .await;
    let (status, events) = h.run_new(selected(&["b"])).await;
    assert_eq!(status, RunStatus::Failure);
    assert!(
        run_failure_message(&events)
            .contains("a: the selection needs its output, but it was never materialized"),
        "{}",
        run_failure_message(&events)
    );
    assert_eq!(calls.load(Ordering::SeqCst), 0);
}
