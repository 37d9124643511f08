//! Dev-only helpers shared by every test suite of the workspace (a `[dev-dependencies]` entry
//! only; no shipped crate depends on it). One implementation of each: waiting for a run's status
//! or any condition (`wait`), migrated stores on both backends for `on_both_backends!` (`stores`),
//! requests through a router without a network (`http`), the Slack stand-in (`slack`), the test
//! services' environment (`services`), a PostgreSQL cluster a test owns (so it can restart or
//! cut it without touching the shared server), a TCP fault proxy, and the drift check between a
//! router and its OpenAPI document (`api_drift`).

pub mod api_drift;
pub mod fault_proxy;
pub mod http;
pub mod pg_cluster;
pub mod runs;
pub mod services;
pub mod slack;
pub mod stores;
pub mod wait;
