//! Command assets speaking Dagster Pipes through the real, unmodified `dagster-pipes` package
//! from PyPI (installed in the test virtualenv by scripts/py-tools.sh, named by ORCH_PYTHON):
//! its context decoded by the package, its logs, materialization metadata of every Pipes type,
//! check results and exceptions landing in orch's events.

use orchestrator::definitions::CommandSpec;
use orchestrator::domain::CheckSeverity;

use super::*;

/// The virtualenv's python3, which has `dagster_pipes`; the test fails (it does not skip)
/// without it.
fn python() -> String {
    std::env::var("ORCH_PYTHON").unwrap_or_else(|_| {
        panic!("ORCH_PYTHON is not set: run `eval \"$(scripts/test-services.sh)\"` first")
    })
}

fn pipes_job() -> JobDef {
    let script = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/executor/scripts/pipes_asset.py"
    );
    let titles = AssetDef::command("titles")
        .upstream(&["seed"])
        .command(CommandSpec::new([python(), script.to_owned()]))
        .unwrap();
    let count = AssetDef::builder("count")
        .upstream(&["titles"])
        .compute(|ctx| async move {
            let titles: Value = ctx.input("titles")?;
            Ok(AssetOutput::new(json!(
                titles["titles"].as_array().map(Vec::len)
            )))
        })
        .unwrap();
    let seed = constant(
        "seed",
        &[],
        json!({"posts": [{"title": "a"}, {"title": "b"}]}),
    );
    job("pipes_job", vec![seed, titles, count])
}

fn logs(events: &[EventRecord]) -> Vec<(orchestrator::domain::LogLevel, String)> {
    events
        .iter()
        .filter(|e| e.step.as_ref().map(AssetKey::as_str) == Some("titles"))
        .filter_map(|e| match &e.kind {
            EventKind::Log { level, message } => Some((*level, message.clone())),
            _ => None,
        })
        .collect()
}

