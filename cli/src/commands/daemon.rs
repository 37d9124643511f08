//! `orch daemon` (the scheduler daemon: run queue, launcher, monitor) and `orch dev` (the same
//! in one process on the embedded default, for a laptop).

use std::net::SocketAddr;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use orchestrator::daemon::alerts::{AlertOptions, Webhook};
use orchestrator::daemon::{Daemon, DaemonOptions};
use orchestrator::domain::{NewRun, QueueLimits};
use tokio_util::sync::CancellationToken;

use orchestrator::config::OrchConfig;
use orchestrator::definitions::LiveDefinitions;
use orchestrator::storage::RunStorage;

use crate::app;
use crate::commands::web::{self, WebArgs};
use crate::error::CliError;
use crate::launcher::{self, LauncherArgs, LauncherParts};
use crate::settings::{Settings, redact_url};

/// Settings of the daemon's loops (flags or environment).
#[derive(Debug, Clone, clap::Args)]
pub struct DaemonArgs {
    /// Most runs in progress (STARTING, STARTED, CANCELING) at once; 0 is unlimited. Default:
    /// `[run_queue] max_concurrent_runs` of orch.toml, else 10.
    #[arg(long, env = "ORCH_MAX_CONCURRENT_RUNS")]
    pub max_concurrent_runs: Option<u32>,
    /// A run whose worker has not started after this long fails.
    #[arg(long, env = "ORCH_START_TIMEOUT", default_value = "60s", value_parser = humantime::parse_duration)]
    pub start_timeout: Duration,
    /// A started run whose worker has not sent a heartbeat for this long fails.
    #[arg(long, env = "ORCH_HEARTBEAT_TIMEOUT", default_value = "30s", value_parser = humantime::parse_duration)]
    pub heartbeat_timeout: Duration,
    /// Between SIGTERM and SIGKILL when a worker is terminated.
    #[arg(long, env = "ORCH_TERMINATION_GRACE", default_value = "10s", value_parser = humantime::parse_duration)]
    pub termination_grace: Duration,
    /// How often every run in progress is checked.
    #[arg(long, env = "ORCH_MONITOR_INTERVAL", default_value = "1s", value_parser = humantime::parse_duration)]
    pub monitor_interval: Duration,
    /// A replica whose heartbeat is older than this is dead to the others: the runs it claimed
    /// and never gave a worker are launched by another. It heartbeats every third of it (at
    /// most every second). Keep every replica's the same.
    #[arg(long, env = "ORCH_DAEMON_LEASE", default_value = "3s", value_parser = parse_lease)]
    pub daemon_lease: Duration,
    /// Base URL of the web UI, for the run links in alerts.
    #[arg(
        long = "alert-ui-url",
        env = "ORCH_UI_URL",
        default_value = "http://127.0.0.1:3000"
    )]
    pub alert_ui_url: String,
    /// At most one Slack message per this interval, across daemon replicas (Slack accepts
    /// about one a second per webhook); alerts arriving faster are grouped into digests.
    #[arg(long, env = "ORCH_ALERT_MIN_INTERVAL", default_value = "1s", value_parser = humantime::parse_duration)]
    pub alert_min_interval: Duration,
    /// How long one POST to the webhook may take before it counts as a timeout (and is retried).
    #[arg(long, env = "ORCH_ALERT_TIMEOUT", default_value = "10s", value_parser = humantime::parse_duration)]
    pub alert_timeout: Duration,
    /// Serve Prometheus `/metrics` and `/healthz` on this address (e.g. 0.0.0.0:9464); unset,
    /// the daemon listens on nothing. `orch dev` serves `/metrics` on ORCH_WEB_ADDR anyway.
    #[arg(long, env = "ORCH_METRICS_ADDR")]
    pub metrics_addr: Option<SocketAddr>,
    #[command(flatten)]
    pub launcher: LauncherArgs,
}

impl DaemonArgs {
    fn alert_options(&self) -> AlertOptions {
        AlertOptions {
            ui_url: self.alert_ui_url.clone(),
            min_interval: self.alert_min_interval,
            timeout: self.alert_timeout,
            ..AlertOptions::default()
        }
    }

