//! `orch assets health`: every asset of every job with its health (the worst of its latest
//! materialization, its checks' latest verdicts and its freshness) and the reasons.
//! `orch assets materialize A B…`: a run of those assets in the job that has them all.
//! `orch checks run A`: a checks-only run of A (its checks over its latest output).

use std::process::ExitCode;

use serde_json::json;

use crate::app;
use crate::error::CliError;
use crate::output::{AssetHealthJson, print_json};
use crate::settings::Settings;

pub async fn health(settings: &Settings, json: bool) -> Result<ExitCode, CliError> {
    let definitions = app::definitions(settings).await?;
    let store = app::open_store(settings).await?;
    let all = orchestrator::assets::asset_health(store.as_ref(), &definitions).await?;
    if json {
        let assets: Vec<AssetHealthJson> = all.iter().map(AssetHealthJson::from).collect();
        print_json(&json!({ "assets": assets }))?;
        return Ok(ExitCode::SUCCESS);
    }
    println!("{:<28} {:<24} {:<9} REASONS", "JOB", "ASSET", "HEALTH");
    for asset in &all {
        println!(
            "{:<28} {:<24} {:<9} {}",
            asset.job.as_str(),
            asset.key.as_str(),
            asset.health.health.as_str(),
            asset.health.reasons.join("; ")
        );
    }
    Ok(ExitCode::SUCCESS)
}

/// Queues a run of `assets` in the one job that defines them all, as `orch launch JOB --select
/// A,B` would.
pub async fn materialize(
    settings: &Settings,
    assets: &[String],
    wait: bool,
) -> Result<ExitCode, CliError> {
    let definitions = app::definitions(settings).await?;
    let owners: Vec<&str> = definitions
        .jobs()
        .iter()
        .filter(|job| {
            assets
                .iter()
                .all(|a| job.graph().order().iter().any(|k| k.as_str() == a))
        })
        .map(|job| job.name.as_str())
        .collect();
    let job = match owners.as_slice() {
        [job] => (*job).to_owned(),
        [] => {
            return Err(CliError::config(format!(
                "no job defines all of {}; materialize assets of one job at a time (orch jobs list)",
                assets.join(", ")
            )));
        }
        many => {
            return Err(CliError::config(format!(
                "{} are in several jobs ({}); use orch launch JOB --select",
                assets.join(", "),
                many.join(", ")
            )));
        }
    };
    let select = assets.join(",");
    let request = app::LaunchRequest::new(&job, &[], &[], Some(&select));
    crate::commands::launch::launch(settings, &request, wait).await
}

/// Queues a checks-only run (`orch/checks_only=true`) of `asset` in the job that declares its
/// checks.
pub async fn run_checks(
    settings: &Settings,
    asset: &str,
    wait: bool,
) -> Result<ExitCode, CliError> {
    let definitions = app::definitions(settings).await?;
    let owners: Vec<&str> = definitions
        .jobs()
        .iter()
        .filter(|job| {
            job.assets()
                .iter()
                .any(|a| a.key.as_str() == asset && !a.checks.is_empty())
        })
        .map(|job| job.name.as_str())
        .collect();
    let job = match owners.as_slice() {
        [job] => (*job).to_owned(),
        [] => {
            return Err(CliError::config(format!(
                "no job declares checks on asset '{asset}' (orch jobs list)"
            )));
        }
        many => {
            return Err(CliError::config(format!(
                "asset '{asset}' has checks in several jobs ({}); run one with orch launch JOB --select {asset} --tag {}=true",
                many.join(", "),
                orchestrator::run_control::CHECKS_ONLY_TAG
            )));
        }
    };
    let tags = [format!(
        "{}=true",
        orchestrator::run_control::CHECKS_ONLY_TAG
    )];
    let request = app::LaunchRequest::new(&job, &[], &tags, Some(asset));
    crate::commands::launch::launch(settings, &request, wait).await
}
