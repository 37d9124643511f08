//! One module per command.

pub mod assets;
pub mod audit;
pub mod auth;
pub mod backfill;
pub mod cancel;
pub mod daemon;
pub mod daemons;
pub mod jobs;
pub mod launch;
pub mod logs;
pub mod migrate;
pub mod openapi;
pub mod partitions;
pub mod prune;
pub mod reexecute;
pub mod run;
pub mod runs;
pub mod schedules;
pub mod sensors;
pub mod web;
pub mod worker;
