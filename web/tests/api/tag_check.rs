//! The operator's tag check on launches (`AppState::tag_check`), with the Kubernetes launcher's
//! real guard (`[launcher.kubernetes] run_overridable`, default list): a launch whose
//! `orch/k8s_config` tag sets the image, the service account, env or secrets is refused with 422
//! naming the key, and no run exists; one that only shapes the pod is queued with its tag.

use std::sync::Arc;

use axum::http::StatusCode;
use launcher_k8s::RunOverridable;
use serde_json::{Value, json};

use crate::support::{TestApp, api_tests};

api_tests!(
    k8s_config_keys_outside_run_overridable_are_refused_before_a_run_exists,
    allowed_k8s_config_keys_are_queued_with_the_tag,
);

fn guarded(app: TestApp) -> TestApp {
    app.with_tag_check(Arc::new(RunOverridable::default()))
}

fn launch_body(k8s_config: Value) -> Value {
    json!({"tags": {"orch/k8s_config": k8s_config.to_string(), "team": "data"}})
}

async fn k8s_config_keys_outside_run_overridable_are_refused_before_a_run_exists(app: TestApp) {
    let app = guarded(app);
    for (key, value) in [
        ("image", json!("attacker/miner:latest")),
        ("service_account", json!("orch-admin")),
        ("env", json!({"AWS_ROLE_ARN": "arn:aws:iam::1:role/admin"})),
        ("env_from_secrets", json!(["aws-admin"])),
        ("env_from_config_maps", json!(["other"])),
        ("image_pull_secrets", json!(["regcred"])),
    ] {
        let body = launch_body(json!({ "resources": {}, key: value }));
        let reply = app.post("/api/v1/jobs/etl/launch", Some(body)).await;
        reply.assert_error(
            StatusCode::UNPROCESSABLE_ENTITY,
            &format!("tag orch/k8s_config: `{key}` may not be set by a run"),
        );
        reply.assert_error(StatusCode::UNPROCESSABLE_ENTITY, "run_overridable");
    }
    let malformed = json!({"tags": {"orch/k8s_config": "{not json"}});
    app.post("/api/v1/jobs/etl/launch", Some(malformed))
        .await
        .assert_error(StatusCode::UNPROCESSABLE_ENTITY, "not valid JSON");
    assert!(
        app.runs().await.is_empty(),
        "a refused launch created a run"
    );
}

async fn allowed_k8s_config_keys_are_queued_with_the_tag(app: TestApp) {
    let app = guarded(app);
    let config = json!({
        "resources": {"limits": {"memory": "2Gi"}},
        "node_selector": {"karpenter.sh/capacity-type": "spot"},
        "labels": {"team": "data"},
    });
    let reply = app
        .post("/api/v1/jobs/etl/launch", Some(launch_body(config.clone())))
        .await;
    reply.assert_status(StatusCode::CREATED);
    let runs = app.runs().await;
    assert_eq!(runs.len(), 1);
    let tag = runs[0]
        .tags
        .iter()
        .find(|(k, _)| k.as_str() == "orch/k8s_config")
        .map(|(_, v)| v.clone())
        .unwrap();
    assert_eq!(serde_json::from_str::<Value>(&tag).unwrap(), config);
    // Without a check (an embedder that sets none) the same refused key passes: the guard is
    // what refuses, not something else in the launch path.
    let open = app.with_tag_check(Arc::new(orchestrator::launcher::TagChecks::none()));
    open.post(
        "/api/v1/jobs/etl/launch",
        Some(launch_body(json!({"image": "x:1"}))),
    )
    .await
    .assert_status(StatusCode::CREATED);
}
