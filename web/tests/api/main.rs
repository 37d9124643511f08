//! The JSON API through the real router (`oneshot`, no network) on real stores: every test runs
//! on a fresh PostgreSQL database and on a SQLite file.

// A failing unwrap is how a test reports a broken precondition.
#![allow(clippy::unwrap_used)]

mod audit;
mod auth;
mod backfills;
mod catalog;
mod control;
mod cross_site;
mod daemons;
mod launch;
mod launched_by;
mod metrics;
mod openapi;
mod partitions;
mod robustness;
mod roles;
mod runs;
mod sensors;
mod sso;
mod support;
mod tag_check;
