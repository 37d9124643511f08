//! Partition definitions in their job-file forms, and a job sharing one definition with its
//! assets.

use super::*;

fn toml_value(text: &str) -> toml::Value {
    let table: toml::Table = text.parse().unwrap_or_else(|e| panic!("{text}: {e}"));
    table.get("partitions").cloned().expect("partitions key")
}

#[test]
fn job_file_forms_parse_into_definitions() {
    let daily = PartitionsDef::from_toml_value(&toml_value(
        r#"partitions = { daily = { start = "2026-01-01", timezone = "Europe/Paris", end_offset = 1 } }"#,
    ))
    .expect("daily");
    let PartitionsDef::TimeWindow(tw) = &daily else {
        panic!("{daily:?}")
    };
    assert_eq!(tw.spec().timezone, "Europe/Paris");
    assert_eq!(tw.spec().end_offset, 1);
    assert_eq!(tw.spec().cadence, Cadence::Daily);

    let cron = PartitionsDef::from_toml_value(&toml_value(
        r#"partitions = { cron = { schedule = "0 0 6 * * *", start = "2026-01-01" } }"#,
    ))
    .expect("cron");
    assert!(matches!(cron, PartitionsDef::TimeWindow(_)));
    assert_eq!(
        PartitionsDef::from_toml_value(&toml_value(r#"partitions = { static = ["eu", "us"] }"#)),
        PartitionsDef::static_keys(&["eu", "us"])
    );
    assert_eq!(
        PartitionsDef::from_toml_value(&toml_value(r#"partitions = { dynamic = "customers" }"#)),
        PartitionsDef::dynamic("customers")
    );
    for bad in [
        r#"partitions = { daily = { start = "2026-01-01", zone = "UTC" } }"#,
        r#"partitions = { yearly = { start = "2026-01-01" } }"#,
        r#"partitions = { daily = { start = "2026-01-01" }, static = ["a"] }"#,
        r#"partitions = { daily = { start = "January" } }"#,
        r#"partitions = "daily""#,
    ] {
        assert!(
            PartitionsDef::from_toml_value(&toml_value(bad)).is_err(),
            "{bad}"
        );
    }
}

fn asset(key: &str, partitions: Option<PartitionsDef>) -> crate::definitions::AssetDef {
    let builder = crate::definitions::AssetDef::builder(key);
    let builder = match partitions {
        Some(def) => builder.partitions(def),
        None => builder,
    };
    builder
        .compute(|_| async { Ok(crate::definitions::AssetOutput::new(serde_json::json!(1))) })
        .expect("asset")
}

#[test]
fn a_job_shares_one_partitions_definition_with_its_assets() {
    use crate::definitions::{DefinitionError, JobDef};
    let daily = PartitionsDef::daily("2026-01-01", "UTC").expect("daily");
    let hourly = PartitionsDef::hourly("2026-01-01", "UTC").expect("hourly");

    let job = JobDef::new(
        "j",
        "",
        vec![asset("a", Some(daily.clone())), asset("b", None)],
        Default::default(),
    )
    .expect("job");
    assert_eq!(job.partitions(), Some(&daily));

    let mixed = JobDef::new(
        "j",
        "",
        vec![
            asset("a", Some(daily.clone())),
            asset("b", Some(hourly.clone())),
        ],
        Default::default(),
    );
    assert!(matches!(
        mixed,
        Err(DefinitionError::MixedPartitions { .. })
    ));

    let job = JobDef::new(
        "j",
        "",
        vec![asset("a", None), asset("b", None)],
        Default::default(),
    )
    .expect("job")
    .with_partitions(daily.clone())
    .expect("partitioned");
    assert!(
        job.assets()
            .iter()
            .all(|a| a.partitions.as_ref() == Some(&daily))
    );
    let refused = JobDef::new("j", "", vec![asset("a", Some(hourly))], Default::default())
        .expect("job")
        .with_partitions(daily);
    assert!(matches!(
        refused,
        Err(DefinitionError::MixedPartitions { .. })
    ));
}
