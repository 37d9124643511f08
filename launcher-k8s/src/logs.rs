//! The last lines a failed worker pod wrote, copied into the run's event log (as the local
//! launcher's monitor does from its log file), so the reason of a crash is where the run is.
//! Needs `pods/log get`; a pod already gone has no logs, and that is not an error.

use std::sync::Arc;

use k8s_openapi::api::core::v1::Pod;
use kube::api::LogParams;
use kube::{Api, Client};
use orchestrator::domain::{EventKind, LogLevel, NewEvent, RunId};
use orchestrator::storage::RunStorage;

use crate::launcher::api_message;
use crate::manifest::CONTAINER;

/// Lines of output kept.
pub const TAIL_LINES: i64 = 20;

/// Appends the pod's last lines to the run's events, if it has any.
pub(crate) async fn attach_tail(
    client: Client,
    namespace: String,
    pod: String,
    run: RunId,
    store: Arc<dyn RunStorage>,
) {
    let pods: Api<Pod> = Api::namespaced(client, &namespace);
    let params = LogParams {
        container: Some(CONTAINER.to_owned()),
        tail_lines: Some(TAIL_LINES),
        ..LogParams::default()
    };
    let tail = match pods.logs(&pod, &params).await {
        Ok(text) => text,
        Err(kube::Error::Api(s)) if s.code == 404 => return,
        Err(e) => {
            tracing::warn!(run_id = %run, pod, error = %api_message(&e), "cannot read the pod's logs");
            return;
        }
    };
    let tail = tail.trim_end();
    if tail.is_empty() {
        return;
    }
    let event = NewEvent::run(EventKind::Log {
        level: LogLevel::Error,
        message: format!("last lines of the worker's output (pod {pod}):\n{tail}"),
    });
    if let Err(e) = store.append_events(run, &[event]).await {
        tracing::warn!(run_id = %run, error = %e, "cannot record the worker's output");
    }
}
