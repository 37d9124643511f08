//! Dev-only helpers shared by every test suite of the workspace (a `[dev-dependencies]` entry
//! only; no shipped crate depends on it). One implementation of each: waiting for a run's status,
//! the definitions fixtures, the test services' environment, a PostgreSQL cluster a test owns
//! (so it can restart or cut it without touching the shared server), a TCP fault proxy, and the
//! drift check between a router and its OpenAPI document (`api_drift`).

pub mod api_drift;
pub mod fault_proxy;
pub mod pg_cluster;
