//! The simulated kubelet: runs a pod's first container as a local process with the pod's
//! environment, and reports Pod status as a kubelet does (Pending with `ErrImagePull` /
//! `ImagePullBackOff` or `CreateContainerConfigError`, Running, then Succeeded or Failed with the
//! container's exit code and reason).
//!
//! Images are registered with the simulator ([`crate::SimImage`]): an image maps to an
//! entrypoint on this machine; an unregistered image cannot be pulled. The process gets only the
//! image's env, `envFrom` (Secrets and ConfigMaps registered with the simulator) and `env`
//! (plain values; `valueFrom` is not supported), like a container, not the test's environment.
//! Volume mounts become directories under the pod's directory, and env values naming a mount
//! path are rewritten to it (a process cannot see the container's filesystem layout).

use std::collections::BTreeMap;
use std::os::unix::process::ExitStatusExt;
use std::process::Stdio;
use std::sync::Arc;
use std::time::Duration;

use k8s_openapi::api::core::v1::{Container, Pod};
use rustix::process::{Pid, Signal};
use serde_json::{Value, json};
use tokio::process::Command;
use tokio::sync::mpsc;

use crate::cluster::{Cluster, lock};
use crate::store::Kind;

/// What can happen to a running pod from outside.
#[derive(Debug)]
pub(crate) enum PodSignal {
    /// Graceful deletion: SIGTERM, SIGKILL after `grace`.
    Terminate { grace: Duration },
    /// Killed at once, reported with this exit code, container reason and pod status fields
    /// (e.g. `reason: Evicted`, a `DisruptionTarget` condition); removed after if `remove`.
    Kill {
        exit_code: i32,
        reason: String,
        pod_status: Value,
        remove: bool,
    },
}

/// Starts the kubelet's work on a new pod.
pub(crate) fn start(cluster: Arc<Cluster>, ns: String, name: String) {
    let (tx, rx) = mpsc::unbounded_channel();
    lock(&cluster.pods).insert((ns.clone(), name.clone()), tx);
    tokio::spawn(async move { run_pod(cluster, ns, name, rx).await });
}

fn container_status(image: &str, state: Value, ready: bool) -> Value {
    json!([{"name": "worker", "image": image, "imageID": "", "ready": ready,
            "restartCount": 0, "started": ready, "state": state}])
}

