//! [`PgCluster`]: a PostgreSQL cluster a test owns. `initdb` into a temporary directory, the
//! server on a free loopback port (trust authentication, no Unix socket outside that directory),
//! stopped `fast` or `immediate` and started again on the same port by the test, removed when
//! dropped. The shared server on 5432 is never touched.
//!
//! PostgreSQL refuses to run as root: when the test runs as root, `initdb` and `pg_ctl` run as
//! the `postgres` user (`runuser -u postgres --`) and the directory is handed to that user.

use std::net::TcpListener;
use std::path::PathBuf;
use std::process::Output;

use tempfile::TempDir;
use tokio::process::Command;

/// How `pg_ctl stop` shuts the server down.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StopMode {
    /// Rolls back open transactions, closes connections, checkpoints.
    Fast,
    /// Kills every process at once; the next start recovers from the WAL (a crash).
    Immediate,
}

impl StopMode {
    fn as_arg(self) -> &'static str {
        match self {
            Self::Fast => "fast",
            Self::Immediate => "immediate",
        }
    }
}

/// Why a cluster could not be made or driven.
#[derive(Debug, thiserror::Error)]
pub enum PgClusterError {
    #[error("no PostgreSQL binaries under /usr/lib/postgresql/*/bin (install postgresql)")]
    NoBinaries,
    #[error("{what}: {source}")]
    Io {
        what: String,
        #[source]
        source: std::io::Error,
    },
    #[error("{command} failed ({status}): {stderr}\nserver log:\n{log}")]
    Command {
        command: String,
        status: String,
        stderr: String,
        log: String,
    },
}

/// A running (or stopped) PostgreSQL server of the test's own.
#[derive(Debug)]
pub struct PgCluster {
    bin: PathBuf,
    dir: TempDir,
    port: u16,
    /// Run the binaries as `postgres` (we are root).
    as_postgres: bool,
    running: bool,
}

impl PgCluster {
    /// Creates the cluster and starts it.
    pub async fn start() -> Result<Self, PgClusterError> {
        let bin = find_bin_dir().ok_or(PgClusterError::NoBinaries)?;
        let dir = tempfile::Builder::new()
            .prefix("orch-pg-")
            .tempdir()
            .map_err(|source| io("create the cluster's directory", source))?;
        let as_postgres = rustix::process::getuid().is_root();
        if as_postgres {
            let (uid, gid) = postgres_ids().await?;
            std::os::unix::fs::chown(dir.path(), Some(uid), Some(gid))
                .map_err(|source| io("chown the cluster's directory to postgres", source))?;
        }
        let port = free_port()?;
        let mut cluster = Self {
            bin,
            dir,
            port,
            as_postgres,
            running: false,
        };
        let data = cluster.data_dir();
        cluster
            .pg(
                "initdb",
                &[
                    "-D",
                    &data.display().to_string(),
                    "-A",
                    "trust",
                    "-U",
                    "postgres",
                    "--no-sync",
                ],
            )
            .await?;
        cluster.start_server().await?;
        Ok(cluster)
    }

    /// The port it listens on (127.0.0.1).
    pub fn port(&self) -> u16 {
        self.port
    }

    /// `host:port` of the server.
    pub fn addr(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    /// A URL of `database` on this server, as user `postgres`.
    pub fn url(&self, database: &str) -> String {
        format!("postgres://postgres@127.0.0.1:{}/{database}", self.port)
    }

    /// What the server wrote to its log.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.log_path()).unwrap_or_default()
    }

    /// Creates a database (with the cluster's own `createdb`).
    pub async fn create_database(&self, name: &str) -> Result<(), PgClusterError> {
        let port = self.port.to_string();
        self.pg(
            "createdb",
            &["-h", "127.0.0.1", "-p", &port, "-U", "postgres", name],
        )
        .await
        .map(|_| ())
    }

    /// Stops the server and waits until it is down.
    pub async fn stop(&mut self, mode: StopMode) -> Result<(), PgClusterError> {
        let data = self.data_dir().display().to_string();
        self.pg("pg_ctl", &["stop", "-D", &data, "-m", mode.as_arg(), "-w"])
            .await?;
        self.running = false;
        Ok(())
    }