    fn options(&self, limits: QueueLimits) -> DaemonOptions {
        DaemonOptions {
            limits,
            start_timeout: self.start_timeout,
            heartbeat_timeout: self.heartbeat_timeout,
            termination_grace: self.termination_grace,
            monitor_interval: self.monitor_interval,
            lease: orchestrator::daemon::LeaseTiming::for_lease(self.daemon_lease),
        }
    }
}

/// A lease of at least 300 ms (three heartbeats of 100 ms).
fn parse_lease(raw: &str) -> Result<Duration, String> {
    let lease = humantime::parse_duration(raw).map_err(|e| e.to_string())?;
    if lease < Duration::from_millis(300) {
        return Err(format!("{raw} is too short for a lease: at least 300ms"));
    }
    Ok(lease)
}

/// Runs the daemon until SIGINT or SIGTERM. The metrics listener (if any) binds first: while
/// the store cannot be opened (the database is away at start) the daemon waits for it, and
/// `/healthz` answers 200 "degraded" meanwhile, so nothing restarts it in a loop.
pub async fn daemon(settings: &Settings, args: &DaemonArgs) -> Result<ExitCode, CliError> {
    let shutdown = CancellationToken::new();
    tokio::spawn(stop_on_signal(shutdown.clone()));
    let listener = match args.metrics_addr {
        Some(addr) => {
            let (listener, local) = web::bind(addr).await?;
            let deferred = ::web::Deferred::new();
            let serving = tokio::spawn(web::serve(
                listener,
                local,
                deferred.router(),
                shutdown.clone(),
            ));
            eprintln!("orch daemon: metrics at http://{local}/metrics");
            Some((deferred, serving))
        }
        None => None,
    };
    let parts = tokio::select! {
        parts = Parts::load(settings) => parts?,
        () = shutdown.cancelled() => return Ok(ExitCode::SUCCESS),
    };
    let store = parts.store.clone();
    let live = parts.live.clone();
    let (mut daemon, launcher) = parts.daemon(settings, args, &shutdown).await?;
    tokio::spawn(crate::reload::reload_on_sighup(live, shutdown.clone()));
    eprintln!(
        "orch daemon: store {}, {launcher}; Ctrl-C stops it",
        redact_url(&settings.database_url()),
    );
    let Some((deferred, serving)) = listener else {
        daemon.run(shutdown).await;
        return Ok(ExitCode::SUCCESS);
    };
    daemon = daemon.with_run_metrics();
    deferred.ready(::web::daemon_router(
        store,
        app::install_metrics()?,
        daemon.liveness(),
    ));
    daemon.run(shutdown.clone()).await;
    shutdown.cancel();
    serving
        .await
        .map_err(|e| CliError::failure(format!("the metrics listener failed: {e}")))??;
    Ok(ExitCode::SUCCESS)
}

/// `orch dev --launch JOB`: a run to queue as the server starts, for a first look at the UI.
#[derive(Debug, Clone, clap::Args)]
pub struct DevLaunchArgs {
    /// Queue a run of JOB at start and print the URL of its page.
    #[arg(long, value_name = "JOB")]
    pub launch: Option<String>,
    /// Run config override for --launch, KEY=VALUE (VALUE is JSON if it parses). Repeatable.
    #[arg(
        long = "config",
        short = 'c',
        value_name = "KEY=VALUE",
        requires = "launch"
    )]
    pub config: Vec<String>,
}

