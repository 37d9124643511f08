//! A command's stdout and stderr as the step's log lines: read line by line as they come,
//! recorded as `LOG` events (batched like every event) up to a cap per attempt, with a marker
//! when the rest is cut; the last stderr lines are kept to quote in a failure.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};

use orchestrator::definitions::EventSink;
use orchestrator::domain::{AssetKey, EventKind, LogLevel, NewEvent};
use tokio::io::{AsyncBufReadExt, AsyncRead, BufReader};

/// Lines recorded per attempt, both streams together; the rest is counted, not recorded.
pub(crate) const MAX_LINES: usize = 10_000;
/// A longer line is cut (its end is lost; the marker says so).
const MAX_LINE_BYTES: usize = 16 * 1024;
/// Stderr lines kept to quote when the command fails.
const TAIL_LINES: usize = 5;

/// What both streams of one attempt have said.
pub(crate) struct Capture {
    asset: AssetKey,
    sink: Arc<dyn EventSink>,
    state: Mutex<State>,
}

#[derive(Debug, Default)]
struct State {
    recorded: usize,
    dropped: usize,
    stderr_tail: VecDeque<String>,
}

impl Capture {
    pub fn new(asset: AssetKey, sink: Arc<dyn EventSink>) -> Arc<Self> {
        Arc::new(Self {
            asset,
            sink,
            state: Mutex::default(),
        })
    }

    /// Records one line of the step's output, or a line a Pipes message carried.
    pub fn line(&self, level: LogLevel, message: String, from_stderr: bool) {
        let record = match self.state.lock() {
            Ok(mut state) => {
                if from_stderr {
                    if state.stderr_tail.len() == TAIL_LINES {
                        state.stderr_tail.pop_front();
                    }
                    state.stderr_tail.push_back(message.clone());
                }
                if state.recorded < MAX_LINES {
                    state.recorded += 1;
                    true
                } else {
                    state.dropped += 1;
                    false
                }
            }
            Err(_) => false,
        };
        if record {
            self.emit(level, message);
        }
    }

    /// Records a Pipes log message or a warning of orch's own; these are not capped, the
    /// cap is on what the process prints.
    pub fn event(&self, level: LogLevel, message: String) {
        self.emit(level, message);
    }

    fn emit(&self, level: LogLevel, message: String) {
        self.sink.emit(NewEvent::step(
            &self.asset,
            EventKind::Log { level, message },
        ));
    }

    /// Records the marker when lines were cut; call once both streams ended.
    pub fn finish(&self) {
        let dropped = self.state.lock().map(|s| s.dropped).unwrap_or(0);
        if dropped > 0 {
            self.emit(
                LogLevel::Warn,
                format!("output cut: {MAX_LINES} lines recorded, {dropped} more not recorded"),
            );
        }
    }

    /// The last stderr lines, for a failure message.
    pub fn stderr_tail(&self) -> Vec<String> {
        self.state
            .lock()
            .map(|s| s.stderr_tail.iter().cloned().collect())
            .unwrap_or_default()
    }
}

/// Reads `stream` to its end, each line into `capture`.
pub(crate) async fn follow<R: AsyncRead + Unpin>(
    stream: R,
    capture: Arc<Capture>,
    from_stderr: bool,
) {
    let mut reader = BufReader::new(stream);
    let mut buf = Vec::new();
    loop {
        buf.clear();
        // Past the event buffer's bound the output is not read: the command blocks on its
        // next write until the database takes the backlog.
        capture.sink.room().await;
        match reader.read_until(b'\n', &mut buf).await {
            Ok(0) => return,
            Ok(_) => {
                while matches!(buf.last(), Some(b'\n' | b'\r')) {
                    buf.pop();
                }
                let cut = buf.len() > MAX_LINE_BYTES;
                buf.truncate(MAX_LINE_BYTES);
                let mut line = String::from_utf8_lossy(&buf).into_owned();
                if cut {
                    line.push_str(" … (line cut)");
                }
                capture.line(LogLevel::Info, line, from_stderr);
            }
            Err(e) => {
                capture.event(
                    LogLevel::Warn,
                    format!("cannot read the command's output: {e}"),
                );
                return;
            }
        }
    }
}
