//! The seed pipelines as an orch extension ([`Seeds`]): the stock `orch` binary is
//! `orch::Orch::new(pipelines::Seeds).main()`. Everything orch's seeds need beyond their assets
//! comes in through the extension points a user crate gets (`orch_extension::Extension`):
//! their settings ([`SeedSettings`]: `PRODUCT_API_URL`, `S3_BUCKET_NAME`,
//! `OPENWEATHER_API_URL`, `WEATHER_RESULTS_BUCKET`, `ORCH_PRODUCTS_CACHE_TTL`; the OpenWeather
//! key is read at each run from `OPENWEATHER_API_KEY` or its `_FILE`), the `orch products`
//! subcommand and the `/api/v1/products` routes.

pub mod products;

use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use orch_extension::{Context, Extension, ExtensionError};
use orchestrator::definitions::{Definitions, ObjectStore};
use orchestrator::secrets::SecretSource;

use crate::PipelineResources;
use products::api::Products;
use products::cli::ProductsCommand;

/// The seed pipelines: `product_pipeline_job`, `weather_product_job`, their schedules and
/// sensor, the products API and `orch products`.
#[derive(Debug, Clone, Copy, Default)]
pub struct Seeds;

/// The seeds' settings: flags of every command, or their environment variables.
#[derive(Debug, Clone, clap::Args)]
pub struct SeedSettings {
    /// The posts API `fetch_data` reads unless the run config sets `source_url`.
    #[arg(
        long,
        env = "PRODUCT_API_URL",
        default_value = crate::product::DEFAULT_PRODUCT_API_URL,
        global = true
    )]
    pub product_api_url: String,

    /// The bucket `store_to_s3` writes to; unset, objects go under ORCH_HOME/objects.
    #[arg(long, env = "S3_BUCKET_NAME", global = true)]
    pub s3_bucket_name: Option<String>,

    /// OpenWeather's current-weather endpoint, the default `api_url` of weather_product_job.
    /// Its key comes from OPENWEATHER_API_KEY or OPENWEATHER_API_KEY_FILE (environment only,
    /// read at the start of each run).
    #[arg(
        long,
        env = "OPENWEATHER_API_URL",
        default_value = crate::weather::DEFAULT_OPENWEATHER_API_URL,
        global = true
    )]
    pub openweather_api_url: String,

    /// The bucket of the weather products (weather_product_job writes, `orch products` and
    /// /api/v1/products read); unset, ORCH_HOME/objects.
    #[arg(long, env = "WEATHER_RESULTS_BUCKET", global = true)]
    pub weather_results_bucket: Option<String>,

    /// How long /api/v1/products keeps a listing or a product in memory (`10m`, `30s`; `0`
    /// turns the cache off).
    #[arg(
        long,
        env = "ORCH_PRODUCTS_CACHE_TTL",
        default_value = "10m",
        value_parser = parse_ttl,
        global = true
    )]
    pub products_cache_ttl: Duration,
}

/// A duration such as `10m` or `30s`; `0` is allowed (no caching).
fn parse_ttl(raw: &str) -> Result<Duration, String> {
    if raw.trim() == "0" {
        return Ok(Duration::ZERO);
    }
    humantime::parse_duration(raw.trim())
        .map_err(|e| format!("'{raw}' is not a duration ({e}); use e.g. 10m, 30s or 0"))
}

/// The seeds' subcommands.
#[derive(Debug, clap::Subcommand)]
pub enum SeedCommand {
    /// The weather products (WEATHER_RESULTS_BUCKET, or ORCH_HOME/objects): list, download,
    /// summarize. Uses the standard AWS credential chain (an instance role works).
    Products {
        #[command(subcommand)]
        command: ProductsCommand,
    },
}

/// Where the weather products are: WEATHER_RESULTS_BUCKET, else ORCH_HOME/objects.
async fn weather_objects(cx: &Context<'_, SeedSettings>) -> Arc<dyn ObjectStore> {
    let bucket = cx.settings.weather_results_bucket.as_deref();
    cx.stores.bucket_or_local(bucket, "objects").await
}

impl Extension for Seeds {
    type Settings = SeedSettings;
    type Command = SeedCommand;

    async fn definitions(
        &self,
        cx: &Context<'_, SeedSettings>,
    ) -> Result<Definitions, ExtensionError> {
        let settings = cx.settings;
        let resources = PipelineResources {
            product_api_url: settings.product_api_url.clone(),
            objects: cx
                .stores
                .bucket_or_local(settings.s3_bucket_name.as_deref(), "objects")
                .await,
            openweather_api_url: settings.openweather_api_url.clone(),
            openweather_api_key: SecretSource::env("OPENWEATHER_API_KEY"),
            weather_objects: weather_objects(cx).await,
        };
        Ok(crate::definitions(&resources)?)
    }

    async fn api_routes(
        &self,
        cx: &Context<'_, SeedSettings>,
    ) -> Result<orch_extension::ApiRoutes, ExtensionError> {
        let products = Products::new(weather_objects(cx).await, cx.settings.products_cache_ttl);
        Ok(products::api::routes(Arc::new(products)))
    }

    async fn run_command(
        &self,
        command: &SeedCommand,
        cx: &Context<'_, SeedSettings>,
    ) -> Result<ExitCode, ExtensionError> {
        match command {
            SeedCommand::Products { command } => {
                products::cli::run(command, weather_objects(cx).await.as_ref()).await
            }
        }
    }
}
