//! A job file's check with a `command`: run after its asset materializes, with the asset's
//! output as JSON on stdin and the run in the environment (`ORCH_RUN_ID`, `ORCH_JOB`,
//! `ORCH_ASSET`, `ORCH_CHECK`, `ORCH_CONFIG`); exit 0 passes, any other end fails with the
//! check's severity and the tail of stderr as metadata. A check without a command is reported
//! by the asset itself (Dagster Pipes' `report_asset_check`), so it has no function here.

use std::process::Stdio;
use std::sync::Arc;

use serde_json::Value;
use tokio::io::AsyncWriteExt;

use super::validate::CheckSpec;
use crate::definitions::{
    AssetCheckDef, AssetCheckDefBuilder, AssetContext, AssetError, CommandSpec,
};
use crate::domain::{CheckResult, CheckSeverity, IdError};

/// The most stderr lines kept on a failed check's metadata.
const STDERR_TAIL_LINES: usize = 20;

/// The check definition of `spec` when it has a command; `None` otherwise.
pub fn check_def(spec: &CheckSpec) -> Result<Option<AssetCheckDef>, IdError> {
    let Some(command) = spec.command.clone() else {
        return Ok(None);
    };
    command_check(
        AssetCheckDef::builder(&spec.name)
            .description(&spec.description)
            .blocking(spec.blocking)
            .severity(spec.severity),
        &spec.name,
        spec.severity,
        command,
    )
    .map(Some)
}

/// A check named `name` that runs `command` (what job files and snapshots build).
pub fn command_check(
    builder: AssetCheckDefBuilder,
    name: &str,
    severity: CheckSeverity,
    command: CommandSpec,
) -> Result<AssetCheckDef, IdError> {
    let shared = Arc::new(command.clone());
    let name = name.to_owned();
    let mut def = builder.compute(move |ctx, value| {
        let command = Arc::clone(&shared);
        let name = name.clone();
        async move { run_check(&command, &name, severity, &ctx, &value).await }
    })?;
    def.command = Some(command);
    Ok(def)
}

async fn run_check(
    command: &CommandSpec,
    check: &str,
    severity: CheckSeverity,
    ctx: &AssetContext,
    value: &Value,
) -> Result<CheckResult, AssetError> {
    let Some((program, args)) = command.argv.split_first() else {
        return Err(AssetError::fatal(format!("check '{check}': empty command")));
    };
    let mut cmd = tokio::process::Command::new(program);
    cmd.args(args)
        .envs(&command.env)
        .env("ORCH_RUN_ID", ctx.run_id.to_string())
        .env("ORCH_JOB", ctx.job.as_str())
        .env("ORCH_ASSET", ctx.asset.as_str())
        .env("ORCH_CHECK", check)
        .env("ORCH_CONFIG", ctx.config.to_string())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    if let Some(dir) = &command.cwd {
        if !dir.is_dir() {
            return Err(AssetError::fatal(format!(
                "check '{check}': its directory {} does not exist (the job file's directory)",
                dir.display()
            )));
        }
        cmd.current_dir(dir);
    }
    let mut child = cmd.spawn().map_err(|e| {
        AssetError::fatal(format!(
            "check '{check}': cannot start {program}: {e} (is it installed and executable?)"
        ))
    })?;
    if let Some(mut stdin) = child.stdin.take() {
        // A check that does not read its input closes the pipe early: not a failure.
        let _ = stdin.write_all(value.to_string().as_bytes()).await;
    }
    let run = child.wait_with_output();
    let output = match command.timeout {
        Some(limit) => tokio::time::timeout(limit, run).await.map_err(|_| {
            AssetError::fatal(format!(
                "check '{check}': timed out after {}",
                humantime::format_duration(limit)
            ))
        })?,
        None => run.await,
    }
    .map_err(|e| AssetError::fatal(format!("check '{check}': {program}: {e}")))?;
    if output.status.success() {
        return Ok(CheckResult::passed());
    }
    let stderr = String::from_utf8_lossy(&output.stderr);
    let lines: Vec<&str> = stderr.lines().collect();
    let tail = lines[lines.len().saturating_sub(STDERR_TAIL_LINES)..].join("\n");
    let ended = match output.status.code() {
        Some(code) => format!("exited with code {code}"),
        None => "was killed by a signal".to_owned(),
    };
    Ok(CheckResult::failed(severity)
        .with_metadata("command", ended)
        .with_metadata("stderr", tail))
}
