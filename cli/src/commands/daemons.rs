//! `orch daemons [--json]`: the daemon replicas registered in the store, with their heartbeat
//! age, alive or dead by the lease, and what each last did.

use std::process::ExitCode;

use chrono::Utc;
use serde_json::json;

use crate::app;
use crate::error::CliError;
use crate::output::print_json;
use crate::settings::Settings;

pub async fn list(settings: &Settings, json: bool) -> Result<ExitCode, CliError> {
    let store = app::open_store(settings).await?;
    let now = Utc::now();
    let daemons: Vec<web::daemon_json::DaemonJson> = store
        .list_daemons()
        .await?
        .iter()
        .map(|d| web::daemon_json::DaemonJson::new(d, now))
        .collect();
    if json {
        print_json(&json!({ "daemons": daemons }))?;
        return Ok(ExitCode::SUCCESS);
    }
    println!(
        "{:<38} {:<20} {:>8} {:<6} {:>10}  LAST ACTION",
        "DAEMON", "HOST", "PID", "STATE", "HEARTBEAT"
    );
    for d in &daemons {
        println!(
            "{:<38} {:<20} {:>8} {:<6} {:>8}ms  {}",
            d.id,
            d.host,
            d.pid,
            d.state,
            d.heartbeat_age_ms,
            d.last_action.as_deref().unwrap_or("—")
        );
    }
    if daemons.is_empty() {
        println!(
            "no daemon is registered: queued runs wait until one runs (orch daemon, or orch dev)"
        );
    }
    Ok(ExitCode::SUCCESS)
}