async fn run_pod(
    c: Arc<Cluster>,
    ns: String,
    name: String,
    mut rx: mpsc::UnboundedReceiver<PodSignal>,
) {
    let Some(value) = c.store.get(Kind::Pod, &ns, &name) else {
        return;
    };
    let Ok(pod) = serde_json::from_value::<Pod>(value) else {
        return;
    };
    let Some(container) = pod
        .spec
        .as_ref()
        .and_then(|s| s.containers.first())
        .cloned()
    else {
        return;
    };
    let image_name = container.image.clone().unwrap_or_default();
    let now = crate::now();
    c.store.update(Kind::Pod, &ns, &name, |p| {
        p["status"]["conditions"] = json!([
            {"type": "PodScheduled", "status": "True", "lastTransitionTime": now},
        ]);
        p["status"]["startTime"] = json!(now);
    });
    // Pull the image and resolve envFrom, retrying as a kubelet does, until deleted.
    let mut attempt = 0u32;
    let (image, env) = loop {
        let image = lock(&c.images).get(&image_name).cloned();
        let (reason, message): (&str, String) = match image {
            None => (
                if attempt.is_multiple_of(2) {
                    "ErrImagePull"
                } else {
                    "ImagePullBackOff"
                },
                if attempt.is_multiple_of(2) {
                    format!("failed to pull and unpack image \"{image_name}\": not found")
                } else {
                    format!("Back-off pulling image \"{image_name}\"")
                },
            ),
            Some(image) => match environment(&c, &ns, &image, &container) {
                Ok(env) => break (image, env),
                Err(message) => ("CreateContainerConfigError", message),
            },
        };
        c.store.update(Kind::Pod, &ns, &name, |p| {
            p["status"]["containerStatuses"] = container_status(
                &image_name,
                json!({"waiting": {"reason": reason, "message": message}}),
                false,
            );
        });
        attempt += 1;
        tokio::select! {
            signal = rx.recv() => {
                let status = match signal {
                    Some(PodSignal::Kill { pod_status, .. }) => pod_status,
                    _ => json!({}),
                };
                finish_unstarted(&c, &ns, &name, status);
                return;
            }
            () = tokio::time::sleep(c.options.pull_backoff) => {}
        }
    };
    let dir = c.options.work_dir.join(format!("{ns}-{name}"));
    lock(&c.pod_dirs).insert((ns.clone(), name.clone()), dir.clone());
    let env = mount_volumes(&dir, &container, env);
    let mut argv: Vec<String> = match &container.command {
        Some(command) => command.clone(),
        None => image.entrypoint.clone(),
    };
    argv.extend(container.args.clone().unwrap_or_default());
    let spawned = std::fs::create_dir_all(&dir)
        .and_then(|()| std::fs::File::create(dir.join("container.log")))
        .and_then(|log| Ok((log.try_clone()?, log)))
        .and_then(|(out, err)| {
            let program = argv.first().cloned().unwrap_or_default();
            Command::new(program)
                .args(argv.iter().skip(1))
                .env_clear()
                .envs(env)
                .current_dir(&dir)
                .stdin(Stdio::null())
                .stdout(out)
                .stderr(err)
                .kill_on_drop(true)
                .spawn()
        });
    let mut child = match spawned {
        Ok(child) => child,
        Err(e) => {
            let state = json!({"terminated": {"exitCode": 128, "reason": "StartError",
                "message": format!("failed to start container process {argv:?}: {e}"),
                "startedAt": crate::now(), "finishedAt": crate::now()}});
            end_pod(&c, &ns, &name, &image_name, state, 128, json!({}), false);
            return;
        }
    };
    let pid = child
        .id()
        .and_then(|p| i32::try_from(p).ok())
        .and_then(Pid::from_raw);
    let started = crate::now();
    c.store.update(Kind::Pod, &ns, &name, |p| {
        p["status"]["phase"] = json!("Running");
        p["status"]["podIP"] = json!("127.0.0.1");
        p["status"]["hostIP"] = json!("127.0.0.1");
        p["status"]["containerStatuses"] = container_status(
            &image_name,
            json!({"running": {"startedAt": started}}),
            true,
        );
        p["status"]["conditions"] = json!([
            {"type": "PodScheduled", "status": "True", "lastTransitionTime": started},
            {"type": "Initialized", "status": "True", "lastTransitionTime": started},
            {"type": "ContainersReady", "status": "True", "lastTransitionTime": started},
            {"type": "Ready", "status": "True", "lastTransitionTime": started},
        ]);
    });
    if let Some(job) = owner(&c, &ns, &name) {
        c.store
            .update(Kind::Job, &ns, &job, |j| j["status"]["ready"] = json!(1));
    }
    let signal = |s: Signal| {
        if let Some(pid) = pid {
            let _ = rustix::process::kill_process(pid, s);
        }
    };
    let mut forced: Option<(i32, String, Value, bool)> = None;
    let mut kill_at: Option<tokio::time::Instant> = None;
    let status = loop {
        tokio::select! {
            status = child.wait() => break status,
            () = async { match kill_at { Some(t) => tokio::time::sleep_until(t).await, None => std::future::pending().await } } => {
                signal(Signal::KILL);
                kill_at = None;
            }
            message = rx.recv() => match message {
                Some(PodSignal::Terminate { grace }) => {
                    signal(Signal::TERM);
                    kill_at.get_or_insert(tokio::time::Instant::now() + grace);
                }
                Some(PodSignal::Kill { exit_code, reason, pod_status, remove }) => {
                    signal(Signal::KILL);
                    forced = Some((exit_code, reason, pod_status, remove));
                }
                None => {}
            },
        }
    };
    let code = match &status {
        Ok(s) => s
            .code()
            .or_else(|| s.signal().map(|n| 128 + n))
            .unwrap_or(255),
        Err(_) => 255,
    };
    let (code, reason, pod_status, remove) = match forced {
        Some(f) => f,
        None => (
            code,
            if code == 0 { "Completed" } else { "Error" }.to_owned(),
            json!({}),
            false,
        ),
    };
    let state = json!({"terminated": {"exitCode": code, "reason": reason,
        "startedAt": started, "finishedAt": crate::now()}});
    end_pod(&c, &ns, &name, &image_name, state, code, pod_status, remove);
}

