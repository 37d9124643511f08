//! The one typed configuration of the binary: defaults, then environment (and flags), parsed
//! once here and passed down. No other module reads the environment.

use std::path::PathBuf;
use std::time::Duration;

use clap::Args;

/// Settings shared by every command. Each can be given as a flag or as the environment variable
/// named in `--help`.
#[derive(Debug, Clone, Args)]
pub struct Settings {
    /// orch's home directory: the embedded database, local objects and step outputs live here.
    #[arg(long, env = "ORCH_HOME", default_value = ".orch", global = true)]
    pub orch_home: PathBuf,

    /// The operator's file (schedule overrides and additions); unset, ORCH_HOME/orch.toml is read
    /// if it exists. A file named here must exist.
    #[arg(long, env = "ORCH_CONFIG", global = true)]
    pub config_file: Option<PathBuf>,

    /// The directory of job files (every `*.toml` in it is a job); unset, `[jobs] dir` of
    /// orch.toml, else ORCH_HOME/jobs if it exists. A directory named here must exist.
    #[arg(long, env = "ORCH_JOBS_DIR", global = true)]
    pub jobs_dir: Option<PathBuf>,

    /// The run store: postgres://user@host:port/db, or sqlite://path (default: SQLite in ORCH_HOME).
    #[arg(long, env = "DATABASE_URL", hide_env_values = true, global = true)]
    pub database_url: Option<String>,

    /// A file holding the database URL (Vault Agent, a Kubernetes Secret); not with
    /// DATABASE_URL.
    #[arg(long, env = "DATABASE_URL_FILE", global = true)]
    pub database_url_file: Option<PathBuf>,

    /// Most database connections one process opens.
    #[arg(
        long,
        env = "ORCH_DB_MAX_CONNECTIONS",
        default_value_t = 8,
        global = true
    )]
    pub db_max_connections: u32,

    /// AWS region of the buckets (otherwise the AWS SDK's usual resolution).
    #[arg(long, env = "AWS_REGION", global = true)]
    pub aws_region: Option<String>,

    /// An S3-compatible endpoint, e.g. http://127.0.0.1:9000 for MinIO.
    #[arg(long, env = "AWS_ENDPOINT_URL", global = true)]
    pub aws_endpoint_url: Option<String>,

    /// Path-style S3 addressing; defaults to on when AWS_ENDPOINT_URL is set.
    #[arg(long, env = "ORCH_S3_FORCE_PATH_STYLE", global = true)]
    pub s3_force_path_style: Option<bool>,

    /// Keep step outputs (the IO manager) in this bucket instead of ORCH_HOME/storage. Needed
    /// when workers do not share a disk (Kubernetes) and runs are re-executed from failure.
    #[arg(long, env = "ORCH_IO_BUCKET", global = true)]
    pub io_bucket: Option<String>,

    /// Key prefix of step outputs in ORCH_IO_BUCKET.
    #[arg(
        long,
        env = "ORCH_IO_PREFIX",
        default_value = "orch-io/",
        global = true
    )]
    pub io_prefix: String,

    /// How often `orch worker` records that it is alive, and so learns that its run was
    /// canceled: a duration such as `5s` or `500ms`.
    #[arg(
        long,
        env = "ORCH_HEARTBEAT_INTERVAL",
        default_value = "5s",
        value_parser = parse_interval,
        global = true
    )]
    pub heartbeat_interval: Duration,

    /// Between SIGTERM and SIGKILL for a command asset's process group when a cancel or its
    /// timeout stops it; keep it below the daemon's ORCH_TERMINATION_GRACE, so the worker
    /// records the end before it is killed itself.
    #[arg(
        long,
        env = "ORCH_COMMAND_GRACE",
        default_value = "5s",
        value_parser = humantime::parse_duration,
        global = true
    )]
    pub command_grace: Duration,

    /// Events a worker holds in memory while the database is away; past this many, its steps
    /// pause (no step or attempt starts, command output is not read) until they are stored.
    #[arg(
        long,
        env = "ORCH_EVENT_BUFFER",
        default_value_t = worker::DEFAULT_EVENT_BUFFER,
        global = true
    )]
    pub event_buffer: usize,

    /// Log filter (tracing syntax), e.g. `info` or `orch=debug,sqlx=warn`.
    #[arg(long, env = "ORCH_LOG", default_value = "warn", global = true)]
    pub log: String,

    /// Log format on stderr: `text` or `json`.
    #[arg(long, env = "ORCH_LOG_FORMAT", default_value = "text", global = true)]
    pub log_format: LogFormat,

    /// OTLP base URL (e.g. http://otel-collector:4318): spans are exported to `<it>/v1/traces`
    /// as OTLP/HTTP JSON. Unset, nothing is traced.
    #[arg(long, env = "OTEL_EXPORTER_OTLP_ENDPOINT", global = true)]
    pub otel_endpoint: Option<String>,

    /// The W3C traceparent a worker continues (set by the launcher).
    #[arg(long, env = "TRACEPARENT", global = true, hide = true)]
    pub traceparent: Option<String>,

    /// What this binary was built with (`orch::Orch::new(extension)`), bound to its parsed
    /// settings: where every command gets the definitions and the extra API routes. Not a flag.
    #[arg(skip)]
    pub extension: crate::bound::BoundExtension,
}

