//! The wait of the daemon's loops that re-evaluate when a run ends: until a run reaches a
//! terminal status (or the change feed resyncs, which may hide one), or a fallback delay.

use std::time::Duration;

use tokio_util::sync::CancellationToken;

use crate::storage::{Change, Changes};

/// Waits for a run to end, a resync, or `wait`; `false` when the loop should stop (`shutdown`
/// or the feed closed).
pub(crate) async fn until_a_run_ends(
    changes: &mut Changes,
    wait: Duration,
    shutdown: &CancellationToken,
) -> bool {
    let deadline = tokio::time::sleep(wait);
    tokio::pin!(deadline);
    loop {
        tokio::select! {
            () = shutdown.cancelled() => return false,
            () = &mut deadline => return true,
            change = changes.recv() => match change {
                Some(Change::Run(_, status)) if status.is_terminal() => return true,
                Some(Change::Resync) => return true,
                Some(_) => {}
                None => return false,
            },
        }
    }
}
