//! `upload_to_s3`: the records as JSON Lines (one compact object per line, each line ending in
//! `\n`), `Content-Type: application/x-ndjson`, under `weather-products/YYYY/MM/DD/HHMMSS.jsonl`
//! (UTC) in the weather results store (`WEATHER_RESULTS_BUCKET`, or local objects).

use std::sync::Arc;

use super::products::product_key;
use chrono::Utc;
use orchestrator::definitions::{AssetContext, AssetError, AssetOutput, ObjectStore};
use serde_json::{Value, json};

/// The media type of the objects.
pub const CONTENT_TYPE: &str = "application/x-ndjson";

/// The JSON Lines body of `records`.
pub fn to_json_lines(records: &[Value]) -> Result<Vec<u8>, serde_json::Error> {
    let mut body = Vec::new();
    for record in records {
        serde_json::to_writer(&mut body, record)?;
        body.push(b'\n');
    }
    Ok(body)
}

pub(crate) async fn upload_to_s3(
    objects: Arc<dyn ObjectStore>,
    ctx: AssetContext,
) -> Result<AssetOutput, AssetError> {
    let transformed: Value = ctx.input("transform_weather")?;
    let records = transformed
        .get("records")
        .and_then(Value::as_array)
        .ok_or_else(|| AssetError::fatal("transform_weather gave no 'records'"))?;
    let body = to_json_lines(records)
        .map_err(|e| AssetError::fatal(format!("cannot serialize a record: {e}")))?;
    let key = product_key(Utc::now());
    let stored = objects
        .put(&key, body, CONTENT_TYPE)
        .await
        .map_err(|e| AssetError {
            message: e.to_string(),
            retryable: e.is_retryable(),
        })?;
    ctx.info(format!(
        "stored {} record(s) in {} ({} bytes)",
        records.len(),
        stored.uri,
        stored.size_bytes
    ));
    Ok(AssetOutput::new(json!({
        "uri": stored.uri, "key": key, "size_bytes": stored.size_bytes, "records": records.len(),
    }))
    .with_metadata("uri", stored.uri)
    .with_metadata("key", key)
    .with_metadata("size_bytes", stored.size_bytes)
    .with_metadata("records", records.len()))
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    #[test]
    fn one_compact_object_per_line() {
        let body = super::to_json_lines(&[json!({"a": 1, "b": "x"}), json!({"a": 2})]).unwrap();
        assert_eq!(body, b"{\"a\":1,\"b\":\"x\"}\n{\"a\":2}\n");
        assert!(super::to_json_lines(&[]).unwrap().is_empty());
    }
}
