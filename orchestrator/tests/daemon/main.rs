//! The daemon's loops against real stores. `loops` drives the coordinator and monitor with the
//! real local launcher and stand-in workers on SQLite. `scheduler` drives the schedule loop:
//! each test runs on a fresh PostgreSQL database (`#[sqlx::test]`, needs `DATABASE_URL`) and on
//! a fresh SQLite file, driven either by a chosen clock (`tick_once(now)`) or in real time with
//! seconds-level schedules (`run(shutdown)`). `alerts` drives the sensor evaluator and the alert
//! sender against the Slack stand-in HTTP server (`orch_test_support::slack`) on both backends.
//!
//! Run with `eval "$(scripts/test-services.sh)"` then `cargo nextest run --workspace -E
//! 'binary(daemon)'`.

// A failing unwrap is how a test reports a broken precondition.
#![allow(clippy::unwrap_used)]

mod support;

mod alerts;
mod asset_alerts;
mod freshness;
mod handover;
mod loops;
mod scheduler;
