//! Wiring: the store, the object stores, the definitions and the worker, built from settings.

use std::sync::Arc;

use orch_extension::{ObjectStores, S3Connection};
use orchestrator::config::OrchConfig;
use orchestrator::definitions::{AssetSelection, Definitions, JobDef, ObjectStore, ScheduleDef};
use orchestrator::run_control::{
    PartitionError, PartitionRequest, SelectError, check_partition_request, check_selection,
};
use orchestrator::storage::{self, RunStorage, StoreOptions};
use worker::object_store::S3Store;
use worker::{IoManager, Worker};

use crate::error::CliError;
use crate::settings::{Settings, redact_url};

/// Opens the configured store, applying migrations.
pub async fn open_store(settings: &Settings) -> Result<Arc<dyn RunStorage>, CliError> {
    connect(settings, true).await
}

/// Opens the configured store (migrations applied when `migrate`; `orch worker` does not
/// migrate: its launcher, the daemon, did, so it starts fast), waiting with orch's
/// reconnect backoff for as long as the database cannot be reached: for the long-running
/// processes (daemon, web, worker), which must ride out an outage at start rather than exit and
/// crash-loop. Any other fault (a bad URL, a failed migration) ends the wait at once.
pub async fn open_store_waiting(
    settings: &Settings,
    migrate: bool,
) -> Result<Arc<dyn RunStorage>, CliError> {
    let (url, options) = prepare(settings, migrate)?;
    storage::until_reachable(|| storage::connect(&url, &options))
        .await
        .map_err(|e| store_error(&url, e))
}

async fn connect(settings: &Settings, migrate: bool) -> Result<Arc<dyn RunStorage>, CliError> {
    let (url, options) = prepare(settings, migrate)?;
    storage::connect(&url, &options)
        .await
        .map_err(|e| store_error(&url, e))
}

/// The store's URL and options; ORCH_HOME made for the embedded default.
fn prepare(settings: &Settings, migrate: bool) -> Result<(String, StoreOptions), CliError> {
    let url = settings.database_url();
    if url.starts_with("sqlite:") {
        std::fs::create_dir_all(&settings.orch_home).map_err(|e| {
            CliError::config(format!(
                "cannot create ORCH_HOME {}: {e}",
                settings.orch_home.display()
            ))
        })?;
    }
    let options = StoreOptions {
        max_connections: settings.db_max_connections,
        migrate,
    };
    Ok((url, options))
}

fn store_error(url: &str, e: storage::StorageError) -> CliError {
    match e {
        storage::StorageError::UnsupportedUrl(_) => CliError::config(e.to_string()),
        // The driver's message may quote the URL: redacted as a whole.
        other => CliError::failure(orchestrator::redact::redact_text(&format!(
            "cannot open the run store at {}: {other}",
            redact_url(url)
        ))),
    }
}

/// Object stores with the configured S3 connection, local ones under ORCH_HOME.
pub fn object_stores(settings: &Settings) -> ObjectStores {
    ObjectStores::new(
        settings.orch_home.clone(),
        S3Connection {
            region: settings.aws_region.clone(),
            endpoint: settings.aws_endpoint_url.clone(),
            force_path_style: settings.force_path_style(),
        },
    )
}

async fn s3(settings: &Settings, bucket: &str, prefix: &str) -> S3Store {
    object_stores(settings).s3(bucket, prefix).await
}

/// The job definitions: the binary's extension's (compiled in, with their resources) and the
/// job files'.
pub async fn definitions(settings: &Settings) -> Result<Arc<Definitions>, CliError> {
    let compiled = compiled_definitions(settings).await?;
    crate::jobfiles::with_job_files(settings, compiled).map(Arc::new)
}

/// The jobs compiled into this binary (its extension's), with their resources.
pub async fn compiled_definitions(settings: &Settings) -> Result<Definitions, CliError> {
    let stores = object_stores(settings);
    settings
        .extension
        .definitions(&settings.orch_home, &stores)
        .await
        .map_err(|e| CliError {
            code: e.exit_code(),
            error: anyhow::anyhow!("the job definitions do not load: {e}"),
        })
}

/// The extension's routes under `/api/v1`, with their documentation (none for most builds).
pub async fn api_routes(settings: &Settings) -> Result<orch_extension::ApiRoutes, CliError> {
    let stores = object_stores(settings);
    settings
        .extension
        .api_routes(&settings.orch_home, &stores)
        .await
        .map_err(CliError::from)
}

/// The job named `name`, or a usage error listing the known jobs.
pub fn find_job<'d>(definitions: &'d Definitions, name: &str) -> Result<&'d JobDef, CliError> {
    definitions.job(name).ok_or_else(|| {
        let known: Vec<&str> = definitions.jobs().iter().map(|j| j.name.as_str()).collect();
        CliError::config(format!(
            "unknown job '{name}' (known jobs: {})",
            known.join(", ")
        ))
    })
}

/// What a launch of `job_name` with `--config` and `--tag` arguments asks for, checked: the
/// job, its resolved run config and the tags. Nothing is created.
pub fn resolve_launch<'d>(
    definitions: &'d Definitions,
    job_name: &str,
    config: &[String],
    tags: &[String],
) -> Result<(&'d JobDef, serde_json::Value, orchestrator::domain::Tags), CliError> {
    let job = find_job(definitions, job_name)?;
    let overrides = crate::kv::parse_config(config).map_err(CliError::config)?;
    let tags = job.run_tags(crate::kv::parse_tags(tags).map_err(CliError::config)?);
    let config = job.resolve_config(&overrides).map_err(CliError::config)?;
    Ok((job, config, tags))
}

