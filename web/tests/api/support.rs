//! Fixtures for the API suite: a router over a real store (a fresh PostgreSQL database from
//! `#[sqlx::test]`, or a SQLite file in a temporary directory), requests sent through it with
//! `oneshot` (no network), and runs in chosen states.

use std::future::Future;
use std::sync::Arc;

use axum::Router;
use axum::body::Body;
use axum::http::{Method, Request, StatusCode};
use chrono::Utc;
use orchestrator::definitions::{
    AssetDef, AssetOutput, Definitions, JobDef, ScheduleDef, SensorDef,
};
use orchestrator::domain::{
    AssetKey, EventKind, Metadata, NewEvent, NewRun, Run, RunStatus, ScheduleSwitch, TagKey, Tags,
};
use orchestrator::storage::RunStorage;
use serde_json::{Map, Value, json};
use sqlx::PgPool;
use web::AppState;

/// For each `async fn name(app: TestApp)` of the calling module, generates `name::postgres` and
/// `name::sqlite`.
macro_rules! api_tests {
    ($($name:ident),+ $(,)?) => {
        orch_test_support::on_both_backends!(
            $crate::support::on_postgres,
            $crate::support::on_sqlite;
            $($name),+
        );
    };
}
pub(crate) use api_tests;

/// Runs `test` with the app over a migrated store on `pool`'s database (test-support's store).
pub async fn on_postgres<F, Fut>(pool: PgPool, test: F)
where
    F: FnOnce(TestApp) -> Fut,
    Fut: Future<Output = ()>,
{
    orch_test_support::stores::on_postgres(pool, |store| test(TestApp::new(store))).await;
}

/// Runs `test` with the app over a migrated store on a fresh SQLite file.
pub async fn on_sqlite<F, Fut>(test: F)
where
    F: FnOnce(TestApp) -> Fut,
    Fut: Future<Output = ()>,
{
    orch_test_support::stores::on_sqlite(|store| test(TestApp::new(store))).await;
}

/// The job of these tests: `etl`, `extract` → `load`, config keys `limit` (10) and `source`;
/// its failure sensor `etl_failures`; and `daily_etl`, partitioned daily from 2026-01-01.
pub fn definitions() -> Arc<Definitions> {
    let extract = AssetDef::builder("extract")
        .compute(|_ctx| async { Ok(AssetOutput::default()) })
        .unwrap();
    let load = AssetDef::builder("load")
        .upstream(&["extract"])
        .compute(|_ctx| async { Ok(AssetOutput::default()) })
        .unwrap();
    let mut config = Map::new();
    config.insert("limit".into(), json!(10));
    config.insert("source".into(), json!("http://upstream"));
    let job = JobDef::new("etl", "a test job", vec![extract, load], config).unwrap();
    // A daily-partitioned job from 2026-01-01 (UTC), for the partition tests.
    let daily = AssetDef::builder("daily_extract")
        .compute(|_ctx| async { Ok(AssetOutput::default()) })
        .unwrap();
    let daily = JobDef::new("daily_etl", "a partitioned job", vec![daily], Map::new())
        .unwrap()
        .with_partitions(
            orchestrator::definitions::PartitionsDef::daily("2026-01-01", "UTC").unwrap(),
        )
        .unwrap();
    let failures = SensorDef::run_failure("etl_failures")
        .job("etl")
        .build()
        .unwrap();
    Arc::new(
        Definitions::new(vec![job, daily])
            .unwrap()
            .with_sensors(vec![failures])
            .unwrap(),
    )
}

/// One schedule, `nightly`, off by default.
pub fn schedules() -> Vec<ScheduleDef> {
    vec![
        ScheduleDef::builder("nightly", "etl", "0 0 2 * * *")
            .timezone("Europe/Paris")
            .default_switch(ScheduleSwitch::Off)
            .build()
            .unwrap(),
    ]
}

/// The router over a store, and the store itself to check what requests did.
#[derive(Debug, Clone)]
pub struct TestApp {
    pub store: Arc<dyn RunStorage>,
    pub router: Router,
}

pub use orch_test_support::http::Reply;

impl TestApp {
    pub fn new(store: Arc<dyn RunStorage>) -> Self {
        let router = web::router(AppState::new(store.clone(), definitions(), schedules()));
        Self { store, router }
    }