/// Records a container's end, tells the Job controller, and removes the pod if deleted.
#[allow(clippy::too_many_arguments)]
fn end_pod(
    c: &Arc<Cluster>,
    ns: &str,
    name: &str,
    image: &str,
    state: Value,
    code: i32,
    pod_status: Value,
    remove: bool,
) {
    let now = crate::now();
    let updated = c.store.update(Kind::Pod, ns, name, |p| {
        let status = &mut p["status"];
        status["phase"] = json!(if code == 0 { "Succeeded" } else { "Failed" });
        status["containerStatuses"] = container_status(image, state, false);
        status["conditions"] = json!([
            {"type": "PodScheduled", "status": "True", "lastTransitionTime": now},
            {"type": "Ready", "status": "False", "reason": "PodCompleted", "lastTransitionTime": now},
        ]);
        merge_status(status, &pod_status);
    });
    lock(&c.pods).remove(&(ns.to_owned(), name.to_owned()));
    let Some(pod) = updated else { return };
    c.pod_finished(ns, &pod);
    if remove || !pod["metadata"]["deletionTimestamp"].is_null() {
        c.remove_pod(ns, name);
    }
}

/// A pod deleted (or killed) before its container started.
fn finish_unstarted(c: &Arc<Cluster>, ns: &str, name: &str, pod_status: Value) {
    let updated = c.store.update(Kind::Pod, ns, name, |p| {
        p["status"]["phase"] = json!("Failed");
        merge_status(&mut p["status"], &pod_status);
    });
    lock(&c.pods).remove(&(ns.to_owned(), name.to_owned()));
    if let Some(pod) = updated {
        c.pod_finished(ns, &pod);
    }
    c.remove_pod(ns, name);
}

/// Lays injected status fields over the kubelet's; `conditions` are appended.
fn merge_status(status: &mut Value, extra: &Value) {
    let Some(extra) = extra.as_object() else {
        return;
    };
    for (key, value) in extra {
        match (key.as_str(), status[key].as_array_mut(), value.as_array()) {
            ("conditions", Some(have), Some(add)) => have.extend(add.iter().cloned()),
            _ => status[key] = value.clone(),
        }
    }
}

fn owner(c: &Cluster, ns: &str, pod: &str) -> Option<String> {
    let pod = c.store.get(Kind::Pod, ns, pod)?;
    pod.pointer("/metadata/ownerReferences/0/name")?
        .as_str()
        .map(str::to_owned)
}

/// The container's environment: the image's, `envFrom`, then `env`. Errors as the kubelet
/// words a missing Secret or ConfigMap.
fn environment(
    c: &Cluster,
    ns: &str,
    image: &crate::SimImage,
    container: &Container,
) -> Result<Vec<(String, String)>, String> {
    let mut env: BTreeMap<String, String> = image.env.iter().cloned().collect();
    for source in container.env_from.iter().flatten() {
        let prefix = source.prefix.clone().unwrap_or_default();
        let (data, kind, name, optional) = if let Some(s) = &source.secret_ref {
            let data = lock(&c.secrets)
                .get(&(ns.to_owned(), s.name.clone()))
                .cloned();
            (data, "secret", s.name.clone(), s.optional.unwrap_or(false))
        } else if let Some(m) = &source.config_map_ref {
            let data = lock(&c.config_maps)
                .get(&(ns.to_owned(), m.name.clone()))
                .cloned();
            (
                data,
                "configmap",
                m.name.clone(),
                m.optional.unwrap_or(false),
            )
        } else {
            continue;
        };
        match data {
            Some(data) => env.extend(data.into_iter().map(|(k, v)| (format!("{prefix}{k}"), v))),
            None if optional => {}
            None => return Err(format!("{kind} \"{name}\" not found")),
        }
    }
    for var in container.env.iter().flatten() {
        env.insert(var.name.clone(), var.value.clone().unwrap_or_default());
    }
    Ok(env.into_iter().collect())
}

/// Makes a directory per volume mount and points env values at them.
fn mount_volumes(
    dir: &std::path::Path,
    container: &Container,
    env: Vec<(String, String)>,
) -> Vec<(String, String)> {
    let mounts: Vec<(String, String)> = container
        .volume_mounts
        .iter()
        .flatten()
        .map(|m| {
            let host = dir.join("volumes").join(&m.name);
            let _ = std::fs::create_dir_all(&host);
            (m.mount_path.clone(), host.display().to_string())
        })
        .collect();
    env.into_iter()
        .map(|(k, v)| {
            let rewritten = mounts.iter().find_map(|(path, host)| {
                let rest = v.strip_prefix(path.as_str())?;
                (rest.is_empty() || rest.starts_with('/')).then(|| format!("{host}{rest}"))
            });
            (k, rewritten.unwrap_or(v))
        })
        .collect()
}
