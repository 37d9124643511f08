//! Dev-only helpers shared by every test suite of the workspace (a `[dev-dependencies]` entry
//! only; no shipped crate depends on it). One implementation of each: waiting for a run's status,
//! requests through a router without a network (`http`), the Slack stand-in (`slack`), a
//! PostgreSQL cluster a test owns (so it can restart or cut it without touching the shared
//! server) and a TCP fault proxy.

pub mod fault_proxy;
pub mod http;
pub mod pg_cluster;
pub mod runs;
pub mod services;
pub mod slack;
pub mod wait;
