//! The daemon: independent loops over the shared store. The scheduler records cron ticks and
//! queues their runs; the coordinator claims queued runs under concurrency limits and launches
//! them; the monitor ends runs whose worker is gone, late or too long and carries out
//! cancellations; retention prunes finished runs. Every loop is safe to run in several
//! replicas at once: claims are serialized in the database, status changes are conditional.

pub mod alerts;
pub mod backfills;
pub mod coordinator;
mod definition_loops;
pub mod freshness;
pub mod lease;
pub mod liveness;
pub mod monitor;
pub mod observer;
pub mod retention;
pub mod scheduler;
pub mod sensors;
mod wake;

use std::sync::Arc;
use std::time::Duration;

use tokio_util::sync::CancellationToken;

use crate::definitions::{Definitions, LiveDefinitions, ScheduleDef};
use crate::domain::{DaemonId, QueueLimits};
use crate::launcher::Launcher;
use crate::storage::RunStorage;

pub use backfills::BackfillDaemon;
pub use coordinator::{Coordinator, LeaseTiming};
pub use freshness::FreshnessEvaluator;
pub use lease::Lease;
pub use liveness::{Health, Liveness};
pub use monitor::Monitor;
pub use observer::RunObserver;
pub use retention::{Retention, RetentionPolicy};
pub use scheduler::{Scheduler, SchedulerOptions};
pub use sensors::SensorEvaluator;

use alerts::{AlertOptions, AlertSender, Webhook};

/// Timing of the daemon's decisions.
#[derive(Debug, Clone, PartialEq)]
pub struct DaemonOptions {
    pub limits: QueueLimits,
    /// A run STARTING longer than this fails: "worker did not start".
    pub start_timeout: Duration,
    /// A STARTED run without a heartbeat for this long fails.
    pub heartbeat_timeout: Duration,
    /// Between SIGTERM (or its equivalent) and the forced stop of a worker.
    pub termination_grace: Duration,
    /// How often every run in progress is checked.
    pub monitor_interval: Duration,
    /// The replicas' leases on their claims.
    pub lease: LeaseTiming,
}

impl Default for DaemonOptions {
    fn default() -> Self {
        Self {
            limits: QueueLimits {
                max_concurrent_runs: Some(10),
                tag_limits: Vec::new(),
            },
            start_timeout: Duration::from_secs(60),
            heartbeat_timeout: Duration::from_secs(30),
            termination_grace: Duration::from_secs(10),
            monitor_interval: Duration::from_secs(1),
            lease: LeaseTiming::default(),
        }
    }
}

/// The daemon's loops, wired.
#[derive(Debug)]
pub struct Daemon {
    store: Arc<dyn RunStorage>,
    /// The definitions and schedules in force (reloadable).
    live: LiveDefinitions,
    launcher: Arc<dyn Launcher>,
    options: DaemonOptions,
    retention: Option<RetentionPolicy>,
    alerts: Option<(Webhook, AlertOptions)>,
    /// Follow ended runs into the metrics (only worth it where the metrics are served).
    observe_runs: bool,
    liveness: Liveness,
    id: DaemonId,
}

impl Daemon {
    pub fn new(
        store: Arc<dyn RunStorage>,
        definitions: Arc<Definitions>,
        launcher: Arc<dyn Launcher>,
        options: DaemonOptions,
    ) -> Self {
        Self {
            store,
            live: LiveDefinitions::fixed(definitions, Vec::new()),
            launcher,
            options,
            retention: None,
            alerts: None,
            observe_runs: false,
            liveness: Liveness::new(),
            id: DaemonId::new(),
        }
    }

    /// This daemon's id in the store's `daemons` table.
    pub fn id(&self) -> DaemonId {
        self.id
    }

    /// Records ended runs and their step durations in the metrics (`RunObserver`).
    pub fn with_run_metrics(mut self) -> Self {
        self.observe_runs = true;
        self
    }

    /// The flag that says the loops run (for a health check).
    pub fn liveness(&self) -> Liveness {
        self.liveness.clone()
    }

    /// Prune finished runs and schedule ticks under this policy (off unless set).
    pub fn with_retention(mut self, policy: RetentionPolicy) -> Self {
        self.retention = Some(policy);
        self
    }

    /// The schedules the daemon ticks (the effective ones: declared, with `orch.toml`'s), for
    /// definitions that are never reloaded.
    pub fn with_schedules(mut self, schedules: Vec<ScheduleDef>) -> Self {
        self.live = LiveDefinitions::fixed(self.live.current().definitions.clone(), schedules);
        self
    }

    /// Definitions and schedules that may be reloaded: the scheduler, the sensors and the
    /// freshness policies follow each version put in force (replaces `new`'s and
    /// `with_schedules`').
    pub fn with_live_definitions(mut self, live: LiveDefinitions) -> Self {
        self.live = live;
        self
    }

    /// Post the sensors' alerts to this Slack webhook. Without one, sensors still evaluate and
    /// their alerts wait in the outbox (PENDING) until a daemon with a webhook runs.
    pub fn with_alerts(mut self, webhook: Webhook, options: AlertOptions) -> Self {
        self.alerts = Some((webhook, options));
        self
    }

    /// Runs every loop until `shutdown`. Workers already launched keep running: they report
    /// to the store, and whichever daemon runs next monitors them.
    pub async fn run(self, shutdown: CancellationToken) {
        let coordinator = Coordinator::new(
            self.store.clone(),
            self.launcher.clone(),
            self.options.limits.clone(),
            self.id,
            self.options.lease,
        )
        .with_liveness(self.liveness.clone());
        let lease = Lease::new(self.store.clone(), self.id, self.options.lease.interval)
            .with_liveness(self.liveness.clone());
        let monitor = Monitor::new(
            self.store.clone(),
            self.launcher.clone(),
            self.live.clone(),
            self.options.clone(),
        )
        .with_liveness(self.liveness.clone());
        tracing::info!(
            launcher = self.launcher.kind(),
            max_concurrent_runs = ?self.options.limits.max_concurrent_runs,
            schedules = self.live.current().schedules.len(),
            "daemon started"
        );
        let _running = self.liveness.running();
        // Registered before the coordinator claims anything under this id.
        let registered = lease.register().await;
        let observer = async {
            if self.observe_runs {
                RunObserver::new(self.store.clone(), chrono::Utc::now())
                    .run(shutdown.clone())
                    .await;
            }
        };
        let retention = async {
            if let Some(policy) = self.retention.clone() {
                Retention::new(self.store.clone(), policy)
                    .run(shutdown.clone())
                    .await;
            }
        };
        let alerts_queued = Arc::new(tokio::sync::Notify::new());
        let definition_loops = definition_loops::run(
            self.store.clone(),
            self.live.clone(),
            alerts_queued.clone(),
            shutdown.clone(),
        );
        let sender = async {
            match self.alerts.clone() {
                Some((webhook, options)) => {
                    match AlertSender::new(self.store.clone(), webhook, options, alerts_queued) {
                        Ok(sender) => sender.run(shutdown.clone()).await,
                        Err(e) => tracing::error!(error = %e, "alerts cannot be sent"),
                    }
                }
                None => tracing::warn!(
                    "no ALERT_WEBHOOK_URL: sensor alerts wait in the outbox until a daemon has one"
                ),
            }
        };
        tokio::join!(
            lease.run(shutdown.clone(), registered),
            coordinator.run(shutdown.clone()),
            monitor.run(shutdown.clone()),
            definition_loops,
            retention,
            sender,
            observer,
        );
        tracing::info!("daemon stopped");
    }
}
