//! Dagster Pipes, the orchestration side: the parameters handed to the external process
//! (`DAGSTER_PIPES_CONTEXT`, `DAGSTER_PIPES_MESSAGES`), its context, and the messages it writes
//! back, decoded into typed values. Pure: no IO, so every message shape is tested here.
//!
//! Wire format as the `dagster-pipes` package (dagster-io/dagster
//! `python_modules/dagster-pipes/dagster_pipes/__init__.py`) reads and writes it: a parameter is
//! base64 of zlib-compressed JSON; a message is one JSON line
//! `{"__dagster_pipes_version": "0.1", "method": …, "params": {…}}`.

use std::io::Write;

use base64::Engine;
use orchestrator::domain::{AssetKey, CheckSeverity, LogLevel, Metadata, PartitionScope};
use serde_json::{Map, Value, json};

/// `base64(zlib(json))`, as `dagster_pipes.encode_param` does.
pub(crate) fn encode_param(value: &Value) -> String {
    let mut encoder = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::default());
    // Writing into a Vec cannot fail.
    let _ = encoder.write_all(value.to_string().as_bytes());
    let compressed = encoder.finish().unwrap_or_default();
    base64::engine::general_purpose::STANDARD.encode(compressed)
}

/// What the context tells the process about its step.
#[derive(Debug)]
pub(crate) struct ContextFields<'a> {
    pub asset: &'a AssetKey,
    pub run_id: String,
    pub job: &'a str,
    pub retry_number: u32,
    pub partition: &'a PartitionScope,
    pub extras: Value,
}

/// The `PipesContextData` of one attempt.
pub(crate) fn context(fields: &ContextFields<'_>) -> Value {
    let key = fields.asset.as_str();
    let (partition_key, range, window) = partition_fields(fields.partition);
    json!({
        "asset_keys": [key],
        "code_version_by_asset_key": { key: null },
        "provenance_by_asset_key": { key: null },
        "partition_key": partition_key,
        "partition_key_range": range,
        "partition_time_window": window,
        "run_id": fields.run_id,
        "job_name": fields.job,
        "retry_number": fields.retry_number,
        "extras": fields.extras,
    })
}

fn partition_fields(scope: &PartitionScope) -> (Value, Value, Value) {
    let range = scope
        .range
        .as_ref()
        .map_or(Value::Null, |r| json!({ "start": r.start, "end": r.end }));
    let window = scope.time_window.map_or(
        Value::Null,
        |w| json!({ "start": w.start.to_rfc3339(), "end": w.end.to_rfc3339() }),
    );
    (json!(scope.key), range, window)
}

/// One message from the process, decoded.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Message {
    Opened,
    /// The session ended; `exception` is the error the script raised, in words.
    Closed {
        exception: Option<String>,
    },
    Log {
        level: LogLevel,
        message: String,
    },
    Materialization {
        asset: String,
        data_version: Option<String>,
        metadata: Metadata,
        /// Metadata entries whose value did not fit their declared type, named.
        faults: Vec<String>,
    },
    Check {
        asset: String,
        check: String,
        passed: bool,
        severity: CheckSeverity,
        metadata: Metadata,
        faults: Vec<String>,
    },
    Custom(Value),
    /// `log_external_stream`: a line of a stream the process forwards.
    ExternalLog(String),
}

/// Why a line is not a message orch understands; the text names the fault.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub(crate) struct MessageError(String);

fn fault(message: impl Into<String>) -> MessageError {
    MessageError(message.into())
}

/// Decodes one line of the messages channel.
pub(crate) fn parse_message(line: &str) -> Result<Message, MessageError> {
    let value: Value = serde_json::from_str(line)
        .map_err(|e| fault(format!("not a JSON Pipes message ({e}): {}", excerpt(line))))?;
    let Value::Object(mut object) = value else {
        return Err(fault(format!(
            "a Pipes message must be a JSON object: {}",
            excerpt(line)
        )));
    };
    if !object.contains_key("__dagster_pipes_version") {
        return Err(fault(format!(
            "not a Pipes message (no __dagster_pipes_version): {}",
            excerpt(line)
        )));
    }
    let method = match object.remove("method") {
        Some(Value::String(method)) => method,
        _ => return Err(fault("a Pipes message without a method")),
    };
    let params = match object.remove("params") {
        Some(Value::Object(params)) => params,
        None | Some(Value::Null) => Map::new(),
        Some(other) => {
            return Err(fault(format!(
                "the params of {method} must be an object, not {other}"
            )));
        }
    };
    decode(&method, params)
}

