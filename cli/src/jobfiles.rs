//! Job files in the binary: where they are (`ORCH_JOBS_DIR`, else `[jobs] dir` of orch.toml,
//! else `$ORCH_HOME/jobs`), merged into the compiled-in definitions every command uses (a bad
//! file stops the command with exit 2 and every fault), and `orch jobs validate`.

use std::path::Path;
use std::process::ExitCode;

use orchestrator::definitions::Definitions;
use orchestrator::jobfile::{self, JobFile, JobsDir};

use crate::error::CliError;
use crate::settings::Settings;

/// The directory of job files in force. The default may be absent (no job files); one the
/// operator named must exist.
pub fn jobs_dir(settings: &Settings) -> Result<JobsDir, CliError> {
    if let Some(dir) = &settings.jobs_dir {
        return Ok(JobsDir {
            path: dir.clone(),
            required: true,
        });
    }
    let config = crate::app::orch_config(settings)?;
    Ok(match config.jobs_dir() {
        Some(path) => JobsDir {
            path,
            required: true,
        },
        None => JobsDir {
            path: settings.orch_home.join("jobs"),
            required: false,
        },
    })
}

/// `compiled` with the jobs and schedules of the job files added.
pub fn with_job_files(settings: &Settings, compiled: Definitions) -> Result<Definitions, CliError> {
    let files = jobfile::load_dir(&jobs_dir(settings)?).map_err(CliError::config)?;
    if files.is_empty() {
        return Ok(compiled);
    }
    jobfile::merge(&compiled, &files).map_err(CliError::config)
}

/// `orch jobs validate [PATH]`: checks a file or a directory (default: the jobs directory)
/// against the compiled-in jobs, printing each job found; starts nothing. Exit 0, or 2 with
/// every fault.
pub async fn validate(settings: &Settings, path: Option<&Path>) -> Result<ExitCode, CliError> {
    let files = match path {
        Some(path) if !path.exists() => {
            return Err(CliError::config(format!(
                "{}: no such file or directory",
                path.display()
            )));
        }
        Some(path) => jobfile::load_path(path),
        None => jobfile::load_dir(&jobs_dir(settings)?),
    }
    .map_err(CliError::config)?;
    let compiled = crate::app::compiled_definitions(settings).await?;
    jobfile::merge(&compiled, &files).map_err(CliError::config)?;
    if files.is_empty() {
        println!("no job files");
    }
    for file in &files {
        print_job(file);
    }
    Ok(ExitCode::SUCCESS)
}

fn print_job(file: &JobFile) {
    let assets: Vec<&str> = file
        .job
        .graph()
        .order()
        .iter()
        .map(|k| k.as_str())
        .collect();
    let schedules: Vec<&str> = file.schedules.iter().map(|s| s.name.as_str()).collect();
    println!(
        "ok {} ({}): {}",
        file.job.name,
        file.path.display(),
        assets.join(" -> ")
    );
    if !schedules.is_empty() {
        println!("   schedules: {}", schedules.join(", "));
    }
}
