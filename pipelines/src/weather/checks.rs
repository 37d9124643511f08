//! The data-quality check of `transform_weather`: every configured location produced a record
//! (`all_locations`, ERROR, not blocking: the records that exist are still uploaded, as the
//! seed does; the run says which locations are missing).

use std::sync::Arc;

use orchestrator::definitions::{AssetCheckDef, AssetError, DefinitionError};
use orchestrator::domain::{CheckResult, CheckSeverity};
use serde_json::Value;

use super::WeatherConfig;

/// `all_locations`.
pub fn all_locations() -> Result<AssetCheckDef, DefinitionError> {
    Ok(AssetCheckDef::builder("all_locations")
        .description("Every configured location produced a weather record.")
        .severity(CheckSeverity::Error)
        .compute(|ctx, output: Arc<Value>| async move {
            let config = WeatherConfig::parse(&ctx.config).map_err(AssetError::fatal)?;
            let wanted: Vec<String> = config.locations.iter().map(|l| l.name.clone()).collect();
            let missing = missing_locations(&wanted, &output);
            Ok(
                CheckResult::from_bool(missing.is_empty(), CheckSeverity::Error)
                    .with_metadata("missing_locations", missing),
            )
        })?)
}

/// The names in `wanted` with no record in `transform_weather`'s output.
pub fn missing_locations(wanted: &[String], output: &Value) -> Vec<String> {
    let have: Vec<&str> = output
        .get("records")
        .and_then(Value::as_array)
        .map(|records| {
            records
                .iter()
                .filter_map(|r| r.get("location").and_then(Value::as_str))
                .collect()
        })
        .unwrap_or_default();
    wanted
        .iter()
        .filter(|w| !have.contains(&w.as_str()))
        .cloned()
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn missing_locations_are_the_configured_ones_without_a_record() {
        let wanted = vec!["Paris".to_owned(), "Oslo".to_owned()];
        let output = json!({"records": [{"location": "Paris"}], "rejected": []});
        assert_eq!(missing_locations(&wanted, &output), ["Oslo"]);
        assert!(missing_locations(&wanted[..1], &output).is_empty());
        assert_eq!(missing_locations(&wanted, &json!({})), wanted);
    }
}