fn decode(method: &str, mut params: Map<String, Value>) -> Result<Message, MessageError> {
    match method {
        "opened" => Ok(Message::Opened),
        "closed" => Ok(Message::Closed {
            exception: params.remove("exception").and_then(exception_text),
        }),
        "log" => Ok(Message::Log {
            level: log_level(params.get("level").and_then(Value::as_str)),
            message: required_str(&params, method, "message")?,
        }),
        "report_asset_materialization" => {
            let (metadata, faults) = metadata(params.remove("metadata"), method)?;
            Ok(Message::Materialization {
                asset: required_str(&params, method, "asset_key")?,
                data_version: params
                    .get("data_version")
                    .and_then(Value::as_str)
                    .map(str::to_owned),
                metadata,
                faults,
            })
        }
        "report_asset_check" => {
            let (metadata, faults) = metadata(params.remove("metadata"), method)?;
            let severity = match params.get("severity") {
                None | Some(Value::Null) => CheckSeverity::Error,
                Some(Value::String(s)) => CheckSeverity::parse(s).ok_or_else(|| {
                    fault(format!(
                        "report_asset_check: severity {s:?} is neither WARN nor ERROR"
                    ))
                })?,
                Some(other) => {
                    return Err(fault(format!(
                        "report_asset_check: severity must be a string, not {other}"
                    )));
                }
            };
            let passed = params
                .get("passed")
                .and_then(Value::as_bool)
                .ok_or_else(|| fault("report_asset_check: passed must be true or false"))?;
            Ok(Message::Check {
                asset: required_str(&params, method, "asset_key")?,
                check: required_str(&params, method, "check_name")?,
                passed,
                severity,
                metadata,
                faults,
            })
        }
        "report_custom_message" => Ok(Message::Custom(
            params.remove("payload").unwrap_or(Value::Null),
        )),
        "log_external_stream" => Ok(Message::ExternalLog(
            params
                .get("text")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .trim_end()
                .to_owned(),
        )),
        other => Err(fault(format!("unknown Pipes method {other:?}"))),
    }
}

fn required_str(
    params: &Map<String, Value>,
    method: &str,
    name: &str,
) -> Result<String, MessageError> {
    match params.get(name) {
        Some(Value::String(s)) => Ok(s.clone()),
        _ => Err(fault(format!("{method}: {name} must be a string"))),
    }
}

fn log_level(level: Option<&str>) -> LogLevel {
    match level.map(str::to_ascii_uppercase).as_deref() {
        Some("DEBUG") => LogLevel::Debug,
        Some("WARNING" | "WARN") => LogLevel::Warn,
        Some("ERROR" | "CRITICAL" | "FATAL") => LogLevel::Error,
        _ => LogLevel::Info,
    }
}

/// A `PipesException` (`{name, message, stack, cause, context}`) in words.
fn exception_text(exception: Value) -> Option<String> {
    match exception {
        Value::Null => None,
        Value::Object(e) => {
            let name = e.get("name").and_then(Value::as_str).unwrap_or("Exception");
            let message = e.get("message").and_then(Value::as_str).unwrap_or("");
            Some(format!("{name}: {}", message.trim_end()))
        }
        other => Some(other.to_string()),
    }
}

/// Pipes metadata (`{key: {raw_value, type}}`) as orch metadata. JSON-native types keep their raw
/// value (so a script's `count` reads as the seed's `count`); `url`, `path`, `md`, `notebook`,
/// `timestamp` and the other typed kinds keep their type: `{"type": "url", "raw_value": …}`.
/// A raw value that does not fit its declared type is kept as given, and named in the faults.
fn metadata(raw: Option<Value>, method: &str) -> Result<(Metadata, Vec<String>), MessageError> {
    let entries = match raw {
        None | Some(Value::Null) => return Ok((Metadata::new(), Vec::new())),
        Some(Value::Object(entries)) => entries,
        Some(other) => {
            return Err(fault(format!(
                "{method}: metadata must be an object, not {other}"
            )));
        }
    };
    let mut metadata = Metadata::new();
    let mut faults = Vec::new();
    for (key, entry) in entries {
        let (kind, raw_value) = match entry {
            Value::Object(mut typed) if typed.contains_key("raw_value") => {
                let kind = typed
                    .remove("type")
                    .and_then(|t| t.as_str().map(str::to_owned))
                    .unwrap_or_else(|| "__infer__".to_owned());
                (kind, typed.remove("raw_value").unwrap_or(Value::Null))
            }
            // A bare value, as a hand-written client may send it.
            bare => ("__infer__".to_owned(), bare),
        };
        if let Some(problem) = type_fault(&kind, &raw_value) {
            faults.push(format!("metadata {key:?}: {problem}"));
        }
        let value = match kind.as_str() {
            "__infer__" | "text" | "int" | "float" | "bool" | "null" | "json" => raw_value,
            _ => json!({ "type": kind, "raw_value": raw_value }),
        };
        metadata.insert(key, value);
    }
    Ok((metadata, faults))
}

fn type_fault(kind: &str, value: &Value) -> Option<String> {
    let fits = match kind {
        "__infer__" | "json" | "table" | "table_schema" | "table_column_lineage" => true,
        "text" | "url" | "path" | "notebook" | "md" | "dagster_run" | "asset" => value.is_string(),
        "int" => value.is_i64() || value.is_u64(),
        "float" => value.is_number(),
        "bool" => value.is_boolean(),
        "null" => value.is_null(),
        "timestamp" => value.is_number() || value.is_string(),
        other => return Some(format!("unknown metadata type {other:?}")),
    };
    (!fits).then(|| format!("{value} is not a valid {kind} value"))
}

fn excerpt(line: &str) -> String {
    const MAX: usize = 120;
    match line.char_indices().nth(MAX) {
        Some((end, _)) => format!("{}…", &line[..end]),
        None => line.to_owned(),
    }
}

#[cfg(test)]
mod tests;
