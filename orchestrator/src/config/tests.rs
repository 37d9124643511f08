//! `orch.toml`: loading rules, overrides and additions of schedules, and the errors of bad files.

use std::path::Path;

use serde_json::json;

use super::*;
use crate::definitions::{AssetDef, AssetOutput, JobDef};

/// One job (`job`, config key `limit`) and one declared schedule (`hourly`, off by default).
fn definitions() -> Definitions {
    let asset = AssetDef::builder("a")
        .compute(|_ctx| async { Ok(AssetOutput::default()) })
        .unwrap();
    let mut config = Map::new();
    config.insert("limit".into(), json!(10));
    let job = JobDef::new("job", "", vec![asset], config).unwrap();
    let hourly = ScheduleDef::builder("hourly", "job", "0 0 * * * *")
        .default_switch(ScheduleSwitch::Off)
        .build()
        .unwrap();
    Definitions::new(vec![job])
        .unwrap()
        .with_schedules(vec![hourly])
        .unwrap()
}

fn parse(text: &str) -> Result<OrchConfig, ConfigFileError> {
    OrchConfig::parse(text, Path::new("/etc/orch/orch.toml"))
}

fn effective(text: &str) -> Result<Vec<ScheduleDef>, ConfigFileError> {
    parse(text)?.effective_schedules(&definitions())
}

#[track_caller]
fn assert_refused(text: &str, needles: &[&str]) {
    let err = match effective(text) {
        Ok(schedules) => panic!("accepted {text:?}: {schedules:?}"),
        Err(e) => e.to_string(),
    };
    assert!(
        err.starts_with("config file /etc/orch/orch.toml: "),
        "{err}"
    );
    for needle in needles {
        assert!(err.contains(needle), "{needle:?} not in {err:?}");
    }
}

#[test]
fn an_empty_file_leaves_the_declared_schedules() {
    let schedules = effective("").unwrap();
    assert_eq!(schedules, definitions().schedules());
}

#[test]
fn a_section_overrides_a_declared_schedule() {
    let schedules = effective(
        r#"
        [schedules.hourly]
        cron = "0 */30 * * * *"
        timezone = "Europe/Paris"
        enabled = true
        catch_up = "latest"
        config = { limit = 3 }
        tags = { team = "data" }
        "#,
    )
    .unwrap();
    assert_eq!(schedules.len(), 1);
    let hourly = &schedules[0];
    assert_eq!(hourly.cron.expression(), "0 */30 * * * *");
    assert_eq!(hourly.cron.timezone().name(), "Europe/Paris");
    assert_eq!(hourly.default_switch, ScheduleSwitch::On);
    assert_eq!(hourly.catch_up, CatchUp::Latest);
    assert_eq!(hourly.run_config.get("limit"), Some(&json!(3)));
    assert_eq!(hourly.tags.len(), 1);
}

#[test]
fn a_section_adds_a_schedule_for_any_job() {
    let schedules = effective(
        r#"
        [schedules.nightly]
        job = "job"
        cron = "0 0 2 * * *"
        "#,
    )
    .unwrap();
    let names: Vec<&str> = schedules.iter().map(|s| s.name.as_str()).collect();
    assert_eq!(names, ["hourly", "nightly"]);
    let nightly = &schedules[1];
    assert_eq!(nightly.cron.timezone(), chrono_tz::Tz::UTC);
    assert_eq!(nightly.default_switch, ScheduleSwitch::On);
    assert_eq!(nightly.catch_up, CatchUp::Skip);
}

#[test]
fn bad_sections_are_refused_naming_the_file_and_what_is_wrong() {
    assert_refused(
        "[schedules.hourly]\ncolour = \"red\"\n",
        &["colour", "unknown field"],
    );
    assert_refused("[scheduls.hourly]\n", &["scheduls", "unknown field"]);
    assert_refused(
        "[schedules.hourly]\ncatch_up = \"all\"\n",
        &["catch_up", "all"],
    );
    assert_refused(
        "[schedules.hourly]\ncron = \"0 0 * * *\"\n",
        &["schedule 'hourly': invalid cron expression '0 0 * * *'"],
    );
    assert_refused(
        "[schedules.hourly]\ntimezone = \"Europe/Pariss\"\n",
        &["schedule 'hourly': unknown time zone 'Europe/Pariss'"],
    );
    assert_refused(
        "[schedules.nightly]\njob = \"nope\"\ncron = \"0 0 2 * * *\"\n",
        &["schedule 'nightly': job 'nope' is not defined (known jobs: job)"],
    );
    assert_refused(
        "[schedules.nightly]\njob = \"job\"\n",
        &["[schedules.nightly]", "needs both `job` and `cron`"],
    );
    assert_refused(
        "[schedules.hourly]\njob = \"other\"\n",
        &["[schedules.hourly]", "cannot be moved to job 'other'"],
    );
    assert_refused(
        "[schedules.\"bad name\"]\njob = \"job\"\ncron = \"0 0 2 * * *\"\n",
        &["'bad name' is not a valid schedule name"],
    );
}

