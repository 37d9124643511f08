//! `/api/v1/products` over a real bucket on the S3 API server (moto, `ORCH_TEST_S3_ENDPOINT`)
//! and over a local directory: listing pages, the latest product, one product by key, clear
//! 404s, and the TTL cache (served from memory within the TTL, fetched again after it), with
//! its hits and misses counted in the instance and through the `metrics` facade.

use std::sync::Arc;
use std::time::Duration;

use axum::http::StatusCode;
use orchestrator::definitions::ObjectStore;
use orchestrator::storage::{RunStorage, SqliteStore, StoreOptions};
use serde_json::json;
use web::{AppState, CacheStats, Products};
use worker::object_store::{LocalStore, S3Settings, S3Store};

use crate::support::{TestApp, definitions, schedules};

const OLD: &str = "weather-products/2026/11/20/000000.jsonl";
const MID: &str = "weather-products/2026/11/21/060000.jsonl";
const NEW: &str = "weather-products/2026/11/21/120000.jsonl";

/// A fresh bucket on the shared moto server.
async fn bucket() -> (Arc<S3Store>, String) {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let endpoint = std::env::var("ORCH_TEST_S3_ENDPOINT").expect(
        "ORCH_TEST_S3_ENDPOINT is not set: run `eval \"$(scripts/test-services.sh)\"` first",
    );
    let name = format!("orch-web-{}", uuid::Uuid::now_v7().simple());
    let store = S3Store::connect(&S3Settings {
        bucket: name.clone(),
        prefix: String::new(),
        region: Some(std::env::var("AWS_REGION").unwrap_or_else(|_| "us-east-1".into())),
        endpoint: Some(endpoint),
        force_path_style: true,
    })
    .await;
    store
        .client()
        .create_bucket()
        .bucket(&name)
        .send()
        .await
        .unwrap();
    (Arc::new(store), name)
}

/// The application with products from `objects`, cached for `ttl`.
async fn app_with(objects: Arc<dyn ObjectStore>, ttl: Duration) -> (TestApp, Arc<Products>) {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}/orch.db", dir.path().display());
    let store: Arc<dyn RunStorage> = Arc::new(
        SqliteStore::connect(&url, &StoreOptions::default())
            .await
            .unwrap(),
    );
    store.migrate().await.unwrap();
    // The database file is only opened, never needed after; keep the directory alive anyway.
    std::mem::forget(dir);
    let products = Arc::new(Products::new(objects, ttl));
    let state =
        AppState::new(store.clone(), definitions(), schedules()).with_products(products.clone());
    let app = TestApp {
        store,
        router: web::router(state),
    };
    (app, products)
}

async fn put(store: &dyn ObjectStore, key: &str, lines: &[serde_json::Value]) {
    let body: String = lines.iter().map(|l| format!("{l}\n")).collect();
    store
        .put(key, body.into_bytes(), "application/x-ndjson")
        .await
        .unwrap();
}

async fn three_products(store: &dyn ObjectStore) {
    put(store, MID, &[json!({"location": "mid"})]).await;
    put(store, OLD, &[json!({"location": "old"})]).await;
    put(
        store,
        NEW,
        &[
            json!({"location": "Luxembourg", "temperature": 7.25}),
            json!({"location": "Chicago"}),
        ],
    )
    .await;
    put(store, "data_20261121_120000.json", &[json!({})]).await;
}

#[tokio::test]
async fn products_are_listed_newest_first_in_pages_and_read_back_by_key() {
    let (s3, bucket) = bucket().await;
    three_products(s3.as_ref()).await;
    let (app, _) = app_with(s3, Duration::from_secs(60)).await;

    let all = app.get("/api/v1/products").await;
    all.assert_status(StatusCode::OK);
    let keys: Vec<&str> = all.body["products"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["key"].as_str().unwrap())
        .collect();
    assert_eq!(keys, [NEW, MID, OLD], "products only, newest first");
    assert_eq!(all.body["next"], json!(null));
    let newest = &all.body["products"][0];
    assert!(newest["size_bytes"].as_u64().unwrap() > 0);
    assert!(newest["last_modified"].as_str().unwrap().ends_with('Z'));

    let page = app.get("/api/v1/products?limit=2").await;
    assert_eq!(page.body["next"], MID);
    let rest = app
        .get(&format!("/api/v1/products?limit=2&before={MID}"))
        .await;
    assert_eq!(rest.body["products"][0]["key"], OLD);
    assert_eq!(rest.body["products"].as_array().unwrap().len(), 1);
    assert_eq!(rest.body["next"], json!(null));

    let latest = app.get("/api/v1/products/latest").await;
    latest.assert_status(StatusCode::OK);
    assert_eq!(latest.body["key"], NEW);
    assert_eq!(
        latest.body["records"],
        json!([{"location": "Luxembourg", "temperature": 7.25}, {"location": "Chicago"}])
    );
    assert_eq!(latest.body["last_modified"], newest["last_modified"]);
    let one = app.get(&format!("/api/v1/products/{OLD}")).await;
    one.assert_status(StatusCode::OK);
    assert_eq!(one.body["records"], json!([{"location": "old"}]));

    app.get("/api/v1/products/weather-products/2020/01/01/000000.jsonl")
        .await
        .assert_error(
            StatusCode::NOT_FOUND,
            "product 'weather-products/2020/01/01/000000.jsonl' not found",
        );
    app.get("/api/v1/products/data_20261121_120000.json")
        .await
        .assert_error(StatusCode::NOT_FOUND, "is not a product key");
    app.get("/api/v1/products/weather-products/a/../../etc")
        .await
        .assert_error(StatusCode::NOT_FOUND, "is not a product key");
    app.get("/api/v1/products?limit=0")
        .await
        .assert_error(StatusCode::BAD_REQUEST, "limit 0 is out of range");
    let _ = bucket;
}

