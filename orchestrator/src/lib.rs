//! orch's core library: the domain model (runs, statuses, events, assets), the pipelines SDK
//! (asset, job and schedule definitions), run storage behind one interface with PostgreSQL and
//! SQLite backends, the operator's `orch.toml` (`config`) and the daemon's loops (`daemon`).
//!
//! Dependencies point inwards: `storage` knows `domain`; `definitions` knows `domain`; `domain`
//! knows neither and does no IO.

pub mod assets;
pub mod backfill;
pub mod config;
pub mod daemon;
pub mod definitions;
pub mod domain;
pub mod jobfile;
pub mod launcher;
pub mod partition_status;
pub mod redact;
pub mod retry;
pub mod run_control;
pub mod secrets;
pub mod snapshot;
pub mod storage;
pub mod telemetry;
