//! `orch assets health`: every asset of every job with its health (the worst of its latest
//! materialization, its checks' latest verdicts and its freshness) and the reasons.

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
