//! `/api/v1/products` over a real bucket on the S3 API server (moto, `ORCH_TEST_S3_ENDPOINT`)
//! and over a local directory: listing pages, the latest product, one product by key, clear
//! 404s, and the TTL cache (served from memory within the TTL, fetched again after it), with
//! its hits and misses counted in the instance and through the `metrics` facade. Without the
//! seeds' routes (a build of orch without them), the path is not served at all.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::http::StatusCode;
use metrics::{Counter, Gauge, Histogram, Key, KeyName, Metadata, Recorder, SharedString, Unit};
use orchestrator::definitions::ObjectStore;
use orchestrator::storage::{RunStorage, SqliteStore, StoreOptions};
use pipelines::seeds::products::api::{self, CACHE_METRIC, CacheStats, Products};
use serde_json::json;
use web::{AppState, AuthPolicy};
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
    let state = AppState::new(store.clone(), definitions(), schedules());
    let routes = api::routes(products.clone());
    let app = TestApp {
        store,
        router: web::router_with_extensions(state, AuthPolicy::default(), routes),
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

    let without_seeds = TestApp::new(app.store.clone());
    without_seeds
        .get("/api/v1/products/latest")
        .await
        .assert_error(StatusCode::NOT_FOUND, "no such endpoint");
}

/// A recorder that keeps counters by name and labels, as the Prometheus exporter would.
#[derive(Debug, Default)]
struct Counters(Mutex<HashMap<String, Arc<AtomicU64>>>);

impl Counters {
    fn value(&self, name: &str) -> u64 {
        self.0
            .lock()
            .unwrap()
            .get(name)
            .map_or(0, |c| c.load(Ordering::Relaxed))
    }
}

#[derive(Debug, Clone)]
struct SharedCounters(Arc<Counters>);

impl Recorder for SharedCounters {
    fn describe_counter(&self, _: KeyName, _: Option<Unit>, _: SharedString) {}
    fn describe_gauge(&self, _: KeyName, _: Option<Unit>, _: SharedString) {}
    fn describe_histogram(&self, _: KeyName, _: Option<Unit>, _: SharedString) {}

    fn register_counter(&self, key: &Key, _: &Metadata<'_>) -> Counter {
        let labels: Vec<String> = key
            .labels()
            .map(|l| format!("{}=\"{}\"", l.key(), l.value()))
            .collect();
        let id = format!("{}{{{}}}", key.name(), labels.join(","));
        let counter = self.0.0.lock().unwrap().entry(id).or_default().clone();
        Counter::from_arc(counter)
    }

    fn register_gauge(&self, _: &Key, _: &Metadata<'_>) -> Gauge {
        Gauge::noop()
    }

    fn register_histogram(&self, _: &Key, _: &Metadata<'_>) -> Histogram {
        Histogram::noop()
    }
}

#[tokio::test]
async fn cache_hits_and_misses_reach_the_metrics_recorder() {
    let counters = Arc::new(Counters::default());
    // The process-wide recorder; this is the only test of the binary that installs one (each
    // test runs in its own process under nextest).
    if metrics::set_global_recorder(SharedCounters(counters.clone())).is_err() {
        eprintln!("another recorder is installed in this process; counting through it instead");
    }
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
    let hit = format!("{}{{result=\"hit\"}}", CACHE_METRIC);
    let miss = format!("{}{{result=\"miss\"}}", CACHE_METRIC);
    assert_eq!(CACHE_METRIC, "orch_products_cache_total");
    assert!(
        counters.value(&hit) >= 2,
        "hits counted: {:?}",
        counters.0.lock().unwrap()
    );
    assert!(counters.value(&miss) >= 1, "misses counted");
}

/// The products routes are in the OpenAPI document the server serves, no more and no less.
#[tokio::test]
async fn the_products_routes_are_documented() {
    let dir = tempfile::tempdir().unwrap();
    let objects: Arc<dyn ObjectStore> = Arc::new(LocalStore::new(dir.path()));
    let (app, _) = app_with(objects, Duration::ZERO).await;
    let reply = app.get("/api/v1/openapi.json").await;
    assert_eq!(reply.status, StatusCode::OK);
    let drift =
        orch_test_support::api_drift::drift(&format!("{:?}", app.router), "/api/v1", &reply.body)
            .unwrap();
    assert!(drift.is_empty(), "router and document differ: {drift:#?}");
    for path in [
        "/api/v1/products",
        "/api/v1/products/latest",
        "/api/v1/products/{key}",
    ] {
        assert!(reply.body["paths"][path]["get"].is_object(), "{path}");
    }
}
