//! `orch runs reexecute <id> [--from-failure] [--tag K=V]...`: creates a QUEUED run of the
//! parent's job and config, linked to it; from failure it selects only the steps that did not
//! succeed, and its worker reuses the parent's outputs for the rest. The new run id is printed
//! alone on the last line of stdout, for scripts.

use std::process::ExitCode;

use orchestrator::domain::{AssetKey, RunId};
use orchestrator::run_control::{ReexecuteError, ReexecuteFrom, Reexecution, reexecute};

use crate::app;
use crate::error::CliError;
use crate::kv;
use crate::settings::Settings;

/// Arguments of `orch runs reexecute`.
#[derive(Debug, Clone, clap::Args)]
pub struct ReexecuteArgs {
    /// The run to re-execute (it must have ended).
    pub id: String,
    /// Only the steps that did not succeed; the outputs of those that did are reused.
    #[arg(long)]
    pub from_failure: bool,
    /// Extra run tag, KEY=VALUE. Repeatable.
    #[arg(long = "tag", short = 't', value_name = "KEY=VALUE")]
    pub tag: Vec<String>,
}

pub async fn reexecute_run(
    settings: &Settings,
    args: &ReexecuteArgs,
) -> Result<ExitCode, CliError> {
    let parent = RunId::parse(&args.id).map_err(CliError::config)?;
    let tags = kv::parse_tags(&args.tag).map_err(CliError::config)?;
    let request = Reexecution {
        from: if args.from_failure {
            ReexecuteFrom::Failure
        } else {
            ReexecuteFrom::AllSteps
        },
        tags,
    };
    let definitions = app::definitions(settings).await?;
    let store = app::open_store(settings).await?;
    let run = match reexecute(store.as_ref(), &definitions, parent, &request).await {
        Ok(run) => run,
        Err(ReexecuteError::Storage(e)) => return Err(e.into()),
        Err(e) => return Err(CliError::failure(e)),
    };
    println!(
        "run {} of {} re-executes run {parent} ({})",
        run.id, run.job, run.status
    );
    if let Some(steps) = &run.step_selection {
        let steps: Vec<&str> = steps.iter().map(AssetKey::as_str).collect();
        println!("steps: {}", steps.join(", "));
    }
    println!("{}", run.id);
    Ok(ExitCode::SUCCESS)
}
