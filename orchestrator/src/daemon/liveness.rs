//! [`Liveness`]: whether the daemon's loops are running, for the `/healthz` of its metrics
//! listener. Set when `Daemon::run` starts its loops and cleared when they stop, however they
//! stop (a drop guard), so a probe never reports a daemon whose loops have ended as alive.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

/// A shared flag: the daemon's loops run. Cheap to clone.
#[derive(Debug, Clone, Default)]
pub struct Liveness(Arc<AtomicBool>);

impl Liveness {
    pub fn new() -> Self {
        Self::default()
    }

    /// Whether the loops run now.
    pub fn is_alive(&self) -> bool {
        self.0.load(Ordering::Acquire)
    }

    /// Marks the loops running until the guard is dropped.
    pub(crate) fn running(&self) -> RunningGuard {
        self.0.store(true, Ordering::Release);
        RunningGuard(self.0.clone())
    }
}

/// Clears the flag when dropped.
#[derive(Debug)]
pub(crate) struct RunningGuard(Arc<AtomicBool>);

impl Drop for RunningGuard {
    fn drop(&mut self) {
        self.0.store(false, Ordering::Release);
    }
}

#[cfg(test)]
mod tests {
    use super::Liveness;

    #[test]
    fn alive_only_while_the_guard_lives() {
        let liveness = Liveness::new();
        assert!(!liveness.is_alive());
        let guard = liveness.running();
        assert!(liveness.clone().is_alive());
        drop(guard);
        assert!(!liveness.is_alive());
    }
}
