"""orch.toml as the chart writes it: valid TOML (Python's tomllib), [launcher.kubernetes] with
the shared keys the Kubernetes launcher reads, the chart's defaults filled in, integers kept
integers, and the operator's [run_queue], [retention] and [schedules.*] passed through."""

from __future__ import annotations

import tomllib
import unittest

from support import deep_merge, eks_values, render

# The keys of [launcher.kubernetes] agreed with the launcher (README, "The config file").
LAUNCHER_KEYS = {
    "namespace",
    "image",
    "image_pull_policy",
    "service_account",
    "image_pull_secrets",
    "env",
    "env_from_secrets",
    "env_from_config_maps",
    "resources",
    "node_selector",
    "tolerations",
    "affinity",
    "ttl_seconds_after_finished",
    "labels",
    "annotations",
    "run_overridable",
}

# What a run's orch/k8s_config may set unless the operator says otherwise (launcher-k8s guard.rs).
DEFAULT_RUN_OVERRIDABLE = ["resources", "node_selector", "tolerations", "affinity", "labels", "annotations"]


def parsed(values=None) -> dict:
    return tomllib.loads(render(values).orch_toml())


class DefaultConfigTest(unittest.TestCase):
    def test_the_launcher_section_names_the_chart_s_own_objects(self):
        config = parsed()
        self.assertEqual(config["launcher"]["kind"], "kubernetes")
        k8s = config["launcher"]["kubernetes"]
        self.assertEqual(set(k8s), LAUNCHER_KEYS)
        self.assertEqual(k8s["namespace"], "orch")
        self.assertEqual(k8s["image"], "orch:0.1.0")
        self.assertEqual(k8s["image_pull_policy"], "IfNotPresent")
        self.assertEqual(k8s["service_account"], "orch-run")
        self.assertEqual(k8s["env_from_secrets"], ["orch-database"])
        self.assertEqual(k8s["ttl_seconds_after_finished"], 3600)
        self.assertIs(type(k8s["ttl_seconds_after_finished"]), int)
        self.assertEqual(
            k8s["resources"],
            {"requests": {"cpu": "250m", "memory": "256Mi"}, "limits": {"memory": "1Gi"}},
        )
        self.assertEqual(config["run_queue"], {"max_concurrent_runs": 10, "tag_limits": []})
        self.assertEqual(k8s["run_overridable"], DEFAULT_RUN_OVERRIDABLE)

    def test_run_overridable_is_the_operator_s_to_widen_or_empty(self):
        wide = parsed({"launcher": {"kubernetes": {"run_overridable": ["resources", "image"]}}})
        self.assertEqual(wide["launcher"]["kubernetes"]["run_overridable"], ["resources", "image"])
        # An empty list stays a list: runs may set nothing (absent would mean the default list).
        none = parsed({"launcher": {"kubernetes": {"run_overridable": []}}})
        self.assertEqual(none["launcher"]["kubernetes"]["run_overridable"], [])

    def test_the_run_service_account_and_secret_exist_where_runs_go(self):
        rendered = render({"runs": {"namespace": "orch-runs"}})
        k8s = tomllib.loads(rendered.orch_toml())["launcher"]["kubernetes"]
        self.assertEqual(k8s["namespace"], "orch-runs")
        account = rendered.get("ServiceAccount", k8s["service_account"])
        self.assertEqual(account["metadata"]["namespace"], "orch-runs")
        for name in k8s["env_from_secrets"]:
            self.assertEqual(rendered.get("Secret", name)["metadata"]["namespace"], "orch-runs")

    def test_a_local_launcher_has_no_kubernetes_table(self):
        config = parsed({"launcher": {"kind": "local"}, "daemon": {"replicas": 1}})
        self.assertEqual(config["launcher"], {"kind": "local"})


