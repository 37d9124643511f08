//! `product_pipeline_job`, the seed's reference job: `fetch_data` → `process_data` →
//! `store_to_s3`. Its output (the JSON object and its key layout) matches the Dagster version
//! exactly, so downstream consumers need no change.

mod checks;
mod fetch;
mod process;
mod store;

use std::time::Duration;

use orchestrator::definitions::{
    AssetDef, DefinitionError, JobDef, RetryPolicy, ScheduleDef, SensorDef,
};
use orchestrator::domain::ScheduleSwitch;
use serde_json::{Map, Value, json};

use crate::PipelineResources;

pub use process::summarize;
pub use store::object_key;

/// The upstream API's default, as in the seed.
pub const DEFAULT_PRODUCT_API_URL: &str = "https://jsonplaceholder.typicode.com/posts";

/// The job and its three assets.
pub fn product_pipeline_job(resources: &PipelineResources) -> Result<JobDef, DefinitionError> {
    let retry = RetryPolicy::exponential(3, Duration::from_millis(500));
    let http = fetch::client();
    let fetch_data = AssetDef::builder("fetch_data")
        .description("GET a JSON array of posts from the product API (or a file:// URL).")
        .retry(retry)
        .check(checks::has_posts()?)
        .check(checks::titles_present()?)
        .compute(move |ctx| fetch::fetch_data(http.clone(), ctx))?;
    let process_data = AssetDef::builder("process_data")
        .upstream(&["fetch_data"])
        .description("Count the posts, average their title length, keep a sample.")
        .compute(process::process_data)?;
    let objects = resources.objects.clone();
    let store_to_s3 = AssetDef::builder("store_to_s3")
        .upstream(&["process_data"])
        .description("Write the summary as pretty JSON to data_YYYYMMDD_HHMMSS.json in the bucket.")
        .retry(retry)
        .compute(move |ctx| store::store_to_s3(objects.clone(), ctx))?;
    let mut config = Map::new();
    config.insert(
        "source_url".into(),
        Value::String(resources.product_api_url.clone()),
    );
    config.insert("timeout_seconds".into(), json!(fetch::DEFAULT_TIMEOUT_SECS));
    config.insert(
        crate::body::MAX_BODY_KEY.into(),
        json!(crate::body::DEFAULT_MAX_BODY_BYTES),
    );
    JobDef::new(
        "product_pipeline_job",
        "Fetch posts from the product API, summarize them and store the summary as JSON.",
        vec![fetch_data, process_data, store_to_s3],
        config,
    )
}

/// `product_pipeline_job` every hour on the hour, UTC. Off until someone switches it on (`orch
/// schedules on product_pipeline_schedule`, or `enabled = true` in orch.toml), so `orch dev`
/// launches nothing by surprise.
pub fn product_pipeline_schedule() -> Result<ScheduleDef, DefinitionError> {
    ScheduleDef::builder(
        "product_pipeline_schedule",
        "product_pipeline_job",
        "0 0 * * * *",
    )
    .timezone("UTC")
    .default_switch(ScheduleSwitch::Off)
    .build()
}

/// The seed's Dagster `run_failure_sensor` for `product_pipeline_job`: every failed run posts a
/// "Job failed" message to Slack (`ALERT_WEBHOOK_URL`). On by default, as in the seed's
/// deployment: an alert nobody switched on is an alert lost.
pub fn product_pipeline_failure_sensor() -> Result<SensorDef, DefinitionError> {
    SensorDef::run_failure("product_pipeline_failure_sensor")
        .job("product_pipeline_job")
        .description("Alert Slack when product_pipeline_job fails.")
        .build()
}
