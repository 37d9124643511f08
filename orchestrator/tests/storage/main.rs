//! The run storage contract, checked against both backends. Every test here is written once as
//! `async fn name(store: Arc<dyn RunStorage>)` and run twice by `support::storage_tests!`: on a
//! fresh PostgreSQL database (`#[sqlx::test]`, needs `DATABASE_URL`) and on a fresh SQLite file.
//! A behaviour that differs between the two is a bug in `orchestrator::storage`.
//!
//! Run with `DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres cargo test -p orchestrator
//! --test storage`.

// A failing unwrap is how a test reports a broken precondition.
#![allow(clippy::unwrap_used)]

mod support;

mod assets;
mod audit;
mod backfills;
mod browse;
mod checks;
mod concurrent_writes;
mod daemons;
mod ending;
mod events;
mod list;
mod migrate;
mod numbered_events;
mod observe;
mod partition_status;
mod partitions;
mod queue;
mod races;
mod redaction;
mod retention;
mod runs;
mod schedules;
mod sensors;
mod snapshots;
mod transitions;
