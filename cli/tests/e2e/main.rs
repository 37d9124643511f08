//! End-to-end tests of the `orch` binary: `orch run product_pipeline_job` against a fixture
//! upstream in this process, on PostgreSQL + S3 (moto) and on the embedded default (SQLite and
//! local files); failures of every input the job depends on; retries; `orch runs list` and
//! `orch jobs list`; `orch schedules` and `orch.toml`; `orch worker` with its heartbeat and
//! cancellation; `orch runs cancel`, `reexecute` and `prune`; `orch web` serving the JSON API; the UI in headless Chromium (`browser`, `browser_assets`: Materialize selected from the job graph, health colours);
//! job files (`jobfiles`): `orch jobs validate`, loading at start, shell command assets; the
//! OpenAPI document (`openapi`) and schemathesis fuzzing the API of `orch dev` (`schemathesis`).
//!
//! Needs the test services: `eval "$(scripts/test-services.sh)"`, then
//! `cargo test -p orch --test e2e`.

// A failing unwrap is how a test reports a broken precondition.
#![allow(clippy::unwrap_used)]

mod access;
mod backfills;
mod browser;
mod browser_assets;
mod browser_backfills;
mod checks;
mod commands;
mod control;
mod cross_site;
mod failures;
mod jobfiles;
mod kubernetes;
mod limits;
mod listing;
mod openapi;
mod partitions;
mod pipeline;
mod products;
mod reload;
mod schedules;
mod schemathesis;
mod secrets;
mod selection;
mod support;
mod tag_check;
mod weather;
mod web;
mod worker;
