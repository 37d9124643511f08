//! `custom-pipelines`: orch with `hello_job` — `run`, `launch`, `daemon`, `dev`, `web`,
//! `worker`, `migrate` and every other command, from one call to the orch library.

use std::process::ExitCode;

fn main() -> ExitCode {
    orch::Orch::definitions(custom_pipelines::definitions)
        .name("custom-pipelines")
        .main()
}
