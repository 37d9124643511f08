//! orch's pipelines: the asset and job definitions this build of orch knows. Assets get what
//! they need from the outside world (URLs, the object store) through [`PipelineResources`],
//! which the binary builds from its configuration; nothing here reads the environment.

pub mod product;

use std::sync::Arc;

use orchestrator::definitions::{DefinitionError, Definitions, ObjectStore};

/// Connections and settings the assets use.
#[derive(Debug, Clone)]
pub struct PipelineResources {
    /// Where `fetch_data` reads posts unless the run config says otherwise (`PRODUCT_API_URL`).
    pub product_api_url: String,
    /// Where `store_to_s3` writes its JSON (an S3 bucket, or `$ORCH_HOME/objects`).
    pub objects: Arc<dyn ObjectStore>,
}

/// Every job, schedule and run-status sensor, validated.
pub fn definitions(resources: &PipelineResources) -> Result<Definitions, DefinitionError> {
    Definitions::new(vec![product::product_pipeline_job(resources)?])?
        .with_schedules(vec![product::product_pipeline_schedule()?])?
        .with_sensors(vec![product::product_pipeline_failure_sensor()?])
}