#[test]
fn the_file_comes_from_orch_config_or_else_orch_home() {
    let home = tempfile::tempdir().unwrap();
    let loaded = OrchConfig::load(None, home.path()).unwrap();
    assert!(loaded.path.is_none() && loaded.schedules.is_empty());

    let missing = home.path().join("elsewhere.toml");
    let err = OrchConfig::load(Some(&missing), home.path())
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("elsewhere.toml does not exist (ORCH_CONFIG names it)"),
        "{err}"
    );

    let default = home.path().join(FILE_NAME);
    std::fs::write(&default, "[schedules.hourly]\nenabled = true\n").unwrap();
    let loaded = OrchConfig::load(None, home.path()).unwrap();
    assert_eq!(loaded.path.as_deref(), Some(default.as_path()));
    assert_eq!(loaded.schedules["hourly"].enabled, Some(true));

    std::fs::write(&missing, "[schedules.other]\nenabled = false\n").unwrap();
    let explicit = OrchConfig::load(Some(&missing), home.path()).unwrap();
    assert!(explicit.schedules.contains_key("other"));
    assert!(!explicit.schedules.contains_key("hourly"));
}

#[test]
fn run_queue_limits_come_from_the_file_unless_given() {
    let config = parse(
        r#"
        [run_queue]
        max_concurrent_runs = 3
        tag_limits = [
          { key = "pipeline", value = "weather", limit = 1 },
          { key = "team", limit = 2 },
        ]
        "#,
    )
    .unwrap();
    let limits = config.queue_limits(None).unwrap();
    assert_eq!(limits.max_concurrent_runs, Some(3));
    assert_eq!(limits.tag_limits.len(), 2);
    assert_eq!(limits.tag_limits[0].key.as_str(), "pipeline");
    assert_eq!(limits.tag_limits[0].value.as_deref(), Some("weather"));
    assert_eq!(limits.tag_limits[1].value, None);
    assert_eq!(
        config.queue_limits(Some(7)).unwrap().max_concurrent_runs,
        Some(7)
    );
    assert_eq!(
        config.queue_limits(Some(0)).unwrap().max_concurrent_runs,
        None
    );
    let empty = parse("").unwrap();
    assert_eq!(
        empty.queue_limits(None).unwrap().max_concurrent_runs,
        Some(10)
    );
}

#[test]
fn bad_run_queue_sections_are_refused() {
    assert_refused(
        "[run_queue]\nmax_concurent_runs = 3\n",
        &["max_concurent_runs"],
    );
    assert_refused(
        "[run_queue]\ntag_limits = [{ key = \"team\" }]\n",
        &["limit"],
    );
    let config = parse("[run_queue]\ntag_limits = [{ key = \"bad key!\", limit = 1 }]\n").unwrap();
    let error = config.queue_limits(None).unwrap_err().to_string();
    assert!(
        error.contains("tag_limits") && error.contains("bad key!"),
        "{error}"
    );
}

#[test]
fn the_launcher_section_names_a_kind_and_keeps_the_kubernetes_table_as_data() {
    let config = parse(
        r#"
[launcher]
kind = "kubernetes"
[launcher.kubernetes]
namespace = "orch-runs"
resources = { requests = { cpu = "250m" } }
node_selector = { "karpenter.sh/capacity-type" = "spot" }
"#,
    )
    .unwrap();
    assert_eq!(config.launcher.kind, Some(LauncherKind::Kubernetes));
    let table = config.launcher.kubernetes.unwrap();
    assert_eq!(table["namespace"], "orch-runs");
    assert_eq!(table["resources"]["requests"]["cpu"], "250m");
    assert_eq!(table["node_selector"]["karpenter.sh/capacity-type"], "spot");
    assert_eq!(parse("").unwrap().launcher.kind, None);
    assert_refused(
        "[launcher]\nkind = \"nomad\"",
        &["/etc/orch/orch.toml", "nomad"],
    );
    assert_refused(
        "[launcher]\nkinds = \"local\"",
        &["/etc/orch/orch.toml", "kinds"],
    );
    assert_eq!(LauncherKind::parse("local"), Ok(LauncherKind::Local));
    assert!(
        LauncherKind::parse("k8s")
            .unwrap_err()
            .contains("expected 'local' or 'kubernetes'")
    );
}

#[test]
fn the_jobs_dir_is_relative_to_the_file() {
    assert_eq!(parse("").unwrap().jobs_dir(), None);
    assert_eq!(
        parse("[jobs]\ndir = \"pipelines\"\n").unwrap().jobs_dir(),
        Some(std::path::PathBuf::from("/etc/orch/pipelines"))
    );
    assert_eq!(
        parse("[jobs]\ndir = \"/srv/jobs\"\n").unwrap().jobs_dir(),
        Some(std::path::PathBuf::from("/srv/jobs"))
    );
    let err = parse("[jobs]\ndirectory = \"x\"\n")
        .unwrap_err()
        .to_string();
    assert!(err.contains("unknown field `directory`"), "{err}");
}
