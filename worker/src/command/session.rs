//! The Pipes session of one command attempt: the messages file followed while the process
//! runs (polled, as Dagster's own file reader polls it) and each message acted on: logs become
//! events at once; the materialization's metadata and the check results are kept for the step
//! (its `ASSET_MATERIALIZATION`, then its checks); what is wrong becomes a warning naming it.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use orchestrator::domain::{AssetKey, CheckResult, LogLevel, Metadata};
use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncSeekExt};
use tokio::sync::oneshot;
use tokio_util::task::AbortOnDropHandle;

use super::output::Capture;
use super::pipes::{self, Message};
use super::warn;
use crate::step::StepRun;

/// How often the messages file is read while the process runs.
const POLL: Duration = Duration::from_millis(50);

/// What the session reported, once the process ended.
#[derive(Debug, Default)]
pub(crate) struct Report {
    /// The materialization's metadata (empty without one: exit 0 alone materializes).
    pub metadata: Metadata,
    /// The exception the `closed` message carried.
    pub exception: Option<String>,
    /// The checks reported, by name, in order.
    pub checks: Vec<(String, CheckResult)>,
}

pub(crate) struct Session {
    asset: AssetKey,
    capture: Arc<Capture>,
    report: Report,
    materialized: bool,
    line: usize,
}

impl Session {
    pub fn new(step: &StepRun, capture: Arc<Capture>) -> Self {
        Self {
            asset: step.def.key.clone(),
            capture,
            report: Report::default(),
            materialized: false,
            line: 0,
        }
    }

    /// Follows the messages file at `path` until [`Following::finish`].
    pub fn follow(self, path: PathBuf) -> Following {
        let (stop, stopped) = oneshot::channel();
        let task = AbortOnDropHandle::new(tokio::spawn(self.read_until(path, stopped)));
        Following { stop, task }
    }

    async fn read_until(mut self, path: PathBuf, mut stopped: oneshot::Receiver<()>) -> Report {
        let mut offset = 0u64;
        let mut partial = Vec::new();
        loop {
            let stopping = tokio::select! {
                _ = &mut stopped => true,
                () = tokio::time::sleep(POLL) => false,
            };
            match read_from(&path, &mut offset).await {
                Ok(bytes) => partial.extend_from_slice(&bytes),
                Err(e) => {
                    warn(
                        &self.capture,
                        format!("cannot read the Pipes messages file: {e}"),
                    );
                    return self.report;
                }
            }
            while let Some(end) = partial.iter().position(|b| *b == b'\n') {
                let line: Vec<u8> = partial.drain(..=end).collect();
                self.handle(&String::from_utf8_lossy(&line));
            }
            if stopping {
                if !partial.is_empty() {
                    let line = String::from_utf8_lossy(&partial).into_owned();
                    self.handle(&line);
                }
                return self.report;
            }
        }
    }

    fn handle(&mut self, line: &str) {
        self.line += 1;
        let line = line.trim();
        if line.is_empty() {
            return;
        }
        match pipes::parse_message(line) {
            Ok(message) => self.act(message),
            Err(e) => warn(
                &self.capture,
                format!("Pipes message {} ignored: {e}", self.line),
            ),
        }
    }

    fn act(&mut self, message: Message) {
        match message {
            Message::Opened => {}
            Message::Closed { exception } => self.report.exception = exception,
            Message::Log { level, message } => self.capture.line(level, message, false),
            Message::ExternalLog(text) => self.capture.line(LogLevel::Info, text, false),
            Message::Custom(payload) => {
                self.capture
                    .line(LogLevel::Info, format!("custom message: {payload}"), false)
            }
            Message::Materialization {
                asset,
                data_version,
                mut metadata,
                faults,
            } => {
                if !self.owns(&asset, "report_asset_materialization") {
                    return;
                }
                self.warn_faults(&faults);
                if self.materialized {
                    warn(
                        &self.capture,
                        format!(
                            "asset {asset} was reported materialized twice; the first report is kept"
                        ),
                    );
                    return;
                }
                self.materialized = true;
                if let Some(version) = data_version {
                    metadata
                        .entry("data_version".to_owned())
                        .or_insert(Value::String(version));
                }
                self.report.metadata = metadata;
            }
            Message::Check {
                asset,
                check,
                passed,
                severity,
                metadata,
                faults,
            } => {
                if !self.owns(&asset, "report_asset_check") {
                    return;
                }
                self.warn_faults(&faults);
                self.report.checks.push((
                    check,
                    CheckResult {
                        passed,
                        severity,
                        metadata,
                    },
                ));
            }
        }
    }

    /// Whether `asset` is this step's; a report for another asset is ignored, with a warning.
    fn owns(&self, asset: &str, method: &str) -> bool {
        if asset == self.asset.as_str() {
            return true;
        }
        warn(
            &self.capture,
            format!(
                "{method} for asset {asset:?} ignored: this step computes {}",
                self.asset
            ),
        );
        false
    }

    fn warn_faults(&self, faults: &[String]) {
        for fault in faults {
            warn(&self.capture, format!("Pipes {fault}"));
        }
    }
}

/// A session being followed.
#[derive(Debug)]
pub(crate) struct Following {
    stop: oneshot::Sender<()>,
    task: AbortOnDropHandle<Report>,
}

impl Following {
    /// Reads what is left of the file, then returns the session's report.
    pub async fn finish(self) -> Report {
        let _ = self.stop.send(());
        self.task.await.unwrap_or_default()
    }
}

async fn read_from(path: &PathBuf, offset: &mut u64) -> std::io::Result<Vec<u8>> {
    let mut file = tokio::fs::File::open(path).await?;
    file.seek(std::io::SeekFrom::Start(*offset)).await?;
    let mut bytes = Vec::new();
    file.read_to_end(&mut bytes).await?;
    *offset += bytes.len() as u64;
    Ok(bytes)
}
