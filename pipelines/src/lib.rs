//! orch's pipelines: the asset and job definitions this build of orch knows. Assets get what
//! they need from the outside world (URLs, the object store) through [`PipelineResources`],
//! which the binary builds from its configuration. [`Seeds`] is the orch extension the stock
//! `orch` binary is built with (`seeds/`): their settings, `orch products` and the products API.

pub mod product;
pub mod seeds;
pub mod weather;

use std::sync::Arc;

use orchestrator::definitions::{DefinitionError, Definitions, ObjectStore};
use orchestrator::secrets::SecretSource;

pub use seeds::{SeedCommand, SeedSettings, Seeds};

/// Connections and settings the assets use.
#[derive(Debug, Clone)]
pub struct PipelineResources {
    /// Where `fetch_data` reads posts unless the run config says otherwise (`PRODUCT_API_URL`).
    pub product_api_url: String,
    /// Where `store_to_s3` writes its JSON (an S3 bucket, or `$ORCH_HOME/objects`).
    pub objects: Arc<dyn ObjectStore>,
    /// OpenWeather's current-weather endpoint, the default `api_url` of `fetch_weather`
    /// (`OPENWEATHER_API_URL`).
    pub openweather_api_url: String,
    /// Where `fetch_weather` reads its API key at the start of each run (`OPENWEATHER_API_KEY`
    /// or `OPENWEATHER_API_KEY_FILE`).
    pub openweather_api_key: SecretSource,
    /// Where `upload_to_s3` writes the weather products (`WEATHER_RESULTS_BUCKET`, or
    /// `$ORCH_HOME/objects`).
    pub weather_objects: Arc<dyn ObjectStore>,
}

/// Every job, schedule and run-status sensor, validated.
pub fn definitions(resources: &PipelineResources) -> Result<Definitions, DefinitionError> {
    Definitions::new(vec![
        product::product_pipeline_job(resources)?,
        weather::weather_product_job(resources)?,
    ])?
    .with_schedules(vec![
        product::product_pipeline_schedule()?,
        weather::weather_product_schedule()?,
    ])?
    .with_sensors(vec![product::product_pipeline_failure_sensor()?])
}
