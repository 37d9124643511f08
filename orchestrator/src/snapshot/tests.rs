//! Snapshots: a job file's job round-trips through its snapshot (same version), the version
//! follows every change of structure, and Rust assets come from the build.

use std::path::Path;

use serde_json::json;

use super::*;
use crate::definitions::{AssetOutput, FreshnessPolicy};
use crate::jobfile::parse_file;

const FILE: &str = r#"name = "snap_job"
description = "d"
config = { n = 1 }
tags = { team = "data" }
max_runtime = "1h"
[[assets]]
name = "a"
command = ["sh", "-c", "echo a"]
timeout = "2m"
retry = { attempts = 3, delay = "500ms" }
freshness = { max_lag = "7h" }
checks = [{ name = "c", blocking = true, severity = "warn", command = ["true"] }, { name = "p" }]
[[assets]]
name = "b"
upstream = ["a"]
command = ["./b.sh"]
env = { K = "v" }
[launcher.kubernetes]
image = "python:3"
"#;

fn job(text: &str) -> JobDef {
    parse_file(Path::new("/srv/jobs/snap.toml"), text)
        .unwrap()
        .job
}

#[test]
fn a_job_file_job_round_trips_through_its_snapshot() {
    let original = job(FILE);
    let snapshot = JobSnapshot::of(&original);
    let stored = snapshot.stored();
    assert_eq!(stored.version.len(), 64, "hex SHA-256");
    let parsed = JobSnapshot::parse(&stored.version, &stored.json).unwrap();
    assert_eq!(parsed, snapshot);
    let rebuilt = parsed.to_job_def(None).unwrap();
    assert_eq!(
        JobSnapshot::of(&rebuilt).stored(),
        stored,
        "same structure, same version"
    );
    assert_eq!(rebuilt.max_runtime, original.max_runtime);
    assert_eq!(rebuilt.tags, original.tags);
    assert_eq!(rebuilt.launcher_config, original.launcher_config);
    let a = &rebuilt.assets()[0];
    assert_eq!(a.retry, original.assets()[0].retry);
    assert_eq!(a.checks.len(), 2);
    let CheckCompute::Command(check) = &a.checks[0].compute else {
        panic!("c runs a command");
    };
    assert_eq!(check, &CommandSpec::new(["true"]).cwd("/srv/jobs"));
    assert!(matches!(a.checks[1].compute, CheckCompute::Reported));
    let AssetCompute::Command(b) = &rebuilt.assets()[1].compute else {
        panic!("b is a command asset");
    };
    assert_eq!(b.argv, ["/srv/jobs/./b.sh"]);
    assert_eq!(b.env["K"], "v");
    let json: Value = serde_json::from_str(&stored.json).unwrap();
    assert_eq!(json["format"], 1);
    assert_eq!(json["assets"][0]["compute"]["kind"], "command");
    assert_eq!(json["assets"][0]["compute"]["timeout_ms"], 120_000);
}

#[test]
fn the_version_changes_with_the_structure_and_only_with_it() {
    let version = |text: &str| JobSnapshot::of(&job(text)).stored().version;
    let base = version(FILE);
    assert_eq!(version(FILE), base, "stable");
    assert_eq!(
        version(&FILE.replace(
            "freshness = { max_lag = \"7h\" }",
            "freshness = { max_lag = \"8h\" }"
        )),
        base,
        "freshness is the daemon's, not the run's"
    );
    for changed in [
        FILE.replace("echo a", "echo A"),
        FILE.replace("timeout = \"2m\"", "timeout = \"3m\""),
        FILE.replace("attempts = 3", "attempts = 4"),
        FILE.replace("K = \"v\"", "K = \"w\""),
        FILE.replace("config = { n = 1 }", "config = { n = 2 }"),
        FILE.replace("blocking = true", "blocking = false"),
        FILE.replace("python:3", "python:3.13"),
    ] {
        assert_ne!(version(&changed), base, "{changed}");
    }
}

#[test]
fn rust_assets_come_from_the_build_or_the_snapshot_is_refused() {
    let rust = AssetDef::builder("r")
        .compute(|_ctx| async { Ok(AssetOutput::new(json!(1))) })
        .unwrap();
    let cmd = AssetDef::command("c")
        .upstream(&["r"])
        .freshness(FreshnessPolicy::max_lag(Duration::from_secs(60), None).unwrap())
        .command(CommandSpec::new(["true"]))
        .unwrap();
    let mixed = JobDef::new("mixed", "", vec![rust, cmd], Map::new()).unwrap();
    let snapshot = JobSnapshot::of(&mixed);
    assert_eq!(snapshot.assets[0].compute, ComputeSnapshot::Rust);
    let rebuilt = snapshot.to_job_def(Some(&mixed)).unwrap();
    assert!(matches!(rebuilt.assets()[0].compute, AssetCompute::Rust(_)));
    assert!(
        rebuilt.assets()[1].freshness.is_some(),
        "freshness from the build"
    );
    let err = snapshot.to_job_def(None).unwrap_err().to_string();
    assert_eq!(
        err,
        "job 'mixed': asset 'r' is a Rust asset this build of orch does not have (the run was created by another build)"
    );
}

#[test]
fn another_format_or_bad_json_is_refused_naming_the_version() {
    let err = JobSnapshot::parse("abc", "{\"format\": 2}")
        .unwrap_err()
        .to_string();
    assert_eq!(
        err,
        "job snapshot abc has format 2; this build of orch reads format 1"
    );
    let err = JobSnapshot::parse("abc", "{\"format\": 1}")
        .unwrap_err()
        .to_string();
    assert!(err.starts_with("job snapshot abc: missing field"), "{err}");
}
