//! The weather products read back: `/api/v1/products` (`api.rs`, with its TTL cache in
//! `cache.rs`) and `orch products list | download | summary` (`cli.rs`), both over
//! `crate::weather::products`.

pub mod api;
mod cache;
pub mod cli;