    /// Starts a stopped server again on the same port.
    pub async fn start_server(&mut self) -> Result<(), PgClusterError> {
        let data = self.data_dir().display().to_string();
        let log = self.log_path().display().to_string();
        let options = format!(
            "-p {} -c listen_addresses=127.0.0.1 -c unix_socket_directories={} \
             -c fsync=off -c max_connections=200",
            self.port,
            self.dir.path().display()
        );
        self.pg(
            "pg_ctl",
            &[
                "start", "-D", &data, "-l", &log, "-o", &options, "-w", "-t", "30",
            ],
        )
        .await?;
        self.running = true;
        Ok(())
    }

    /// Stops (with `mode`) and starts the server again.
    pub async fn restart(&mut self, mode: StopMode) -> Result<(), PgClusterError> {
        self.stop(mode).await?;
        self.start_server().await
    }

    fn data_dir(&self) -> PathBuf {
        self.dir.path().join("data")
    }

    fn log_path(&self) -> PathBuf {
        self.dir.path().join("server.log")
    }

    fn command(&self, program: &str) -> Command {
        let path = self.bin.join(program);
        let mut command = if self.as_postgres {
            let mut c = Command::new("runuser");
            c.args(["-u", "postgres", "--"]).arg(path);
            c
        } else {
            Command::new(path)
        };
        command.current_dir(self.dir.path());
        command
    }

    async fn pg(&self, program: &str, args: &[&str]) -> Result<Output, PgClusterError> {
        let what = format!("{program} {}", args.join(" "));
        let output = self
            .command(program)
            .args(args)
            .output()
            .await
            .map_err(|source| io(&what, source))?;
        if output.status.success() {
            return Ok(output);
        }
        Err(PgClusterError::Command {
            command: what,
            status: output.status.to_string(),
            stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
            log: self.log(),
        })
    }
}

impl Drop for PgCluster {
    fn drop(&mut self) {
        if self.running {
            // Synchronous: drop cannot await. The directory goes with the TempDir afterwards.
            let data = self.data_dir();
            let program = self.bin.join("pg_ctl");
            let mut command = if self.as_postgres {
                let mut c = std::process::Command::new("runuser");
                c.args(["-u", "postgres", "--"]).arg(program);
                c
            } else {
                std::process::Command::new(program)
            };
            let _ = command
                .arg("stop")
                .arg("-D")
                .arg(&data)
                .args(["-m", "immediate", "-w"])
                .output();
        }
    }
}

fn io(what: &str, source: std::io::Error) -> PgClusterError {
    PgClusterError::Io {
        what: what.to_owned(),
        source,
    }
}

/// The newest `/usr/lib/postgresql/<version>/bin` holding `pg_ctl`.
fn find_bin_dir() -> Option<PathBuf> {
    let mut versions: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .ok()?
        .filter_map(Result::ok)
        .filter_map(|entry| {
            let version = entry.file_name().to_string_lossy().parse::<u32>().ok()?;
            let bin = entry.path().join("bin");
            bin.join("pg_ctl").exists().then_some((version, bin))
        })
        .collect();
    versions.sort();
    versions.pop().map(|(_, bin)| bin)
}

/// The `postgres` user's uid and gid.
async fn postgres_ids() -> Result<(u32, u32), PgClusterError> {
    let id = |flag: &'static str| async move {
        let out = Command::new("id")
            .args([flag, "postgres"])
            .output()
            .await
            .map_err(|source| io("id postgres", source))?;
        String::from_utf8_lossy(&out.stdout)
            .trim()
            .parse::<u32>()
            .map_err(|_| PgClusterError::Command {
                command: format!("id {flag} postgres"),
                status: out.status.to_string(),
                stderr: "no `postgres` user to run PostgreSQL as (we are root)".into(),
                log: String::new(),
            })
    };
    Ok((id("-u").await?, id("-g").await?))
}

/// A port nobody listens on now (the OS picks it; free again once the probe is closed).
pub(crate) fn free_port() -> Result<u16, PgClusterError> {
    let listener =
        TcpListener::bind("127.0.0.1:0").map_err(|source| io("bind 127.0.0.1:0", source))?;
    let port = listener
        .local_addr()
        .map_err(|source| io("read the probe's address", source))?
        .port();
    Ok(port)
}
