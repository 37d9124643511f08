//! The stock `orch` binary: the orch library (`cli/src/lib.rs`) with the seed pipelines and
//! what they bring through the extension points (`pipelines::Seeds`).

use std::process::ExitCode;

fn main() -> ExitCode {
    orch::Orch::new(pipelines::Seeds).main()
}