/// How logs are printed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum LogFormat {
    Text,
    Json,
}

impl Settings {
    /// Reads the secrets given as files (`DATABASE_URL_FILE`) into the settings, once, at
    /// start-up: both the value and its file is an error, as is a file that cannot be read.
    pub fn load_secret_files(&mut self) -> Result<(), orchestrator::secrets::SecretError> {
        let url = orchestrator::secrets::resolve_secret(
            "DATABASE_URL",
            self.database_url.take(),
            self.database_url_file.as_deref(),
        )?;
        self.database_url = url.map(|secret| secret.expose().to_owned());
        Ok(())
    }

    /// The database URL in force.
    pub fn database_url(&self) -> String {
        match &self.database_url {
            Some(url) => url.clone(),
            None => format!("sqlite://{}", self.orch_home.join("orch.db").display()),
        }
    }

    pub fn force_path_style(&self) -> bool {
        self.s3_force_path_style
            .unwrap_or(self.aws_endpoint_url.is_some())
    }
}

/// A positive duration such as `5s`, `500ms` or `1m`.
pub fn parse_interval(raw: &str) -> Result<Duration, String> {
    match humantime::parse_duration(raw.trim()) {
        Ok(d) if !d.is_zero() => Ok(d),
        Ok(_) => Err(format!(
            "'{raw}' is zero; use a positive duration such as 5s or 500ms"
        )),
        Err(e) => Err(format!(
            "'{raw}' is not a duration ({e}); use e.g. 5s or 500ms"
        )),
    }
}

/// A database URL fit for printing: the password is masked.
pub fn redact_url(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(mut parsed) if parsed.password().is_some() => {
            let _ = parsed.set_password(Some("****"));
            parsed.to_string()
        }
        _ => url.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    #[test]
    fn intervals_are_positive_durations() {
        assert_eq!(super::parse_interval("5s"), Ok(Duration::from_secs(5)));
        assert_eq!(
            super::parse_interval("500ms"),
            Ok(Duration::from_millis(500))
        );
        let zero = super::parse_interval("0s").unwrap_err();
        assert!(zero.contains("'0s' is zero"), "{zero}");
        let bad = super::parse_interval("often").unwrap_err();
        assert!(bad.contains("'often' is not a duration"), "{bad}");
    }
    #[test]
    fn passwords_never_print() {
        assert_eq!(
            super::redact_url("postgres://orch:s3cret@db:5432/orch"),
            "postgres://orch:****@db:5432/orch"
        );
        assert_eq!(
            super::redact_url("sqlite://.orch/orch.db"),
            "sqlite://.orch/orch.db"
        );
    }
}
