//! `weather_product_job`: `fetch_weather` → `transform_weather` → `upload_to_s3`, the seed's
//! weather pipeline. The current weather of named locations from OpenWeather, one clean record
//! per location, JSON Lines under `weather-products/YYYY/MM/DD/HHMMSS.jsonl` (UTC; the layout is
//! `products.rs`'s, shared with the readers). `weather_product_schedule` runs it
//! every six hours.

mod checks;
mod config;
mod fetch;
pub mod products;
mod transform;
mod upload;

use std::time::Duration;

use orchestrator::definitions::{AssetDef, DefinitionError, JobDef, RetryPolicy, ScheduleDef};
use orchestrator::domain::ScheduleSwitch;

use crate::PipelineResources;

pub use config::{DEFAULT_OPENWEATHER_API_URL, Location, UNITS, WeatherConfig, default_config};
pub use transform::{RECORD_FIELDS, clean_record};
pub use upload::{CONTENT_TYPE, to_json_lines};

/// The job's name, for schedules and launches.
pub const JOB: &str = "weather_product_job";

/// The job and its three assets.
pub fn weather_product_job(resources: &PipelineResources) -> Result<JobDef, DefinitionError> {
    let http = fetch::client();
    let api_key = resources.openweather_api_key.clone();
    // No step-level retry: fetch_weather retries each location on its own, so one flaky
    // location does not refetch the others.
    let fetch_weather = AssetDef::builder("fetch_weather")
        .description(
            "GET OpenWeather's current weather for each configured location; a failed location \
             is recorded and the others kept.",
        )
        .compute(move |ctx| fetch::fetch_weather(http.clone(), api_key.clone(), ctx))?;
    let transform_weather = AssetDef::builder("transform_weather")
        .upstream(&["fetch_weather"])
        .description("One clean record per location; malformed answers rejected with the reason.")
        .check(checks::all_locations()?)
        .compute(transform::transform_weather)?;
    let objects = resources.weather_objects.clone();
    let upload_to_s3 = AssetDef::builder("upload_to_s3")
        .upstream(&["transform_weather"])
        .description(
            "Write the records as JSON Lines to weather-products/YYYY/MM/DD/HHMMSS.jsonl in the \
             weather results bucket.",
        )
        .retry(RetryPolicy::exponential(3, Duration::from_millis(500)))
        .compute(move |ctx| upload::upload_to_s3(objects.clone(), ctx))?;
    JobDef::new(
        JOB,
        "Fetch the current weather of named locations from OpenWeather and store one record per \
         location as JSON Lines.",
        vec![fetch_weather, transform_weather, upload_to_s3],
        default_config(&resources.openweather_api_url),
    )
}

/// `weather_product_job` every six hours (00:00, 06:00, 12:00, 18:00 UTC). Off until switched
/// on (`orch schedules on weather_product_schedule`, or `enabled = true` in orch.toml), like
/// every declared schedule: a fresh install without an API key launches nothing that must fail.
pub fn weather_product_schedule() -> Result<ScheduleDef, DefinitionError> {
    ScheduleDef::builder("weather_product_schedule", JOB, "0 0 */6 * * *")
        .timezone("UTC")
        .default_switch(ScheduleSwitch::Off)
        .build()
}

#[cfg(test)]
mod tests {
    use chrono::{TimeZone, Utc};

    #[test]
    fn the_schedule_fires_every_six_hours_utc() {
        let schedule = super::weather_product_schedule().unwrap();
        assert_eq!(schedule.job.as_str(), super::JOB);
        let mut t = Utc.with_ymd_and_hms(2026, 3, 28, 23, 0, 0).unwrap();
        let mut ticks = Vec::new();
        for _ in 0..5 {
            t = schedule.next_tick_after(t).unwrap();
            ticks.push(t.format("%d %H:%M:%S").to_string());
        }
        assert_eq!(
            ticks,
            [
                "29 00:00:00",
                "29 06:00:00",
                "29 12:00:00",
                "29 18:00:00",
                "30 00:00:00"
            ]
        );
    }
}
