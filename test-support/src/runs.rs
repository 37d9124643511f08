//! Reading what a run recorded, as the suites' assertions need it.

use orchestrator::domain::{EventKind, EventRecord};

/// The message of the last `RUN_FAILURE` or `RUN_CANCELED` among `events` (empty if none).
pub fn end_message(events: &[EventRecord]) -> String {
    events
        .iter()
        .rev()
        .find_map(|e| match &e.kind {
            EventKind::RunFailure { message } | EventKind::RunCanceled { message } => {
                message.clone()
            }
            _ => None,
        })
        .unwrap_or_default()
}
