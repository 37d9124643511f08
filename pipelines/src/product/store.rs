//! `store_to_s3`: the summary as pretty JSON, `Content-Type: application/json`, under
//! `data_YYYYMMDD_HHMMSS.json` (UTC) in the configured object store.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use orchestrator::definitions::{AssetContext, AssetError, AssetOutput, ObjectStore};
use serde_json::{Value, json};

/// The seed's object key for a summary written at `at`.
pub fn object_key(at: DateTime<Utc>) -> String {
    at.format("data_%Y%m%d_%H%M%S.json").to_string()
}

pub(crate) async fn store_to_s3(
    objects: Arc<dyn ObjectStore>,
    ctx: AssetContext,
) -> Result<AssetOutput, AssetError> {
    let summary: Value = ctx.input("process_data")?;
    let body = serde_json::to_vec_pretty(&summary)
        .map_err(|e| AssetError::fatal(format!("cannot serialize the summary: {e}")))?;
    let key = object_key(Utc::now());
    let stored = objects
        .put(&key, body, "application/json")
        .await
        .map_err(|e| AssetError {
            message: e.to_string(),
            retryable: e.is_retryable(),
        })?;
    ctx.info(format!(
        "stored {} ({} bytes)",
        stored.uri, stored.size_bytes
    ));
    let count = summary.get("count").cloned().unwrap_or(Value::Null);
    Ok(
        AssetOutput::new(json!({ "uri": stored.uri, "key": key, "size_bytes": stored.size_bytes }))
            .with_metadata("uri", stored.uri)
            .with_metadata("size_bytes", stored.size_bytes)
            .with_metadata("count", count),
    )
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;

    #[test]
    fn key_layout() {
        let at = chrono::Utc.with_ymd_and_hms(2026, 11, 3, 7, 5, 9).unwrap();
        assert_eq!(super::object_key(at), "data_20261103_070509.json");
    }
}
