//! `S3Store` and the IO manager against a real S3 API server (moto, started by
//! `scripts/test-services.sh`, which exports `ORCH_TEST_S3_ENDPOINT`).

// A failing unwrap is how a test reports a broken precondition.
#![allow(clippy::unwrap_used)]

use std::sync::Arc;

use orchestrator::definitions::{ObjectStore, ObjectStoreError};
use orchestrator::domain::{AssetKey, RunId};
use serde_json::json;
use worker::IoManager;
use worker::object_store::{S3Settings, S3Store};

fn endpoint() -> String {
    std::env::var("ORCH_TEST_S3_ENDPOINT")
        .expect("ORCH_TEST_S3_ENDPOINT is not set: run the tests through scripts/test.sh")
}

async fn store(bucket: &str, prefix: &str) -> S3Store {
    let _ = rustls::crypto::ring::default_provider().install_default();
    S3Store::connect(&S3Settings {
        bucket: bucket.to_owned(),
        prefix: prefix.to_owned(),
        region: Some("us-east-1".into()),
        endpoint: Some(endpoint()),
        force_path_style: true,
    })
    .await
}

async fn fresh_bucket(name_hint: &str) -> String {
    let bucket = format!("{name_hint}-{}", RunId::new().as_uuid().simple());
    store(&bucket, "")
        .await
        .client()
        .create_bucket()
        .bucket(&bucket)
        .send()
        .await
        .expect("create bucket");
    bucket
}

#[tokio::test]
async fn put_reports_the_s3_uri_and_size_and_sets_the_content_type() {
    let bucket = fresh_bucket("put").await;
    let s3 = store(&bucket, "pre/").await;
    let stored = s3
        .put("a/b.json", b"{\"x\":1}".to_vec(), "application/json")
        .await
        .unwrap();
    assert_eq!(stored.uri, format!("s3://{bucket}/pre/a/b.json"));
    assert_eq!(stored.size_bytes, 7);
    let head = s3
        .client()
        .head_object()
        .bucket(&bucket)
        .key("pre/a/b.json")
        .send()
        .await
        .unwrap();
    assert_eq!(head.content_type(), Some("application/json"));
    assert_eq!(s3.get("a/b.json").await.unwrap(), b"{\"x\":1}");
}

#[tokio::test]
async fn a_missing_bucket_is_a_permanent_error_naming_it() {
    let s3 = store("orch-no-such-bucket-here", "").await;
    let err = s3
        .put("k", vec![1], "application/octet-stream")
        .await
        .unwrap_err();
    assert!(matches!(err, ObjectStoreError::Permanent(_)), "{err:?}");
    let message = err.to_string();
    assert!(
        message.contains("s3://orch-no-such-bucket-here/k"),
        "{message}"
    );
    assert!(message.contains("NoSuchBucket"), "{message}");
}

#[tokio::test]
async fn a_missing_key_is_not_found() {
    let bucket = fresh_bucket("missing").await;
    let err = store(&bucket, "").await.get("nope").await.unwrap_err();
    assert!(matches!(err, ObjectStoreError::NotFound(_)), "{err:?}");
}

#[tokio::test]
async fn the_io_manager_round_trips_step_outputs_through_s3() {
    let bucket = fresh_bucket("io").await;
    let io = IoManager::new(Arc::new(store(&bucket, "orch-io/").await));
    let run = RunId::new();
    let step = AssetKey::parse("fetch_data").unwrap();
    let value = json!([{"id": 1, "title": "héllo"}]);
    let stored = io.store_output(run, &step, &value).await.unwrap();
    assert_eq!(
        stored.uri,
        format!("s3://{bucket}/orch-io/runs/{run}/fetch_data.json")
    );
    assert_eq!(io.load_output(run, &step).await.unwrap(), value);
    assert!(io.load_output(RunId::new(), &step).await.is_err());
}
