//! The Launch Run form applies the operator's tag check like the API: an `orch/k8s_config` tag
//! line that sets a key outside `run_overridable` is the job page again, 422, naming the key,
//! and no run; an allowed one launches.

use std::sync::Arc;

use axum::http::StatusCode;
use launcher_k8s::RunOverridable;

use crate::browser::Browser;
use crate::support::{TestApp, api_tests};

api_tests!(the_launch_form_refuses_k8s_config_keys_outside_run_overridable);

async fn the_launch_form_refuses_k8s_config_keys_outside_run_overridable(app: TestApp) {
    let app = app.with_tag_check(Arc::new(RunOverridable::default()));
    let browser = Browser::new(&app);
    let csrf = browser.get("/jobs/etl").await.csrf();
    let refused = r#"orch/k8s_config={"service_account": "orch-admin"}"#;
    browser
        .post(
            "/jobs/etl/launch",
            &[("csrf", &csrf), ("config", "{}"), ("tags", refused)],
        )
        .await
        .assert_status(StatusCode::UNPROCESSABLE_ENTITY)
        .assert_contains("<p class=\"error\" id=\"launch-error\">")
        .assert_contains("`service_account` may not be set by a run");
    assert!(app.runs().await.is_empty(), "a refused form created a run");
    let allowed = r#"orch/k8s_config={"labels": {"team": "data"}}"#;
    browser
        .post(
            "/jobs/etl/launch",
            &[("csrf", &csrf), ("config", "{}"), ("tags", allowed)],
        )
        .await
        .assert_status(StatusCode::SEE_OTHER);
    assert_eq!(app.runs().await.len(), 1);
}
