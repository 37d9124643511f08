//! The Kubernetes launcher inside the real daemon, against k8s-sim (the stand-in API server,
//! Job controller and kubelet; see that crate's docs for what it does and does not simulate)
//! through the real `kube::Client`, on a real SQLite store. The "workers" here are `sh`
//! scripts registered as images, so each failure can be produced on demand; the real `orch
//! worker` runs as a pod end to end in `cli/tests/e2e/kubernetes.rs`.

#![allow(clippy::unwrap_used)]

mod adopt;
mod failures;
mod support;
mod watching;