    /// The same application behind `auth`.
    pub fn with_auth(self, auth: web::AuthPolicy) -> Self {
        let router = web::router_with_auth(
            AppState::new(self.store.clone(), definitions(), schedules()),
            auth,
        );
        Self { router, ..self }
    }

    /// The same application with the operator's tag check `check` on launches.
    pub fn with_tag_check(self, check: Arc<dyn orchestrator::launcher::RunTagCheck>) -> Self {
        let state =
            AppState::new(self.store.clone(), definitions(), schedules()).with_tag_check(check);
        Self {
            router: web::router(state),
            ..self
        }
    }

    /// The same application with this process's Prometheus recorder at `/metrics`.
    pub fn with_metrics(self) -> Self {
        let metrics = orchestrator::telemetry::metrics::install().unwrap();
        let state =
            AppState::new(self.store.clone(), definitions(), schedules()).with_metrics(metrics);
        Self {
            router: web::router(state),
            ..self
        }
    }

    /// GETs `uri` and returns the status, the content type and the body as text.
    pub async fn get_text(&self, uri: &str) -> (StatusCode, String, String) {
        orch_test_support::http::get_text(&self.router, uri).await
    }

    pub async fn request(&self, request: Request<Body>) -> Reply {
        orch_test_support::http::send(&self.router, request).await
    }

    pub async fn get(&self, uri: &str) -> Reply {
        orch_test_support::http::get(&self.router, uri).await
    }

    /// POSTs `body` as JSON (or nothing).
    pub async fn post(&self, uri: &str, body: Option<Value>) -> Reply {
        match body {
            Some(body) => {
                self.post_raw(uri, "application/json", body.to_string())
                    .await
            }
            None => {
                self.request(
                    Request::builder()
                        .method(Method::POST)
                        .uri(uri)
                        .body(Body::empty())
                        .unwrap(),
                )
                .await
            }
        }
    }

    pub async fn post_raw(&self, uri: &str, content_type: &str, body: impl Into<Body>) -> Reply {
        self.request(
            Request::builder()
                .method(Method::POST)
                .uri(uri)
                .header("content-type", content_type)
                .body(body.into())
                .unwrap(),
        )
        .await
    }

    /// All runs in the store, newest first.
    pub async fn runs(&self) -> Vec<Run> {
        self.store
            .list_runs(&orchestrator::domain::RunFilter::default())
            .await
            .unwrap()
    }

    /// A QUEUED run of `etl` with `tags`.
    pub async fn queued(&self, tags: &[(&str, &str)]) -> Run {
        let tags: Tags = tags
            .iter()
            .map(|(k, v)| (TagKey::parse(k).unwrap(), (*v).to_owned()))
            .collect();
        let job = orchestrator::domain::JobName::parse("etl").unwrap();
        self.store
            .create_run(&NewRun::queued(job, json!({"limit": 10}), tags))
            .await
            .unwrap()
    }

    /// A run of `etl` that `extract` succeeded in and that ended `status` (SUCCESS or FAILURE:
    /// `load` failed), with `extract` materialized.
    pub async fn finished(&self, status: RunStatus) -> Run {
        let job = orchestrator::domain::JobName::parse("etl").unwrap();
        let run = self
            .store
            .create_run(&NewRun::in_process(job, json!({}), Tags::new()))
            .await
            .unwrap();
        self.store
            .transition_run(run.id, RunStatus::Started, None)
            .await
            .unwrap();
        let extract = AssetKey::parse("extract").unwrap();
        let step = |kind| NewEvent {
            timestamp: Utc::now(),
            step: Some(extract.clone()),
            kind,
        };
        let mut metadata = Metadata::new();
        metadata.insert("uri".into(), json!("s3://bucket/extract.json"));
        self.store
            .append_events(
                run.id,
                &[
                    step(EventKind::StepStart { attempt: 1 }),
                    step(EventKind::AssetMaterialization {
                        asset_key: extract.clone(),
                        metadata,
                    }),
                    step(EventKind::StepSuccess { duration_ms: 5 }),
                ],
            )
            .await
            .unwrap();
        let message = (status == RunStatus::Failure).then_some("load failed");
        self.store
            .transition_run(run.id, status, message)
            .await
            .unwrap()
    }
}
