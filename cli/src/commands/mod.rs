//! One module per command.

pub mod jobs;
pub mod migrate;
pub mod run;
pub mod runs;
