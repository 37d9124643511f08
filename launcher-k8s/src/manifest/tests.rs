//! Manifest tests: the shape of the Job, and every variant validated by `kubernetes-validate
//! --strict` against the Kubernetes 1.33 schema (`$ORCH_KUBERNETES_VALIDATE`, exported by
//! `scripts/test-services.sh`).

use std::process::Command;

use serde_json::{Value, json};

use super::*;
use crate::settings::{JobSettings, KubernetesSettings, SettingsOverrides};

fn run_id() -> RunId {
    RunId::parse("01968f2c-7a3b-7c00-8a1e-3f6d2b9c4e5a").unwrap()
}

fn settings(value: Value) -> JobSettings {
    let Value::Object(table) = value else {
        panic!("not an object")
    };
    KubernetesSettings::parse(Some(&table), &SettingsOverrides::default())
        .unwrap()
        .defaults
}

fn manifest(
    settings: &JobSettings,
    deadline: Option<Duration>,
    extra: &[(String, String)],
) -> Value {
    let request = JobRequest {
        run: run_id(),
        job: "product_pipeline_job",
        namespace: "orch-runs",
        settings,
        deadline,
        extra_env: extra,
    };
    serde_json::to_value(job_manifest(&request).unwrap()).unwrap()
}

/// Runs kubernetes-validate on the manifest; panics with its output when it refuses.
fn validate(name: &str, manifest: &Value) {
    let validator = std::env::var("ORCH_KUBERNETES_VALIDATE").unwrap_or_else(|_| {
        panic!(
            "ORCH_KUBERNETES_VALIDATE is not set: run `eval \"$(scripts/test-services.sh)\"` first"
        )
    });
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(format!("{name}.json"));
    std::fs::write(&path, serde_json::to_vec_pretty(manifest).unwrap()).unwrap();
    let out = Command::new(&validator)
        .args(["--strict", "-k", "1.33.0"])
        .arg(&path)
        .output()
        .unwrap_or_else(|e| panic!("cannot run {validator}: {e}"));
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        out.status.success(),
        "{name}: kubernetes-validate refused it:\n{text}\n{manifest:#}"
    );
    assert!(
        text.contains("PASSED") || text.is_empty() || !text.contains("ERROR"),
        "{text}"
    );
}

fn full_settings() -> JobSettings {
    settings(json!({
        "namespace": "orch-runs", "image": "registry.example/orch:0.1.0",
        "image_pull_policy": "Always", "service_account": "orch-run",
        "image_pull_secrets": ["regcred"],
        "env": {"S3_BUCKET_NAME": "bucket", "ORCH_LOG_FORMAT": "json"},
        "env_from_secrets": ["orch-run-env"], "env_from_config_maps": ["orch-config"],
        "resources": {"requests": {"cpu": "250m", "memory": "256Mi"}, "limits": {"memory": "1Gi"}},
        "node_selector": {"karpenter.sh/capacity-type": "spot"},
        "tolerations": [
            {"key": "k", "operator": "Equal", "value": "v", "effect": "NoSchedule"},
            {"key": "karpenter.sh/disruption", "operator": "Exists", "effect": "NoExecute", "tolerationSeconds": 30}
        ],
        "affinity": {"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {
            "nodeSelectorTerms": [{"matchExpressions": [
                {"key": "kubernetes.io/arch", "operator": "In", "values": ["amd64", "arm64"]}
            ]}]}}},
        "ttl_seconds_after_finished": 3600,
        "labels": {"team": "data", "app.kubernetes.io/name": "not-orch"},
        "annotations": {"karpenter.sh/do-not-disrupt": "true"},
    }))
}

#[test]
fn the_minimal_job_runs_the_worker_as_non_root_and_is_valid() {
    let s = settings(json!({"image": "orch:0.1.0"}));
    let m = manifest(&s, None, &[]);
    validate("minimal", &m);
    assert_eq!(m["apiVersion"], "batch/v1");
    assert_eq!(m["kind"], "Job");
    assert_eq!(
        m["metadata"]["name"],
        "orch-product-pipeline-job-3f6d2b9c4e5a"
    );
    assert_eq!(m["metadata"]["namespace"], "orch-runs");
    assert_eq!(m["spec"]["backoffLimit"], 0);
    assert!(m["spec"].get("activeDeadlineSeconds").is_none());
    let pod = &m["spec"]["template"]["spec"];
    assert_eq!(pod["restartPolicy"], "Never");
    assert_eq!(pod["securityContext"]["runAsNonRoot"], true);
    assert_eq!(pod["securityContext"]["runAsUser"], 10001);
    let c = &pod["containers"][0];
    assert_eq!(c["image"], "orch:0.1.0");
    assert!(c.get("command").is_none(), "the image's entrypoint is orch");
    assert_eq!(
        c["args"],
        json!(["worker", "--run-id", "01968f2c-7a3b-7c00-8a1e-3f6d2b9c4e5a"])
    );
    assert_eq!(c["securityContext"]["readOnlyRootFilesystem"], true);
    assert_eq!(
        c["env"],
        json!([{"name": "ORCH_HOME", "value": "/var/lib/orch"}])
    );
    assert_eq!(c["volumeMounts"][0]["mountPath"], "/var/lib/orch");
    assert!(pod["volumes"][0]["emptyDir"].is_object());
    for labels in [
        &m["metadata"]["labels"],
        &m["spec"]["template"]["metadata"]["labels"],
    ] {
        assert_eq!(
            labels["orch/run-id"],
            "01968f2c-7a3b-7c00-8a1e-3f6d2b9c4e5a"
        );
        assert_eq!(labels["orch/job"], "product_pipeline_job");
        assert_eq!(labels["app.kubernetes.io/managed-by"], "orch");
        assert_eq!(labels["app.kubernetes.io/component"], "run-worker");
    }
}

