//! orch's core library: the domain model (runs, statuses, events, assets), the pipelines SDK
//! (asset and job definitions) and run storage behind one interface with PostgreSQL and SQLite
//! backends.
//!
//! Dependencies point inwards: `storage` knows `domain`; `definitions` knows `domain`; `domain`
//! knows neither and does no IO.

pub mod definitions;
pub mod domain;
pub mod storage;
