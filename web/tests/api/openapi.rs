//! The OpenAPI document (`/api/v1/openapi.json`) against the router that serves it: the same
//! operations on both sides (a route added without its `#[utoipa::path]` fails here), and what
//! the document promises about every operation (the layers' answers, security, unique ids).

use axum::http::StatusCode;
use axum::routing::post;
use orch_test_support::api_drift::drift;
use serde_json::Value;
use utoipa_axum::router::OpenApiRouter;

use super::support::*;

async fn document(app: &TestApp) -> Value {
    let reply = app.get("/api/v1/openapi.json").await;
    reply.assert_status(StatusCode::OK);
    reply.body
}

#[tokio::test]
async fn every_route_is_documented_and_every_operation_served() {
    on_sqlite(|app: TestApp| async move {
        let doc = document(&app).await;
        assert_eq!(doc["openapi"], "3.1.0");
        let drift = drift(&format!("{:?}", app.router), "/api/v1", &doc).unwrap();
        assert!(drift.is_empty(), "router and document differ: {drift:#?}");
        // A sample of what must be there, so an empty document could not pass.
        for (path, method) in [
            ("/api/v1/runs", "get"),
            ("/api/v1/jobs/{job}/launch", "post"),
            ("/api/v1/assets/{key}", "get"),
            ("/api/v1/openapi.json", "get"),
        ] {
            assert!(doc["paths"][path][method].is_object(), "{method} {path}");
        }
    })
    .await;
}

#[tokio::test]
async fn an_undocumented_route_is_caught() {
    on_sqlite(|app: TestApp| async move {
        // An extension route added with plain axum, without `routes!` and `#[utoipa::path]`.
        let sneaky = OpenApiRouter::from(axum::Router::new().route("/sneaky", post(|| async {})));
        let state = web::AppState::new(app.store.clone(), definitions(), schedules());
        let router = web::router_with_extensions(state, web::AuthPolicy::default(), sneaky);
        let doc = serde_json::to_value(web::openapi_document(OpenApiRouter::default())).unwrap();
        let drift = drift(&format!("{router:?}"), "/api/v1", &doc).unwrap();
        assert_eq!(drift.undocumented, ["POST /api/v1/sneaky"]);
        assert!(drift.unserved.is_empty(), "{drift:?}");
    })
    .await;
}

#[tokio::test]
async fn every_operation_documents_the_layers_answers_and_its_security() {
    on_sqlite(|app: TestApp| async move {
        let doc = document(&app).await;
        let mut ids = std::collections::BTreeSet::new();
        for (path, item) in doc["paths"].as_object().unwrap() {
            for (method, op) in item.as_object().unwrap() {
                let label = format!("{method} {path}");
                let id = op["operationId"].as_str().unwrap_or_default();
                assert!(
                    ids.insert(id.to_owned()),
                    "{label}: operationId {id:?} twice"
                );
                let responses = op["responses"].as_object().unwrap();
                assert!(
                    responses.keys().any(|s| s.starts_with('2')),
                    "{label}: no success response"
                );
                let mut layers = vec!["401", "408", "429"];
                if method != "get" {
                    layers.push("403");
                }
                for status in layers {
                    assert!(responses.contains_key(status), "{label}: no {status}");
                }
                let security = op["security"].as_array().unwrap();
                let anonymous = security.iter().any(|r| r.as_object().unwrap().is_empty());
                assert_eq!(anonymous, method == "get", "{label}: {security:?}");
            }
        }
        let schemes = &doc["components"]["securitySchemes"]["bearer"];
        assert_eq!(schemes["scheme"], "bearer", "{schemes}");
    })
    .await;
}

#[tokio::test]
async fn the_document_follows_the_read_policy() {
    on_sqlite(|app: TestApp| async move {
        let policy = web::AuthPolicy {
            token: web::AuthToken::new("s3cret"),
            protect_reads: true,
            ..web::AuthPolicy::default()
        };
        let app = app.with_auth(policy);
        app.get("/api/v1/openapi.json")
            .await
            .assert_status(StatusCode::UNAUTHORIZED);
    })
    .await;
}
