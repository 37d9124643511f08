//! Job files: pipelines without Rust. A directory of TOML files, one job of command assets
//! per file, validated like Rust definitions and merged into them:
//!
//! ```toml
//! name = "py_product_job"
//! description = "The seed's product pipeline in Python"
//! config = { source_url = "https://jsonplaceholder.typicode.com/posts" }   # default run config
//! tags = { team = "data" }                     # on every run
//! max_runtime = "1h"
//!
//! [[assets]]
//! name = "fetch_data"
//! command = ["python3", "fetch.py"]            # argv, run in the file's directory
//! timeout = "2m"
//! retry = { attempts = 3, delay = "500ms" }
//! freshness = { max_lag = "7h", warn_lag = "6h" }
//!
//! [[assets]]
//! name = "process_data"
//! upstream = ["fetch_data"]
//! command = ["python3", "process.py"]
//! env = { LOG_LEVEL = "info" }
//! checks = [{ name = "has_rows", blocking = true, command = ["python3", "check.py"] }]
//!
//! [[schedules]]
//! name = "py_product_hourly"
//! cron = "0 0 * * * *"
//! enabled = false
//!
//! [launcher.kubernetes]                        # per-job launcher settings, as given
//! image = "registry.example/orch-python:1"
//! ```
//!
//! `parse` reads the raw shape (spans kept), `validate` types and checks it collecting every
//! fault, `build` makes the `JobDef` (cycle check; a check with a `command` runs it after its
//! asset, one without is reported by the asset through Pipes), `load` reads files and directories and
//! merges them into the compiled-in definitions. Faults print as `path:line:column: fault`.

mod build;
mod error;
mod load;
mod parse;
mod validate;

#[cfg(test)]
mod tests;

pub use error::{Fault, JobFileError, JobFileErrors, Position};
pub use load::{JobFile, JobsDir, load_dir, load_file, load_path, merge, parse_file};
pub use validate::{AssetSpec, CheckSpec, JobSpec, ScheduleSpec};
