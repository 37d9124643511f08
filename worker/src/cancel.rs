//! Stopping a run from outside the worker: the heartbeat that sees the run CANCELING, or the
//! process that receives SIGTERM, cancels a [`Cancellation`]; `Worker::execute_with` then stops
//! the steps in flight (each records `STEP_CANCELED`), starts no other, and ends the run CANCELED.

use std::sync::{Arc, OnceLock};

use tokio_util::sync::CancellationToken;

/// A request to stop a run, with the reason recorded on the run. Cheap to clone; every clone
/// sees the same request.
#[derive(Debug, Clone, Default)]
pub struct Cancellation {
    token: CancellationToken,
    reason: Arc<OnceLock<String>>,
}

impl Cancellation {
    pub fn new() -> Self {
        Self::default()
    }

    /// Asks the run to stop. The first reason given is the one recorded; later calls change
    /// nothing.
    pub fn cancel(&self, reason: impl Into<String>) {
        // The reason is set before the token fires, so whoever wakes on the token finds it.
        let _ = self.reason.set(reason.into());
        self.token.cancel();
    }

    pub fn is_canceled(&self) -> bool {
        self.token.is_cancelled()
    }

    /// Completes once the run has been asked to stop.
    pub async fn canceled(&self) {
        self.token.cancelled().await;
    }

    /// Why the run was asked to stop, once it was.
    pub fn reason(&self) -> Option<&str> {
        self.reason.get().map(String::as_str)
    }
}

#[cfg(test)]
mod tests {
    use super::Cancellation;

    #[tokio::test]
    async fn the_first_reason_is_kept_and_every_clone_sees_it() {
        let cancellation = Cancellation::new();
        let clone = cancellation.clone();
        assert!(!clone.is_canceled());
        assert_eq!(clone.reason(), None);
        cancellation.cancel("worker received SIGTERM");
        cancellation.cancel("the run was canceled");
        clone.canceled().await;
        assert!(clone.is_canceled());
        assert_eq!(clone.reason(), Some("worker received SIGTERM"));
    }
}
