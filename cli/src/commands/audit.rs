//! `orch audit [--json]`: the audit log, newest first (see `orchestrator::storage::audit`); and
//! [`record`], with which the CLI's own mutations (prune, cancel, switches) are recorded as
//! `cli`.

use std::process::ExitCode;

use orchestrator::storage::{NewAuditRecord, RunStorage};

use crate::app;
use crate::error::CliError;
use crate::output::print_json;
use crate::settings::Settings;

/// Who and from where the CLI's mutations are recorded as.
const CLI: &str = "cli";

/// Arguments of `orch audit`.
#[derive(Debug, Clone, clap::Args)]
pub struct AuditArgs {
    /// At most this many records (at most 1000).
    #[arg(long, default_value_t = 50)]
    pub limit: u32,
    /// Records older than this record id (the cursor of the next page).
    #[arg(long)]
    pub before: Option<i64>,
    #[arg(long)]
    pub json: bool,
}

pub async fn list(settings: &Settings, args: &AuditArgs) -> Result<ExitCode, CliError> {
    let store = app::open_store(settings).await?;
    let records = store.list_audit(args.before, args.limit.max(1)).await?;
    if args.json {
        let json: Vec<serde_json::Value> = records
            .iter()
            .map(|r| {
                serde_json::json!({
                    "id": r.id,
                    "at": r.at.to_rfc3339(),
                    "who": r.who,
                    "action": r.action,
                    "target": r.target,
                    "client": r.client,
                })
            })
            .collect();
        print_json(&json)?;
        return Ok(ExitCode::SUCCESS);
    }
    println!(
        "{:<8} {:<25} {:<24} {:<14} {:<38} CLIENT",
        "ID", "AT", "WHO", "ACTION", "TARGET"
    );
    for r in &records {
        println!(
            "{:<8} {:<25} {:<24} {:<14} {:<38} {}",
            r.id,
            r.at.format("%Y-%m-%d %H:%M:%S UTC"),
            r.who,
            r.action,
            r.target,
            r.client
        );
    }
    Ok(ExitCode::SUCCESS)
}

/// Records a mutation the CLI made; a failure to record is a warning, the mutation is done.
pub async fn record(store: &dyn RunStorage, action: &str, target: &str) {
    let record = NewAuditRecord {
        who: CLI.to_owned(),
        action: action.to_owned(),
        target: target.to_owned(),
        client: CLI.to_owned(),
    };
    if let Err(e) = store.record_audit(&record).await {
        eprintln!("orch: warning: the audit log did not record this {action}: {e}");
    }
}
