//! `orch sensors list|on|off|ticks|alerts`: the run-status sensors declared with the jobs, their
//! persisted on/off switch, their ticks, and the alert outbox (delivered, pending, failed).

use std::process::ExitCode;

use orchestrator::definitions::{Definitions, SensorDef};
use orchestrator::domain::{AlertState, RunId, SensorSwitch};
use orchestrator::storage::AlertFilter;
use web::sensor_json::{AlertJson, SensorJson, SensorTickJson};

use crate::app;
use crate::error::CliError;
use crate::output::{print_json, timestamp};
use crate::settings::Settings;

/// Arguments of `orch sensors ticks`.
#[derive(Debug, Clone, clap::Args)]
pub struct TicksArgs {
    /// The sensor.
    pub name: String,
    /// At most this many ticks (at most 1000).
    #[arg(long, default_value_t = 20)]
    pub limit: u32,
    /// Ticks older than this tick id (the cursor of the next page).
    #[arg(long)]
    pub before: Option<i64>,
    #[arg(long)]
    pub json: bool,
}

/// Arguments of `orch sensors alerts`.
#[derive(Debug, Clone, clap::Args)]
pub struct AlertsArgs {
    /// Only alerts in this state: pending, sending, delivered, failed or uncertain.
    #[arg(long)]
    pub state: Option<String>,
    /// Only the alerts of this sensor.
    #[arg(long)]
    pub sensor: Option<String>,
    /// Only the alerts about this run.
    #[arg(long)]
    pub run: Option<String>,
    /// At most this many alerts (at most 1000).
    #[arg(long, default_value_t = 20)]
    pub limit: u32,
    /// Alerts older than this alert id (the cursor of the next page).
    #[arg(long)]
    pub before: Option<i64>,
    #[arg(long)]
    pub json: bool,
}

/// The sensor called `name`, or exit code 2 naming the known ones.
fn find<'d>(definitions: &'d Definitions, name: &str) -> Result<&'d SensorDef, CliError> {
    definitions.sensor(name).ok_or_else(|| {
        let known: Vec<&str> = definitions
            .sensors()
            .iter()
            .map(|s| s.name.as_str())
            .collect();
        let known = if known.is_empty() {
            "none".to_owned()
        } else {
            known.join(", ")
        };
        CliError::config(format!("unknown sensor '{name}' (known sensors: {known})"))
    })
}

pub async fn list(settings: &Settings, json: bool) -> Result<ExitCode, CliError> {
    let definitions = app::definitions(settings).await?;
    let store = app::open_store(settings).await?;
    let states = store.list_sensor_states().await?;
    let shown: Vec<SensorJson> = definitions
        .sensors()
        .iter()
        .map(|def| SensorJson::with_states(def, &states))
        .collect();
    if json {
        print_json(&shown)?;
        return Ok(ExitCode::SUCCESS);
    }
    println!("{:<34} {:<26} {:<13} JOBS", "NAME", "STATUSES", "STATE");
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
        let jobs = if s.jobs.is_empty() {
            "(every job)".to_owned()
        } else {
            s.jobs.join(",")
        };
        println!(
            "{:<34} {:<26} {:<13} {jobs}",
            s.name,
            s.statuses.join(","),
            state
        );
    }
    Ok(ExitCode::SUCCESS)
}

/// `orch sensors on|off <name>`.
pub async fn switch(
    settings: &Settings,
    name: &str,
    switch: SensorSwitch,
) -> Result<ExitCode, CliError> {
    let definitions = app::definitions(settings).await?;
    let def = find(&definitions, name)?;
    let store = app::open_store(settings).await?;
    let state = store.switch_sensor(&def.name, switch).await?;
    let action = if state.enabled {
        "sensor.on"
    } else {
        "sensor.off"
    };
    crate::commands::audit::record(store.as_ref(), action, def.name.as_str()).await;
    println!(
        "sensor {} is {}",
        def.name,
        if state.enabled { "on" } else { "off" }
    );
    Ok(ExitCode::SUCCESS)
}

pub async fn ticks(settings: &Settings, args: &TicksArgs) -> Result<ExitCode, CliError> {
    let definitions = app::definitions(settings).await?;
    let def = find(&definitions, &args.name)?;
    let store = app::open_store(settings).await?;
    let ticks = store
        .list_sensor_ticks(&def.name, args.before, args.limit.max(1))
        .await?;
    if args.json {
        let ticks: Vec<SensorTickJson> = ticks.iter().map(SensorTickJson::from).collect();
        print_json(&ticks)?;
        return Ok(ExitCode::SUCCESS);
    }
    println!(
        "{:<10} {:<24} {:<8} {:>9}  RUNS",
        "ID", "TICK", "STATUS", "EVALUATED"
    );
    for tick in &ticks {
        let runs: Vec<String> = tick.run_ids.iter().map(ToString::to_string).collect();
        println!(
            "{:<10} {:<24} {:<8} {:>9}  {}",
            tick.id,
            timestamp(tick.tick_time),
            tick.status.as_str(),
            tick.evaluated,
            runs.join(",")
        );
    }
    Ok(ExitCode::SUCCESS)
}

pub async fn alerts(settings: &Settings, args: &AlertsArgs) -> Result<ExitCode, CliError> {
    let state = args
        .state
        .as_deref()
        .map(str::parse::<AlertState>)
        .transpose()
        .map_err(CliError::config)?;
    let run = args
        .run
        .as_deref()
        .map(RunId::parse)
        .transpose()
        .map_err(CliError::config)?;
    let definitions = app::definitions(settings).await?;
    let sensor = args
        .sensor
        .as_deref()
        .map(|name| find(&definitions, name).map(|def| def.name.clone()))
        .transpose()?;
    let store = app::open_store(settings).await?;
    let alerts = store
        .list_alerts(&AlertFilter {
            state,
            sensor,
            run,
            before: args.before,
            limit: args.limit.max(1),
        })
        .await?;
    if args.json {
        let alerts: Vec<AlertJson> = alerts.iter().map(AlertJson::from).collect();
        print_json(&alerts)?;
        return Ok(ExitCode::SUCCESS);
    }
    println!(
        "{:<8} {:<10} {:>8} {:<36} {:<24}  LAST ERROR",
        "ID", "STATE", "ATTEMPTS", "RUN", "SENSOR"
    );
    for alert in &alerts {
        println!(
            "{:<8} {:<10} {:>8} {:<36} {:<24}  {}",
            alert.id,
            alert.state.as_str(),
            alert.attempts,
            alert.run_id,
            alert.sensor,
            alert.last_error.as_deref().unwrap_or("")
        );
    }
    Ok(ExitCode::SUCCESS)
}
