//! `orch jobs list` and `orch jobs validate`.

use std::process::ExitCode;

use crate::app;
use crate::error::CliError;
use crate::output::{JobJson, print_json};
use crate::settings::Settings;

pub async fn list(settings: &Settings, json: bool) -> Result<ExitCode, CliError> {
    let definitions = app::definitions(settings).await?;
    if json {
        let jobs: Vec<JobJson> = definitions.jobs().iter().map(JobJson::from).collect();
        print_json(&jobs)?;
        return Ok(ExitCode::SUCCESS);
    }
    for job in definitions.jobs() {
        let assets: Vec<&str> = job.graph().order().iter().map(|k| k.as_str()).collect();
        println!("{:<28} {}", job.name.as_str(), assets.join(" -> "));
        println!("{:<28} {}", "", job.description);
    }
    Ok(ExitCode::SUCCESS)
}

/// `orch jobs validate [PATH]` (see `crate::jobfiles`).
pub async fn validate(
    settings: &Settings,
    path: Option<&std::path::Path>,
) -> Result<ExitCode, CliError> {
    crate::jobfiles::validate(settings, path).await
}
