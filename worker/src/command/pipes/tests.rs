use std::io::Read;

use base64::Engine;
use orchestrator::domain::{AssetKey, CheckSeverity, LogLevel, PartitionRange, PartitionScope};
use serde_json::{Value, json};

use super::{ContextFields, Message, context, encode_param, parse_message};

fn decode(param: &str) -> Value {
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(param)
        .expect("base64");
    let mut json = String::new();
    flate2::read::ZlibDecoder::new(bytes.as_slice())
        .read_to_string(&mut json)
        .expect("zlib");
    serde_json::from_str(&json).expect("json")
}

fn message(method: &str, params: Value) -> String {
    json!({"__dagster_pipes_version": "0.1", "method": method, "params": params}).to_string()
}

#[test]
fn a_param_is_base64_of_zlib_of_json() {
    let value = json!({"path": "/tmp/x/context.json", "ü": [1, 2]});
    assert_eq!(decode(&encode_param(&value)), value);
}

#[test]
fn the_context_names_the_asset_run_and_partition() {
    let asset = AssetKey::parse("fetch_data").expect("key");
    let unpartitioned = PartitionScope::default();
    let fields = ContextFields {
        asset: &asset,
        run_id: "r1".into(),
        job: "j",
        retry_number: 2,
        partition: &unpartitioned,
        extras: json!({"config": {"a": 1}}),
    };
    let ctx = context(&fields);
    assert_eq!(ctx["asset_keys"], json!(["fetch_data"]));
    assert_eq!(ctx["retry_number"], 2);
    assert_eq!(ctx["partition_key"], Value::Null);
    assert_eq!(ctx["partition_key_range"], Value::Null);
    assert_eq!(ctx["extras"]["config"]["a"], 1);

    let keyed = PartitionScope {
        key: Some("2026-03-01".into()),
        range: Some(PartitionRange {
            start: "2026-03-01".into(),
            end: "2026-03-01".into(),
        }),
        time_window: None,
    };
    let ctx = context(&ContextFields {
        partition: &keyed,
        ..fields
    });
    assert_eq!(ctx["partition_key"], "2026-03-01");
    assert_eq!(ctx["partition_key_range"]["end"], "2026-03-01");
}

#[test]
fn materialization_metadata_keeps_json_values_raw_and_typed_kinds_typed() {
    let line = message(
        "report_asset_materialization",
        json!({"asset_key": "a", "data_version": "v1", "metadata": {
            "count": {"raw_value": 3, "type": "int"},
            "ratio": {"raw_value": 0.5, "type": "float"},
            "ok": {"raw_value": true, "type": "bool"},
            "none": {"raw_value": null, "type": "null"},
            "title": {"raw_value": "t", "type": "text"},
            "doc": {"raw_value": {"k": [1]}, "type": "json"},
            "guess": {"raw_value": 7, "type": "__infer__"},
            "link": {"raw_value": "https://x", "type": "url"},
            "file": {"raw_value": "/p", "type": "path"},
            "notes": {"raw_value": "# h", "type": "md"},
        }}),
    );
    let Message::Materialization {
        asset,
        data_version,
        metadata,
        faults,
    } = parse_message(&line).expect("parses")
    else {
        panic!("not a materialization")
    };
    assert_eq!(asset, "a");
    assert_eq!(data_version.as_deref(), Some("v1"));
    assert!(faults.is_empty(), "{faults:?}");
    assert_eq!(metadata["count"], 3);
    assert_eq!(metadata["ratio"], 0.5);
    assert_eq!(metadata["ok"], true);
    assert_eq!(metadata["none"], Value::Null);
    assert_eq!(metadata["title"], "t");
    assert_eq!(metadata["doc"], json!({"k": [1]}));
    assert_eq!(metadata["guess"], 7);
    assert_eq!(
        metadata["link"],
        json!({"type": "url", "raw_value": "https://x"})
    );
    assert_eq!(metadata["file"], json!({"type": "path", "raw_value": "/p"}));
    assert_eq!(metadata["notes"], json!({"type": "md", "raw_value": "# h"}));
}

#[test]
fn a_value_that_does_not_fit_its_type_is_kept_and_named() {
    let line = message(
        "report_asset_materialization",
        json!({"asset_key": "a", "metadata": {
            "n": {"raw_value": "three", "type": "int"},
            "w": {"raw_value": 1, "type": "weird"},
        }}),
    );
    let Ok(Message::Materialization {
        metadata, faults, ..
    }) = parse_message(&line)
    else {
        panic!("not a materialization")
    };
    assert_eq!(metadata["n"], "three");
    assert_eq!(faults.len(), 2, "{faults:?}");
    assert!(
        faults[0].contains("\"three\" is not a valid int value"),
        "{faults:?}"
    );
    assert!(
        faults[1].contains("unknown metadata type \"weird\""),
        "{faults:?}"
    );
}

#[test]
fn checks_logs_and_the_session_are_decoded() {
    let check = parse_message(&message(
        "report_asset_check",
        json!({"asset_key": "a", "check_name": "has_rows", "passed": false, "severity": "WARN", "metadata": null}),
    ));
    assert_eq!(
        check,
        Ok(Message::Check {
            asset: "a".into(),
            check: "has_rows".into(),
            passed: false,
            severity: CheckSeverity::Warn,
            metadata: Default::default(),
            faults: vec![],
        })
    );
    assert_eq!(
        parse_message(&message(
            "log",
            json!({"message": "hi", "level": "WARNING"})
        )),
        Ok(Message::Log {
            level: LogLevel::Warn,
            message: "hi".into()
        })
    );
    assert_eq!(
        parse_message(&message("opened", json!({"extras": {}}))),
        Ok(Message::Opened)
    );
    assert_eq!(
        parse_message(&message(
            "closed",
            json!({"exception": {"name": "ValueError", "message": "bad\n", "stack": []}})
        )),
        Ok(Message::Closed {
            exception: Some("ValueError: bad".into())
        })
    );
    assert_eq!(
        parse_message(&message("report_custom_message", json!({"payload": [1]}))),
        Ok(Message::Custom(json!([1])))
    );
}

#[test]
fn malformed_and_unknown_messages_are_named() {
    let cases = [
        ("not json", "not a JSON Pipes message"),
        ("[1]", "must be a JSON object"),
        (r#"{"method": "log"}"#, "no __dagster_pipes_version"),
        (r#"{"__dagster_pipes_version": "0.1"}"#, "without a method"),
        (
            &message("teleport", json!({})),
            "unknown Pipes method \"teleport\"",
        ),
        (
            &message("log", json!({"level": "INFO"})),
            "log: message must be a string",
        ),
        (
            &message(
                "report_asset_check",
                json!({"asset_key": "a", "check_name": "c", "passed": "yes"}),
            ),
            "passed must be true or false",
        ),
        (
            &message(
                "report_asset_check",
                json!({"asset_key": "a", "check_name": "c", "passed": true, "severity": "FATAL"}),
            ),
            "neither WARN nor ERROR",
        ),
        (
            &message("report_asset_materialization", json!({"metadata": {}})),
            "asset_key must be a string",
        ),
        (
            &message(
                "report_asset_materialization",
                json!({"asset_key": "a", "metadata": [1]}),
            ),
            "metadata must be an object",
        ),
    ];
    for (line, expected) in cases {
        let error = parse_message(line).expect_err(line).to_string();
        assert!(error.contains(expected), "{line}: {error}");
    }
}