/// `--partition KEY` or `--from KEY --to KEY` of `orch run` and `orch launch`.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct PartitionArgs {
    /// Run this partition of a partitioned job (e.g. `2026-03-01`, `2026-03-01-06:00`, `eu`).
    #[arg(long, value_name = "KEY", conflicts_with_all = ["from", "to"])]
    pub partition: Option<String>,
    /// Run a range of partitions in one run: the first key (with --to; both inclusive).
    #[arg(long, value_name = "KEY", requires = "to")]
    pub from: Option<String>,
    /// The last key of the range (with --from).
    #[arg(long, value_name = "KEY", requires = "from")]
    pub to: Option<String>,
}

impl PartitionArgs {
    pub fn request(&self) -> PartitionRequest {
        match (&self.partition, &self.from, &self.to) {
            (Some(key), _, _) => PartitionRequest::Key(key.clone()),
            (None, Some(start), Some(end)) => PartitionRequest::Range {
                start: start.clone(),
                end: end.clone(),
            },
            _ => PartitionRequest::None,
        }
    }
}

/// What `orch run` and `orch launch` were asked for, before it is checked.
#[derive(Debug, Clone, Copy)]
pub struct LaunchRequest<'a> {
    pub job: &'a str,
    pub config: &'a [String],
    pub tags: &'a [String],
    /// `--select`, in Dagster's selection syntax.
    pub select: Option<&'a str>,
    /// `--partition` or `--from`/`--to`; `None`: no partition.
    pub partition: Option<&'a PartitionArgs>,
}

impl<'a> LaunchRequest<'a> {
    pub fn new(
        job: &'a str,
        config: &'a [String],
        tags: &'a [String],
        select: Option<&'a str>,
    ) -> Self {
        Self {
            job,
            config,
            tags,
            select,
            partition: None,
        }
    }

    /// The same request for the partition (or range) `args` names.
    pub fn with_partition(mut self, args: &'a PartitionArgs) -> Self {
        self.partition = Some(args);
        self
    }
}

/// The new run `request` asks for (`status` QUEUED or STARTING), checked: the job, its
/// resolved config, the tags and the selection (refused when it names unknown assets or needs
/// upstream outputs that were never materialized). Nothing is created.
pub async fn plan_launch(
    definitions: &Definitions,
    store: &dyn RunStorage,
    request: &LaunchRequest<'_>,
    status: orchestrator::domain::RunStatus,
) -> Result<orchestrator::domain::NewRun, CliError> {
    let (job, config, tags) =
        resolve_launch(definitions, request.job, request.config, request.tags)?;
    let mut run = orchestrator::domain::NewRun::queued(job.name.clone(), config, tags)
        .with_definition(orchestrator::snapshot::JobSnapshot::of(job).stored())
        .launched_by(orchestrator::domain::launched_by::CLI);
    run.status = status;
    let partition = request
        .partition
        .map(PartitionArgs::request)
        .unwrap_or_default();
    let range = check_partition_request(store, job, &partition, chrono::Utc::now())
        .await
        .map_err(|e| match e {
            PartitionError::Storage(e) => CliError::from(e),
            refused => CliError::config(refused),
        })?;
    if let Some(range) = range {
        run = run.with_partition(range);
    }
    if let Some(select) = request.select {
        let selection = AssetSelection::parse(select)
            .map_err(|e| CliError::config(format!("--select: {e}")))?;
        run.step_selection =
            check_selection(store, job, &selection)
                .await
                .map_err(|e| match e {
                    SelectError::Storage(e) => CliError::from(e),
                    refused => CliError::config(refused),
                })?;
    }
    Ok(run)
}

/// The operator's `orch.toml` (ORCH_CONFIG, else ORCH_HOME/orch.toml if present). A file that
/// cannot be read or parsed is a configuration error.
pub fn orch_config(settings: &Settings) -> Result<OrchConfig, CliError> {
    OrchConfig::load(settings.config_file.as_deref(), &settings.orch_home).map_err(CliError::config)
}

/// The schedules in force: the declared ones with `config`'s overrides, then its additions.
pub fn schedules(
    config: &OrchConfig,
    definitions: &Definitions,
) -> Result<Vec<ScheduleDef>, CliError> {
    config
        .effective_schedules(definitions)
        .map_err(CliError::config)
}

/// The IO manager for step outputs.
pub async fn io_manager(settings: &Settings) -> IoManager {
    let store: Arc<dyn ObjectStore> = match &settings.io_bucket {
        Some(bucket) if !bucket.is_empty() => {
            Arc::new(s3(settings, bucket, &settings.io_prefix).await)
        }
        _ => Arc::new(object_stores(settings).local("storage")),
    };
    IoManager::new(store)
}

/// A worker over the configured store.
pub async fn worker(
    settings: &Settings,
    store: Arc<dyn RunStorage>,
    definitions: Arc<Definitions>,
) -> Worker {
    // A command runs in its own directory: it gets ORCH_HOME as an absolute path.
    let home =
        std::path::absolute(&settings.orch_home).unwrap_or_else(|_| settings.orch_home.clone());
    Worker::new(store, definitions, io_manager(settings).await)
        .with_command_grace(settings.command_grace)
        .with_event_buffer(settings.event_buffer)
        .with_command_env(vec![("ORCH_HOME".to_owned(), home.display().to_string())])
}

/// The process's Prometheus recorder (installed by the first call).
pub fn install_metrics() -> Result<orchestrator::telemetry::metrics::MetricsHandle, CliError> {
    orchestrator::telemetry::metrics::install().map_err(|e| CliError::failure(e.to_string()))
}