#[tokio::test]
async fn a_dagster_pipes_script_reports_logs_metadata_checks_and_its_output() {
    use orchestrator::domain::LogLevel;
    let h = harness(vec![pipes_job()]).await;
    let (status, events) = h.run("pipes_job").await;
    assert_eq!(status, RunStatus::Success, "{events:#?}");
    let run = events[0].run_id;
    let logs = logs(&events);
    let has = |level: LogLevel, text: &str| logs.iter().any(|(l, m)| *l == level && m == text);
    assert!(
        has(
            LogLevel::Info,
            &format!("asset titles of pipes_job, run {run}, retry 0, partition None")
        ),
        "the context reached the script: {logs:#?}"
    );
    assert!(has(LogLevel::Warn, "a warning from Python"), "{logs:#?}");
    assert!(has(LogLevel::Info, "plain stdout line"), "{logs:#?}");
    assert!(has(LogLevel::Info, "plain stderr line"), "{logs:#?}");
    assert!(
        has(LogLevel::Info, r#"custom message: {"rows":2}"#),
        "{logs:#?}"
    );
    let warnings: Vec<&String> = logs
        .iter()
        .filter(|(l, _)| *l == LogLevel::Warn)
        .map(|(_, m)| m)
        .collect();
    assert_eq!(
        warnings,
        ["a warning from Python"],
        "no warning of orch's own"
    );
    let metadata = events
        .iter()
        .find_map(|e| match &e.kind {
            EventKind::AssetMaterialization {
                asset_key,
                metadata,
            } if asset_key.as_str() == "titles" => Some(metadata.clone()),
            _ => None,
        })
        .expect("titles materialized");
    let expected = json!({
        "count": 2,
        "text": "hello",
        "url": {"type": "url", "raw_value": "https://example.com/x"},
        "path": {"type": "path", "raw_value": "/data/x.json"},
        "json": {"a": [1, 2]},
        "md": {"type": "md", "raw_value": "# Title"},
        "int": 7,
        "float": 0.25,
        "bool": true,
        "null": null,
        "inferred": 3.5,
        "data_version": "v1",
    });
    assert_eq!(serde_json::to_value(&metadata).unwrap(), expected);
    let checks: Vec<(String, bool, CheckSeverity)> = events
        .iter()
        .filter_map(|e| match &e.kind {
            EventKind::AssetCheckEvaluation {
                asset,
                check,
                passed,
                severity,
                ..
            } => {
                assert_eq!(asset.as_str(), "titles");
                Some((check.clone(), *passed, *severity))
            }
            _ => None,
        })
        .collect();
    assert_eq!(
        checks,
        [
            ("has_posts".to_owned(), true, CheckSeverity::Error),
            ("titles_short".to_owned(), false, CheckSeverity::Warn),
        ]
    );
    // The output the script wrote reached the Rust asset downstream.
    let count = events.iter().find_map(|e| match &e.kind {
        EventKind::StepOutput { location }
            if e.step.as_ref().map(AssetKey::as_str) == Some("count") =>
        {
            Some(location.clone())
        }
        _ => None,
    });
    let stored: Value = serde_json::from_slice(
        &std::fs::read(count.unwrap().trim_start_matches("file://")).unwrap(),
    )
    .unwrap();
    assert_eq!(stored, json!(2));
}

#[tokio::test]
async fn an_exception_in_the_script_fails_the_step_naming_it() {
    let h = harness(vec![pipes_job()]).await;
    let new = NewRun::in_process(
        orchestrator::domain::JobName::parse("pipes_job").unwrap(),
        json!({"fail": true}),
        Tags::new(),
    );
    let (status, events) = h.run_new(new).await;
    assert_eq!(status, RunStatus::Failure);
    let error = events
        .iter()
        .find_map(|e| match &e.kind {
            EventKind::StepFailure { error, .. } => Some(error.clone()),
            _ => None,
        })
        .unwrap();
    assert!(error.contains("exited with code 1"), "{error}");
    assert!(error.contains("ValueError: asked to fail"), "{error}");
}

#[tokio::test]
async fn reports_for_other_assets_and_malformed_lines_are_warnings_not_failures() {
    // A hand-written client: writes straight to the messages file the package would use.
    let script = r#"
import base64, json, os, zlib
params = json.loads(zlib.decompress(base64.b64decode(os.environ["DAGSTER_PIPES_MESSAGES"])))
with open(params["path"], "a") as f:
    f.write("this is not json\n")
    f.write(json.dumps({"__dagster_pipes_version": "0.1", "method": "teleport", "params": {}}) + "\n")
    f.write(json.dumps({"__dagster_pipes_version": "0.1", "method": "report_asset_materialization",
                        "params": {"asset_key": "someone_else", "metadata": {}}}) + "\n")
    f.write(json.dumps({"__dagster_pipes_version": "0.1", "method": "report_asset_materialization",
                        "params": {"asset_key": "a", "metadata": {"n": {"raw_value": "x", "type": "int"}}}}) + "\n")
"#;
    let def = AssetDef::command("a")
        .command(CommandSpec::new([
            python(),
            "-c".to_owned(),
            script.to_owned(),
        ]))
        .unwrap();
    let h = harness(vec![job("j", vec![def])]).await;
    let (status, events) = h.run("j").await;
    assert_eq!(status, RunStatus::Success, "{events:#?}");
    let warnings: Vec<String> = events
        .iter()
        .filter_map(|e| match &e.kind {
            EventKind::Log {
                level: orchestrator::domain::LogLevel::Warn,
                message,
            } => Some(message.clone()),
            _ => None,
        })
        .collect();
    let expected = [
        "Pipes message 1 ignored: not a JSON Pipes message",
        "Pipes message 2 ignored: unknown Pipes method \"teleport\"",
        "report_asset_materialization for asset \"someone_else\" ignored: this step computes a",
        "Pipes metadata \"n\": \"x\" is not a valid int value",
    ];
    for needle in expected {
        assert!(
            warnings.iter().any(|w| w.contains(needle)),
            "{needle:?} not in {warnings:#?}"
        );
    }
}
