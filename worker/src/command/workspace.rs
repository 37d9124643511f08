//! The files of one command attempt, in a temporary directory removed when the attempt ends:
//! the Pipes context, the Pipes messages channel, one `<upstream>.json` per upstream output and
//! the path the command writes its output to; and the environment that names them.

use std::path::{Path, PathBuf};

use serde_json::{Value, json};
use tempfile::TempDir;

use orchestrator::definitions::Inputs;
use orchestrator::domain::PartitionScope;

use super::pipes::{self, ContextFields};
use crate::step::StepRun;

#[derive(Debug)]
pub(crate) struct Workspace {
    _dir: TempDir,
    output: PathBuf,
    messages: PathBuf,
    env: Vec<(String, String)>,
}

impl Workspace {
    /// The files of an attempt of `step`'s asset, or with `check`, of that check of it.
    pub async fn create(
        step: &StepRun,
        attempt: u32,
        inputs: &Inputs,
        check: Option<&str>,
    ) -> std::io::Result<Self> {
        let dir = tempfile::Builder::new().prefix("orch-step-").tempdir()?;
        let inputs_dir = dir.path().join("inputs");
        tokio::fs::create_dir(&inputs_dir).await?;
        let mut input_paths = serde_json::Map::new();
        for (key, value) in inputs {
            let path = inputs_dir.join(format!("{key}.json"));
            tokio::fs::write(&path, serde_json::to_vec(value.as_ref())?).await?;
            input_paths.insert(key.to_string(), json!(path));
        }
        let output = dir.path().join("output.json");
        let messages = dir.path().join("messages.jsonl");
        tokio::fs::write(&messages, b"").await?;
        let context_path = dir.path().join("context.json");
        let context = pipes::context(&ContextFields {
            asset: &step.def.key,
            run_id: step.run_id.to_string(),
            job: step.job.as_str(),
            retry_number: attempt - 1,
            partition: &step.partition,
            extras: json!({
                "config": step.config.as_ref(),
                "inputs": input_paths,
                "output_path": output,
                "check": check,
            }),
        });
        tokio::fs::write(&context_path, context.to_string()).await?;
        let mut env = vec![
            ("ORCH_RUN_ID".into(), step.run_id.to_string()),
            ("ORCH_JOB".into(), step.job.to_string()),
            ("ORCH_ASSET".into(), step.def.key.to_string()),
            ("ORCH_RETRY_NUMBER".into(), (attempt - 1).to_string()),
            ("ORCH_CONFIG".into(), step.config.to_string()),
            ("ORCH_INPUTS_DIR".into(), inputs_dir.display().to_string()),
            ("ORCH_OUTPUT".into(), output.display().to_string()),
            (
                "DAGSTER_PIPES_CONTEXT".into(),
                pipes::encode_param(&json!({ "path": context_path })),
            ),
            (
                "DAGSTER_PIPES_MESSAGES".into(),
                pipes::encode_param(&json!({ "path": messages })),
            ),
        ];
        if let Some(check) = check {
            env.push(("ORCH_CHECK".into(), check.to_owned()));
        }
        env.extend(partition_env(&step.partition));
        Ok(Self {
            _dir: dir,
            output,
            messages,
            env,
        })
    }

    pub fn env(&self) -> impl Iterator<Item = (&str, &str)> {
        self.env.iter().map(|(k, v)| (k.as_str(), v.as_str()))
    }

    pub fn messages_path(&self) -> &Path {
        &self.messages
    }

    /// The JSON the command wrote to `ORCH_OUTPUT`, or `null` when it wrote nothing; the error
    /// says why the file is not an output.
    pub async fn read_output(&self) -> Result<Value, String> {
        let bytes = match tokio::fs::read(&self.output).await {
            Ok(bytes) => bytes,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Value::Null),
            Err(e) => return Err(format!("its ORCH_OUTPUT cannot be read: {e}")),
        };
        if bytes.iter().all(u8::is_ascii_whitespace) {
            return Ok(Value::Null);
        }
        serde_json::from_slice(&bytes).map_err(|e| {
            let start = String::from_utf8_lossy(&bytes[..bytes.len().min(80)]).into_owned();
            format!("what it wrote to ORCH_OUTPUT is not JSON ({e}): {start:?}")
        })
    }
}

/// The plain-env form of a run's partition: `ORCH_PARTITION_KEY` (single-key runs),
/// `ORCH_PARTITION_RANGE_START|END` (any partitioned run) and `ORCH_TIME_WINDOW_START|END`
/// (time windows, RFC 3339 in UTC); absent when they do not apply.
fn partition_env(scope: &PartitionScope) -> Vec<(String, String)> {
    let mut env = Vec::new();
    if let Some(key) = &scope.key {
        env.push(("ORCH_PARTITION_KEY".into(), key.clone()));
    }
    if let Some(range) = &scope.range {
        env.push(("ORCH_PARTITION_RANGE_START".into(), range.start.clone()));
        env.push(("ORCH_PARTITION_RANGE_END".into(), range.end.clone()));
    }
    if let Some(window) = &scope.time_window {
        let rfc3339 = |t: chrono::DateTime<chrono::Utc>| t.to_rfc3339();
        env.push(("ORCH_TIME_WINDOW_START".into(), rfc3339(window.start)));
        env.push(("ORCH_TIME_WINDOW_END".into(), rfc3339(window.end)));
    }
    env
}
