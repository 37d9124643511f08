//! Upstream response bodies read within a cap: an upstream that sends gigabytes (by mistake or
//! on purpose) fails the step with a message naming the cap instead of filling the worker's
//! memory. The cap is the run config key `max_body_bytes` (default [`DEFAULT_MAX_BODY_BYTES`]),
//! shared by `fetch_data` and `fetch_weather`; a `Content-Length` over it is refused before the
//! body is read, and a body without one is read chunk by chunk and stopped one chunk past it.

use serde_json::Value;

/// The run config key.
pub const MAX_BODY_KEY: &str = "max_body_bytes";

/// 64 MiB: far above any posts listing or weather answer, far below a worker's memory.
pub const DEFAULT_MAX_BODY_BYTES: u64 = 64 * 1024 * 1024;

/// Why a body was not read.
#[derive(Debug, thiserror::Error)]
pub enum BodyError {
    #[error(
        "the response body is larger than {MAX_BODY_KEY} ({cap} bytes{shown}); raise the run config '{MAX_BODY_KEY}' if such a body is expected",
        shown = mib(*cap)
    )]
    TooLarge { cap: u64 },
    #[error(transparent)]
    Transport(#[from] reqwest::Error),
}

/// ` = N MiB` for whole mebibytes, else nothing.
fn mib(bytes: u64) -> String {
    const MIB: u64 = 1024 * 1024;
    if bytes >= MIB && bytes.is_multiple_of(MIB) {
        format!(" = {} MiB", bytes / MIB)
    } else {
        String::new()
    }
}

/// The cap of a resolved run config: `max_body_bytes`, a positive integer, else the default.
pub fn max_body_bytes(config: &Value) -> Result<u64, String> {
    match config.get(MAX_BODY_KEY) {
        None | Some(Value::Null) => Ok(DEFAULT_MAX_BODY_BYTES),
        Some(v) => v.as_u64().filter(|n| *n > 0).ok_or_else(|| {
            format!("run config '{MAX_BODY_KEY}' must be a positive whole number of bytes, not {v}")
        }),
    }
}

/// The body of `response`, at most `cap` bytes.
pub async fn read_capped(mut response: reqwest::Response, cap: u64) -> Result<Vec<u8>, BodyError> {
    if response.content_length().is_some_and(|len| len > cap) {
        return Err(BodyError::TooLarge { cap });
    }
    let mut body = Vec::new();
    while let Some(chunk) = response.chunk().await? {
        let len = u64::try_from(body.len() + chunk.len()).unwrap_or(u64::MAX);
        if len > cap {
            return Err(BodyError::TooLarge { cap });
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn the_cap_defaults_to_64_mib_and_must_be_positive() {
        assert_eq!(max_body_bytes(&json!({})), Ok(64 * 1024 * 1024));
        assert_eq!(max_body_bytes(&json!({"max_body_bytes": 10})), Ok(10));
        for bad in [json!(0), json!(-1), json!(1.5), json!("1")] {
            let err = max_body_bytes(&json!({ "max_body_bytes": bad })).unwrap_err();
            assert!(err.contains("'max_body_bytes' must be"), "{err}");
        }
    }

    #[test]
    fn the_refusal_names_the_cap() {
        let e = BodyError::TooLarge {
            cap: DEFAULT_MAX_BODY_BYTES,
        };
        assert_eq!(
            e.to_string(),
            "the response body is larger than max_body_bytes (67108864 bytes = 64 MiB); raise the run config 'max_body_bytes' if such a body is expected"
        );
        let e = BodyError::TooLarge { cap: 1000 };
        assert!(e.to_string().contains("(1000 bytes)"), "{e}");
    }
}
