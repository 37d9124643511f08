//! `--json` output: the shapes live in `web::json`, shared with the JSON API, so both print the
//! same run and event JSON.

use serde::Serialize;
pub use web::json::{
    AssetHealthJson, EventJson, JobJson, RunJson, RunWithEventsJson, ScheduleJson, TickJson,
    timestamp,
};

/// Prints `value` as pretty JSON on stdout.
pub fn print_json(value: &impl Serialize) -> Result<(), crate::error::CliError> {
    let text = serde_json::to_string_pretty(value)
        .map_err(|e| crate::error::CliError::failure(format!("cannot encode JSON: {e}")))?;
    println!("{text}");
    Ok(())
}
