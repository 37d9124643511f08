//! The daemon's lease: its registration in the store, beaten every `lease_interval`. While the
//! heartbeat is fresh, the runs it claimed are its own; once it is older than `lease` (the
//! process died, or lost the database that long), a live replica's coordinator takes them over
//! (`Coordinator::take_over_orphans`). A clean shutdown deregisters at once.
//!
//! The beat is also the daemon's pulse on the database: each one tells [`Liveness`] whether
//! the database answered, so `/healthz` says "degraded" within a second of an outage.

use std::sync::Arc;
use std::time::Duration;

use tokio_util::sync::CancellationToken;

use super::Liveness;
use crate::domain::DaemonId;
use crate::storage::{RunStorage, StorageError};

/// Registers and beats one daemon's lease.
#[derive(Debug)]
pub struct Lease {
    store: Arc<dyn RunStorage>,
    id: DaemonId,
    interval: Duration,
    liveness: Liveness,
}

impl Lease {
    pub fn new(store: Arc<dyn RunStorage>, id: DaemonId, interval: Duration) -> Self {
        Self {
            store,
            id,
            interval,
            liveness: Liveness::new(),
        }
    }

    /// Reports the database's answers to `liveness`.
    pub fn with_liveness(mut self, liveness: Liveness) -> Self {
        self.liveness = liveness;
        self
    }

    fn saw(&self, error: Option<&StorageError>) {
        match error {
            None => self.liveness.database_reachable(),
            Some(e) if e.is_unavailable() => self.liveness.database_unreachable(&e.to_string()),
            Some(_) => {}
        }
    }

    /// Beats until `shutdown`, then deregisters. Call after [`Lease::register`]: a claim made
    /// under an unregistered id is orphaned at once. A failed beat is retried at the next one;
    /// a registration that failed or was forgotten is made again.
    pub async fn run(self, shutdown: CancellationToken, mut registered: bool) {
        loop {
            tokio::select! {
                () = shutdown.cancelled() => break,
                () = tokio::time::sleep(self.interval) => {}
            }
            if !registered {
                registered = self.register().await;
                continue;
            }
            let beat = self.store.beat_daemon(self.id).await;
            self.saw(beat.as_ref().err());
            match beat {
                Ok(true) => {}
                Ok(false) => registered = self.register().await,
                Err(e) if e.is_unavailable() => {
                    tracing::debug!(daemon = %self.id, error = %e, "daemon heartbeat failed");
                }
                Err(e) => tracing::warn!(daemon = %self.id, error = %e, "daemon heartbeat failed"),
            }
        }
        if let Err(e) = self.store.deregister_daemon(self.id).await {
            tracing::warn!(daemon = %self.id, error = %e, "cannot deregister the daemon");
        }
    }

    /// Registers the daemon; `false` (logged) when the store refused.
    pub async fn register(&self) -> bool {
        let host = rustix::system::uname()
            .nodename()
            .to_string_lossy()
            .into_owned();
        let registered = self
            .store
            .register_daemon(self.id, &host, std::process::id())
            .await;
        self.saw(registered.as_ref().err());
        match registered {
            Ok(()) => {
                tracing::info!(daemon = %self.id, %host, "daemon registered");
                true
            }
            Err(e) => {
                tracing::warn!(daemon = %self.id, error = %e, "cannot register the daemon; retrying");
                false
            }
        }
    }
}
