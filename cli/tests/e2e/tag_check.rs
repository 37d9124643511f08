//! `orch launch` and `orch run` check a run's `orch/k8s_config` tag against
//! `[launcher.kubernetes] run_overridable` before the run exists: a key outside it (by default
//! `image`, `service_account`, secrets…) is a usage error (exit 2) naming the key, with no run
//! stored, whatever launcher the daemon uses; an operator who lists the key lets it through.

use crate::support::{JOB, Orch, init};

const IMAGE_TAG: &str = r#"orch/k8s_config={"image": "attacker/miner:1"}"#;

#[tokio::test]
async fn launch_and_run_refuse_k8s_config_keys_outside_run_overridable() {
    init();
    let orch = Orch::local();
    for command in ["launch", "run"] {
        let out = orch.run(&[command, JOB, "--tag", IMAGE_TAG]).await;
        out.assert_exit(2).assert_says(&[
            "tag orch/k8s_config: `image` may not be set by a run",
            "run_overridable",
        ]);
    }
    let secrets = r#"orch/k8s_config={"resources": {}, "env_from_secrets": ["aws-admin"]}"#;
    orch.run(&["launch", JOB, "--tag", secrets])
        .await
        .assert_exit(2)
        .assert_says(&["`env_from_secrets` may not be set by a run"]);
    assert!(
        orch.list_ids(&[]).await.is_empty(),
        "a refused launch stored a run"
    );

    let allowed = r#"orch/k8s_config={"resources": {"limits": {"memory": "2Gi"}}}"#;
    orch.run(&["launch", JOB, "--tag", allowed])
        .await
        .assert_exit(0);
    assert_eq!(orch.list_ids(&[]).await.len(), 1);
}

#[tokio::test]
async fn an_operator_can_let_runs_pick_the_image() {
    init();
    let orch = Orch::local();
    std::fs::write(
        orch.home().join("orch.toml"),
        "[launcher.kubernetes]\nrun_overridable = [\"image\", \"resources\"]\n",
    )
    .unwrap();
    orch.run(&["launch", JOB, "--tag", IMAGE_TAG])
        .await
        .assert_exit(0);
    let out = orch
        .run(&["launch", JOB, "--tag", r#"orch/k8s_config={"labels": {}}"#])
        .await;
    out.assert_exit(2).assert_says(&[
        "`labels` may not be set by a run",
        "A run may set: image, resources",
    ]);
    std::fs::write(
        orch.home().join("orch.toml"),
        "[launcher.kubernetes]\nrun_overridable = [\"namespace\"]\n",
    )
    .unwrap();
    orch.run(&["launch", JOB])
        .await
        .assert_exit(2)
        .assert_says(&["`run_overridable` lists `namespace`"]);
    assert_eq!(orch.list_ids(&[]).await.len(), 1);
}
