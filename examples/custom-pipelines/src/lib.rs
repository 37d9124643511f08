//! `hello_job`, a pipeline of its own: `greeting` (the run config's `name`, retried on failure)
//! → `message` (the sentence, with its length as metadata), and `hello_schedule`, every morning
//! at 08:00 UTC, off until someone switches it on. `src/main.rs` makes it a complete orch.

use std::time::Duration;

use orch::orchestrator::definitions::{
    AssetContext, AssetDef, AssetError, AssetOutput, DefinitionError, Definitions, JobDef,
    RetryPolicy, ScheduleDef,
};
use orch::orchestrator::domain::ScheduleSwitch;
use orch::{Context, NoSettings};
use serde_json::{Map, Value, json};

/// The job's name.
pub const JOB: &str = "hello_job";

/// Every job and schedule of this binary, validated.
pub fn definitions(_cx: &Context<'_, NoSettings>) -> Result<Definitions, DefinitionError> {
    Definitions::new(vec![hello_job()?])?.with_schedules(vec![hello_schedule()?])
}

/// `greeting` → `message`; config `name` (default `world`).
pub fn hello_job() -> Result<JobDef, DefinitionError> {
    let greeting = AssetDef::builder("greeting")
        .description("Who to greet: the run config's `name`.")
        .retry(RetryPolicy::exponential(3, Duration::from_millis(200)))
        .compute(greeting)?;
    let message = AssetDef::builder("message")
        .upstream(&["greeting"])
        .description("The greeting as a sentence.")
        .compute(message)?;
    let mut config = Map::new();
    config.insert("name".into(), json!("world"));
    JobDef::new(
        JOB,
        "Greets someone: an example of pipelines in your own crate.",
        vec![greeting, message],
        config,
    )
}

/// `hello_job` at 08:00 UTC every day, off by default (`custom-pipelines schedules on
/// hello_schedule` switches it on).
pub fn hello_schedule() -> Result<ScheduleDef, DefinitionError> {
    ScheduleDef::builder("hello_schedule", JOB, "0 0 8 * * *")
        .timezone("UTC")
        .default_switch(ScheduleSwitch::Off)
        .build()
}

async fn greeting(ctx: AssetContext) -> Result<AssetOutput, AssetError> {
    let name = ctx.config_str("name").unwrap_or("world").trim().to_owned();
    if name.is_empty() {
        return Err(AssetError::fatal(
            "config `name` is empty; give a name to greet",
        ));
    }
    ctx.info(format!("greeting {name}"));
    Ok(AssetOutput::new(Value::String(name)))
}

async fn message(ctx: AssetContext) -> Result<AssetOutput, AssetError> {
    let name: String = ctx.input("greeting")?;
    let sentence = format!("Hello, {name}!");
    let length = sentence.chars().count();
    Ok(AssetOutput::new(json!({ "message": sentence })).with_metadata("length", length))
}