class EksConfigTest(unittest.TestCase):
    def setUp(self):
        self.config = parsed(eks_values())
        self.k8s = self.config["launcher"]["kubernetes"]

    def test_runs_go_to_spot_nodes_in_their_namespace_as_the_irsa_account(self):
        self.assertEqual(self.k8s["namespace"], "orch-runs")
        self.assertEqual(self.k8s["service_account"], "orch-run")
        self.assertEqual(self.k8s["node_selector"], {"karpenter.sh/capacity-type": "spot"})
        self.assertEqual(
            self.k8s["tolerations"],
            [{"key": "orch.io/runs", "operator": "Equal", "value": "true", "effect": "NoSchedule"}],
        )
        self.assertEqual(self.k8s["image"], "123456789012.dkr.ecr.eu-west-1.amazonaws.com/orch:0.1.0")

    def test_workers_get_the_database_from_a_secret_and_s3_settings_as_env(self):
        self.assertEqual(self.k8s["env_from_secrets"], ["orch-run-env"])
        env = self.k8s["env"]
        self.assertEqual(env["S3_BUCKET_NAME"], "orch-data-example")
        self.assertEqual(env["ORCH_IO_BUCKET"], "orch-data-example")
        self.assertEqual(env["AWS_REGION"], "eu-west-1")
        self.assertEqual(env["ORCH_UI_URL"], "https://orch.example.com")
        self.assertTrue(set(env).isdisjoint({"DATABASE_URL", "OPENWEATHER_API_KEY", "ORCH_AUTH_TOKEN"}))

    def test_operator_sections_pass_through_with_their_types(self):
        self.assertEqual(self.config["run_queue"]["max_concurrent_runs"], 50)
        self.assertIs(type(self.config["run_queue"]["max_concurrent_runs"]), int)
        self.assertEqual(
            self.config["run_queue"]["tag_limits"], [{"key": "pipeline", "value": "weather", "limit": 1}]
        )
        self.assertEqual(self.config["retention"], {"success": "30d", "failure": "90d"})
        self.assertEqual(
            self.config["schedules"]["product_pipeline_schedule"],
            {"cron": "0 0 * * * *", "timezone": "UTC", "enabled": True},
        )


class TomlWriterTest(unittest.TestCase):
    def test_awkward_values_round_trip(self):
        values = {
            "config": {
                "schedules": {
                    "nightly run": {
                        "job": "product_pipeline_job",
                        "cron": "0 0 2 * * *",
                        "config": {"timeout_seconds": 2.5, "source_url": 'file:///a "b"\\c\n'},
                        "tags": {"team": "data", "unicode": "é→✓", "html": "<&>"},
                    }
                }
            },
            "launcher": {
                "kubernetes": {
                    "env": {"ORCH_LOG": "debug", "EMPTY": ""},
                    "labels": {"app.kubernetes.io/part-of": "orch"},
                    "affinity": {
                        "nodeAffinity": {
                            "requiredDuringSchedulingIgnoredDuringExecution": {
                                "nodeSelectorTerms": [
                                    {"matchExpressions": [{"key": "zone", "operator": "In", "values": ["a", "b"]}]}
                                ]
                            }
                        }
                    },
                }
            },
        }
        config = parsed(values)
        schedule = config["schedules"]["nightly run"]
        self.assertEqual(schedule["config"], {"timeout_seconds": 2.5, "source_url": 'file:///a "b"\\c\n'})
        self.assertEqual(schedule["tags"], {"team": "data", "unicode": "é→✓", "html": "<&>"})
        k8s = config["launcher"]["kubernetes"]
        self.assertEqual(k8s["labels"], {"app.kubernetes.io/part-of": "orch"})
        self.assertEqual(k8s["affinity"], values["launcher"]["kubernetes"]["affinity"])
        # The user's env wins over the chart's, and empty strings are kept when set explicitly.
        self.assertEqual(k8s["env"]["ORCH_LOG"], "debug")
        self.assertEqual(k8s["env"]["EMPTY"], "")

    def test_null_removes_a_key(self):
        config = parsed(deep_merge(eks_values(), {"launcher": {"kubernetes": {"ttl_seconds_after_finished": None}}}))
        self.assertNotIn("ttl_seconds_after_finished", config["launcher"]["kubernetes"])


if __name__ == "__main__":
    unittest.main()
