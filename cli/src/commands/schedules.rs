//! `orch schedules list|on|off|ticks`: the schedules in force (declared with the jobs, with
//! `orch.toml`'s overrides and additions), their persisted on/off switch and their ticks.

use std::process::ExitCode;

use chrono::{DateTime, Utc};
use orchestrator::definitions::ScheduleDef;
use orchestrator::domain::ScheduleSwitch;

use crate::app;
use crate::error::CliError;
use crate::output::{ScheduleJson, TickJson, print_json, timestamp};
use crate::settings::Settings;

/// Arguments of `orch schedules ticks`.
#[derive(Debug, Clone, clap::Args)]
pub struct TicksArgs {
    /// The schedule.
    pub name: String,
    /// At most this many ticks (at most 1000).
    #[arg(long, default_value_t = 20)]
    pub limit: u32,
    /// Ticks older than this tick time (RFC 3339; the cursor of the next page).
    #[arg(long)]
    pub before: Option<String>,
    #[arg(long)]
    pub json: bool,
}

/// The schedules in force, or a configuration error.
async fn effective(settings: &Settings) -> Result<Vec<ScheduleDef>, CliError> {
    let config = app::orch_config(settings)?;
    let definitions = app::definitions(settings).await?;
    app::schedules(&config, &definitions)
}

/// The schedule called `name`, or exit code 2 naming the known ones.
fn find(schedules: Vec<ScheduleDef>, name: &str) -> Result<ScheduleDef, CliError> {
    let known: Vec<String> = schedules.iter().map(|s| s.name.to_string()).collect();
    schedules
        .into_iter()
        .find(|s| s.name.as_str() == name)
        .ok_or_else(|| {
            let known = if known.is_empty() {
                "none".to_owned()
            } else {
                known.join(", ")
            };
            CliError::config(format!(
                "unknown schedule '{name}' (known schedules: {known})"
            ))
        })
}

pub async fn list(settings: &Settings, json: bool) -> Result<ExitCode, CliError> {
    let schedules = effective(settings).await?;
    let store = app::open_store(settings).await?;
    let states = store.list_schedule_states().await?;
    let now = Utc::now();
    let shown: Vec<ScheduleJson> = schedules
        .iter()
        .map(|def| ScheduleJson::with_states(def, &states, now))
        .collect();
    if json {
        print_json(&shown)?;
        return Ok(ExitCode::SUCCESS);
    }
    println!(
        "{:<28} {:<24} {:<18} {:<18} {:<13} NEXT TICK",
        "NAME", "JOB", "CRON", "TIMEZONE", "STATE"
    );
    for s in &shown {
        let state = format!(
            "{}{}",
            if s.enabled { "on" } else { "off" },
            if s.state == "default" {
                " (default)"
            } else {
                ""
            }
        );
        println!(
            "{:<28} {:<24} {:<18} {:<18} {:<13} {}",
            s.name,
            s.job,
            s.cron,
            s.timezone,
            state,
            s.next_tick.as_deref().unwrap_or("-")
        );
    }
    Ok(ExitCode::SUCCESS)
}

/// `orch schedules on|off <name>`.
pub async fn switch(
    settings: &Settings,
    name: &str,
    switch: ScheduleSwitch,
) -> Result<ExitCode, CliError> {
    let def = find(effective(settings).await?, name)?;
    let store = app::open_store(settings).await?;
    let state = store.switch_schedule(&def.name, switch).await?;
    let action = if state.enabled {
        "schedule.on"
    } else {
        "schedule.off"
    };
    crate::commands::audit::record(store.as_ref(), action, def.name.as_str()).await;
    if state.enabled {
        let next = def
            .next_tick_after(Utc::now())
            .map_or_else(|| "none".to_owned(), timestamp);
        println!("schedule {} is on; next tick {next}", def.name);
    } else {
        println!("schedule {} is off", def.name);
    }
    Ok(ExitCode::SUCCESS)
}

pub async fn ticks(settings: &Settings, args: &TicksArgs) -> Result<ExitCode, CliError> {
    let before = args
        .before
        .as_deref()
        .map(|raw| {
            DateTime::parse_from_rfc3339(raw)
                .map(|t| t.with_timezone(&Utc))
                .map_err(|e| {
                    CliError::config(format!("--before '{raw}' is not an RFC 3339 time: {e}"))
                })
        })
        .transpose()?;
    let def = find(effective(settings).await?, &args.name)?;
    let store = app::open_store(settings).await?;
    let ticks = store
        .list_ticks(&def.name, before, args.limit.max(1))
        .await?;
    if args.json {
        let ticks: Vec<TickJson> = ticks.iter().map(TickJson::from).collect();
        print_json(&ticks)?;
        return Ok(ExitCode::SUCCESS);
    }
    println!("{:<22} {:<8} {:<36}  ERROR", "TICK", "STATUS", "RUN");
    for tick in &ticks {
        println!(
            "{:<22} {:<8} {:<36}  {}",
            timestamp(tick.tick_time),
            tick.status.as_str(),
            tick.run_id
                .map_or_else(|| "-".to_owned(), |r| r.to_string()),
            tick.error.as_deref().unwrap_or("")
        );
    }
    Ok(ExitCode::SUCCESS)
}