#[tokio::test]
async fn the_cache_serves_within_the_ttl_and_fetches_again_after_it() {
    let (s3, _) = bucket().await;
    three_products(s3.as_ref()).await;
    let (app, products) = app_with(s3.clone(), Duration::from_millis(700)).await;

    let first = app.get("/api/v1/products").await;
    assert_eq!(first.body["products"].as_array().unwrap().len(), 3);
    assert_eq!(products.cache_stats(), CacheStats { hits: 0, misses: 1 });

    // A product written now is not seen until the listing expires.
    let newer = "weather-products/2026/11/21/180000.jsonl";
    put(s3.as_ref(), newer, &[json!({"location": "newer"})]).await;
    let cached = app.get("/api/v1/products").await;
    assert_eq!(
        cached.body["products"].as_array().unwrap().len(),
        3,
        "from the cache"
    );
    let latest = app.get("/api/v1/products/latest").await;
    assert_eq!(
        latest.body["key"], NEW,
        "the cached listing decides what is latest"
    );
    let again = app.get("/api/v1/products/latest").await;
    assert_eq!(again.body, latest.body);
    // listing: miss, hit, hit, hit; NEW's body: miss, then hit.
    assert_eq!(products.cache_stats(), CacheStats { hits: 4, misses: 2 });

    tokio::time::sleep(Duration::from_millis(800)).await;
    let fresh = app.get("/api/v1/products/latest").await;
    assert_eq!(fresh.body["key"], newer, "fetched again after the TTL");
    assert_eq!(fresh.body["records"], json!([{"location": "newer"}]));
    assert_eq!(products.cache_stats(), CacheStats { hits: 4, misses: 4 });
}

#[tokio::test]
async fn without_products_or_a_store_the_answers_are_clear_404s() {
    let dir = tempfile::tempdir().unwrap();
    let local: Arc<dyn ObjectStore> = Arc::new(LocalStore::new(dir.path()));
    let (app, _) = app_with(local, Duration::from_secs(60)).await;
    assert_eq!(
        app.get("/api/v1/products").await.body["products"],
        json!([])
    );
    app.get("/api/v1/products/latest")
        .await
        .assert_error(StatusCode::NOT_FOUND, "there are no products yet under");

    let unconfigured = TestApp::new(app.store.clone());
    unconfigured
        .get("/api/v1/products/latest")
        .await
        .assert_error(StatusCode::NOT_FOUND, "no product store configured");
}

/// The value of `orch_products_cache_total{result="…"}` in a scrape of the process's recorder.
fn cache_count(scrape: &str, result: &str) -> f64 {
    let lines = scrape.lines().map(|l| Ok(l.to_owned()));
    let scrape = prometheus_parse::Scrape::parse(lines).unwrap();
    scrape
        .samples
        .iter()
        .filter(|s| s.metric == web::CACHE_METRIC && s.labels.get("result") == Some(result))
        .map(|s| match s.value {
            prometheus_parse::Value::Counter(v) | prometheus_parse::Value::Untyped(v) => v,
            _ => 0.0,
        })
        .sum()
}

#[tokio::test]
async fn cache_hits_and_misses_reach_the_metrics_recorder() {
    // The process's Prometheus recorder (installed once per process, whichever test comes
    // first): under plain `cargo test` the other tests of this binary share it, so the counts
    // are compared before and after, and other caches' hits can only add to them.
    let recorder = orchestrator::telemetry::metrics::install().unwrap();
    let before = recorder.render();
    let dir = tempfile::tempdir().unwrap();
    let local = Arc::new(LocalStore::new(dir.path()));
    three_products(local.as_ref()).await;
    let (app, products) = app_with(local, Duration::from_secs(60)).await;
    for _ in 0..3 {
        app.get("/api/v1/products")
            .await
            .assert_status(StatusCode::OK);
    }
    assert_eq!(products.cache_stats(), CacheStats { hits: 2, misses: 1 });
    assert_eq!(web::CACHE_METRIC, "orch_products_cache_total");
    let after = recorder.render();
    let hits = cache_count(&after, "hit") - cache_count(&before, "hit");
    let misses = cache_count(&after, "miss") - cache_count(&before, "miss");
    assert!(hits >= 2.0, "hits counted: {hits}\n{after}");
    assert!(misses >= 1.0, "misses counted: {misses}");
}
