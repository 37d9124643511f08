//! The stock `orch` binary: the orch library (`cli/src/lib.rs`) with the seed pipelines.

use std::process::ExitCode;

fn main() -> ExitCode {
    orch::main()
}