#[test]
fn every_configured_key_lands_in_the_job_and_it_stays_valid() {
    let s = full_settings();
    let extra = [("TRACEPARENT".to_owned(), "00-abc-def-01".to_owned())];
    let m = manifest(&s, Some(Duration::from_secs(3600)), &extra);
    validate("full", &m);
    assert_eq!(m["spec"]["activeDeadlineSeconds"], 3600);
    assert_eq!(m["spec"]["ttlSecondsAfterFinished"], 3600);
    let labels = &m["metadata"]["labels"];
    assert_eq!(labels["team"], "data");
    assert_eq!(labels["app.kubernetes.io/name"], "orch", "own labels win");
    assert_eq!(
        m["metadata"]["annotations"]["karpenter.sh/do-not-disrupt"],
        "true"
    );
    let pod = &m["spec"]["template"]["spec"];
    assert_eq!(pod["serviceAccountName"], "orch-run");
    assert_eq!(pod["imagePullSecrets"], json!([{"name": "regcred"}]));
    assert_eq!(pod["nodeSelector"]["karpenter.sh/capacity-type"], "spot");
    assert_eq!(pod["tolerations"][1]["tolerationSeconds"], 30);
    assert_eq!(
        pod["affinity"]["nodeAffinity"]["requiredDuringSchedulingIgnoredDuringExecution"]["nodeSelectorTerms"]
            [0]["matchExpressions"][0]["values"],
        json!(["amd64", "arm64"])
    );
    let c = &pod["containers"][0];
    assert_eq!(c["imagePullPolicy"], "Always");
    assert_eq!(c["resources"]["limits"]["memory"], "1Gi");
    assert_eq!(
        c["envFrom"],
        json!([{"configMapRef": {"name": "orch-config"}}, {"secretRef": {"name": "orch-run-env"}}])
    );
    let names: Vec<&str> = c["env"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        [
            "ORCH_HOME",
            "ORCH_LOG_FORMAT",
            "S3_BUCKET_NAME",
            "TRACEPARENT"
        ]
    );
}

#[test]
fn a_run_tag_overrides_the_job_and_the_defaults() {
    let job_layer = JobSettings::parse_override(
        "job product_pipeline_job",
        &serde_json::from_value(
            json!({"node_selector": {"karpenter.sh/capacity-type": "on-demand"}}),
        )
        .unwrap(),
    )
    .unwrap();
    let tag = JobSettings::parse_tag(
        r#"{"resources": {"limits": {"memory": "4Gi", "cpu": "2"}}, "env": {"EXTRA": "1"},
            "image_pull_policy": "Never", "tolerations": []}"#,
    )
    .unwrap();
    let s = full_settings().overlay(&job_layer).overlay(&tag);
    let m = manifest(&s, Some(Duration::from_millis(1500)), &[]);
    validate("overridden", &m);
    let pod = &m["spec"]["template"]["spec"];
    assert_eq!(
        pod["nodeSelector"]["karpenter.sh/capacity-type"],
        "on-demand"
    );
    assert_eq!(pod["tolerations"], json!([]));
    let c = &pod["containers"][0];
    assert_eq!(
        c["resources"]["limits"],
        json!({"cpu": "2", "memory": "4Gi"})
    );
    assert!(
        c["resources"].get("requests").is_none(),
        "resources are replaced whole"
    );
    assert_eq!(c["imagePullPolicy"], "Never");
    assert_eq!(c["env"].as_array().unwrap().len(), 4);
    assert_eq!(m["spec"]["activeDeadlineSeconds"], 1);
}

#[test]
fn no_image_is_an_error_that_says_where_to_set_one() {
    let request = JobRequest {
        run: run_id(),
        job: "j",
        namespace: "default",
        settings: &JobSettings::default(),
        deadline: None,
        extra_env: &[],
    };
    let err = job_manifest(&request).unwrap_err().to_string();
    assert!(err.contains("no `image` is set"), "{err}");
}

#[test]
fn job_names_are_short_readable_labels() {
    let id = run_id();
    let check = |job: &str, expected: &str| {
        let name = job_name(id, job);
        assert_eq!(name, expected);
        assert!(crate::settings::is_dns_label(&name), "{name}");
    };
    check(
        "product_pipeline_job",
        "orch-product-pipeline-job-3f6d2b9c4e5a",
    );
    check("__", "orch-3f6d2b9c4e5a");
    check(
        &"x".repeat(100),
        &format!("orch-{}-3f6d2b9c4e5a", "x".repeat(45)),
    );
    assert_eq!(label_value("-a b.c-"), "a_b.c");
    assert_eq!(label_value(&"y".repeat(70)).len(), 63);
}