/// `orch dev`: the daemon and the web server in one process over one store (by default the
/// embedded one), until SIGINT or SIGTERM.
pub async fn dev(
    settings: &Settings,
    daemon_args: &DaemonArgs,
    web_args: &WebArgs,
    launch: &DevLaunchArgs,
) -> Result<ExitCode, CliError> {
    let parts = Parts::load(settings).await?;
    // Checked before anything listens: a bad job or config is a usage error, nothing queued.
    let queued = match &launch.launch {
        Some(job_name) => {
            let definitions = parts.live.current().definitions.clone();
            let (job, config, tags) =
                app::resolve_launch(&definitions, job_name, &launch.config, &[])?;
            Some(
                NewRun::queued(job.name.clone(), config, tags)
                    .with_definition(orchestrator::snapshot::JobSnapshot::of(job).stored())
                    .launched_by(orchestrator::domain::launched_by::CLI),
            )
        }
        None => None,
    };
    let router = web_args
        .router(settings, parts.store.clone(), parts.live.clone())
        .await?;
    let live = parts.live.clone();
    let parts_store = parts.store.clone();
    let shutdown = CancellationToken::new();
    let (daemon, launcher) = parts.daemon(settings, daemon_args, &shutdown).await?;
    let daemon = daemon.with_run_metrics();
    let (listener, local) = web::bind(web_args.addr).await?;
    tokio::spawn(stop_on_signal(shutdown.clone()));
    tokio::spawn(crate::reload::reload_on_sighup(live, shutdown.clone()));
    eprintln!(
        "orch dev: http://{local} (web UI at /, JSON API at /api/v1), store {}, {launcher}; Ctrl-C stops it",
        redact_url(&settings.database_url()),
    );
    match queued {
        Some(run) => {
            let run = parts_store.create_run(&run).await?;
            eprintln!(
                "orch dev: queued run {} of {}; open http://{local}/runs/{}",
                run.id, run.job, run.id
            );
        }
        None => eprintln!("orch dev: open http://{local}/"),
    }
    let (_, served) = tokio::join!(
        daemon.run(shutdown.clone()),
        web::serve(listener, local, router, shutdown.clone())
    );
    served?;
    Ok(ExitCode::SUCCESS)
}

/// What the daemon is built from: the config file, the definitions and schedules in force
/// (reloadable) and the store (opened and migrated).
struct Parts {
    config: OrchConfig,
    live: LiveDefinitions,
    store: Arc<dyn RunStorage>,
}

impl Parts {
    async fn load(settings: &Settings) -> Result<Self, CliError> {
        let config = app::orch_config(settings)?;
        let live = crate::reload::live_definitions(settings).await?;
        let store = app::open_store_waiting(settings, true).await?;
        Ok(Self {
            config,
            live,
            store,
        })
    }

    /// The daemon with its launcher (see `crate::launcher`), and a line describing the launcher.
    async fn daemon(
        self,
        settings: &Settings,
        args: &DaemonArgs,
        shutdown: &CancellationToken,
    ) -> Result<(Daemon, String), CliError> {
        let limits = self
            .config
            .queue_limits(args.max_concurrent_runs)
            .map_err(CliError::config)?;
        let parts = LauncherParts {
            config: &self.config,
            definitions: self.live.clone(),
            store: self.store.clone(),
            orch_home: &settings.orch_home,
            termination_grace: args.termination_grace,
        };
        let (launcher, describe) = launcher::build(&args.launcher, parts, shutdown).await?;
        let definitions = self.live.current().definitions.clone();
        let daemon = Daemon::new(self.store, definitions, launcher, args.options(limits))
            .with_live_definitions(self.live)
            .with_retention(self.config.retention);
        let daemon = match alert_webhook()? {
            Some(webhook) => {
                eprintln!("orch: Slack alerts go to {}", webhook.redacted());
                daemon.with_alerts(webhook, args.alert_options())
            }
            None => daemon,
        };
        Ok((daemon, describe))
    }
}

/// The Slack webhook of `ALERT_WEBHOOK_URL` or `ALERT_WEBHOOK_URL_FILE`, validated; none set:
/// `None`. Errors never show the URL.
fn alert_webhook() -> Result<Option<Webhook>, CliError> {
    let secret =
        orchestrator::secrets::read_secret("ALERT_WEBHOOK_URL").map_err(CliError::config)?;
    secret
        .map(|s| Webhook::parse(&s).map_err(CliError::config))
        .transpose()
}

/// Cancels `shutdown` on SIGINT or SIGTERM.
pub async fn stop_on_signal(shutdown: CancellationToken) {
    use tokio::signal::unix::{SignalKind, signal};
    let Ok(mut term) = signal(SignalKind::terminate()) else {
        return;
    };
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = term.recv() => {}
    }
    shutdown.cancel();
}
