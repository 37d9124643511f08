"""The orch chart, rendered with the default values and with values-eks.yaml: Helm lint, the
Kubernetes schemas, and the properties the deployment relies on (workloads, probes, security
contexts, secrets as files, RBAC, the migration hook, ingress, disruption budgets)."""

from __future__ import annotations

import unittest

import helm_python

from support import (
    CHART,
    NAMESPACE,
    RELEASE,
    container,
    deep_merge,
    eks_values,
    env_of,
    render,
    validate,
)

SECRET_NAMES = {"DATABASE_URL", "ORCH_AUTH_TOKEN", "ORCH_AUTH_TOKENS", "ALERT_WEBHOOK_URL", "OPENWEATHER_API_KEY"}
ORCH_PODS = {
    f"Deployment/{RELEASE}-daemon",
    f"Deployment/{RELEASE}-web",
    f"Job/{RELEASE}-migrate",
}


def setUpModule():
    global DEFAULT, EKS
    DEFAULT = render()
    EKS = render(eks_values())


class LintTest(unittest.TestCase):
    def test_lint_finds_no_error_or_warning(self):
        for label, values in (("default", None), ("eks", eks_values())):
            with self.subTest(values=label):
                report = helm_python.lint(str(CHART), values, strict=True, kube_version="v1.33.0")
                self.assertEqual(report["errors"], [])
                serious = [m for m in report["messages"] if m["severity"] >= 2]
                self.assertEqual(serious, [])


class SchemaTest(unittest.TestCase):
    def test_every_manifest_validates_against_kubernetes_1_33(self):
        variants = {
            "default": DEFAULT,
            "eks": EKS,
            "bundled database, runs elsewhere": render({"runs": {"namespace": "orch-runs"}}),
            "local launcher, nginx ingress, metrics": render(
                {
                    "launcher": {"kind": "local"},
                    "daemon": {"replicas": 1},
                    "ingress": {"enabled": True, "className": "nginx"},
                    "metrics": {
                        "serviceMonitor": {"enabled": True},
                        "prometheusRule": {"enabled": True},
                        "dashboard": {"enabled": True},
                    },
                }
            ),
        }
        for label, rendered in variants.items():
            with self.subTest(values=label):
                code, output, count = validate(rendered)
                self.assertEqual(code, 0, output)
                self.assertNotIn("ERROR", output)
                self.assertGreater(count, 10)
                self.assertEqual(output.count(" passed for resource "), count, output)


class WorkloadTest(unittest.TestCase):
    def test_daemon_and_web_replicas_follow_values(self):
        self.assertEqual(DEFAULT.get("Deployment", "orch-daemon")["spec"]["replicas"], 2)
        self.assertEqual(DEFAULT.get("Deployment", "orch-web")["spec"]["replicas"], 2)
        scaled = render({"daemon": {"replicas": 3}, "web": {"replicas": 4}})
        self.assertEqual(scaled.get("Deployment", "orch-daemon")["spec"]["replicas"], 3)
        self.assertEqual(scaled.get("Deployment", "orch-web")["spec"]["replicas"], 4)

    def test_each_role_runs_its_orch_command(self):
        for rendered in (DEFAULT, EKS):
            specs = rendered.pod_specs()
            self.assertEqual(container(specs["Deployment/orch-daemon"], "daemon")["args"], ["daemon"])
            self.assertEqual(
                container(specs["Deployment/orch-web"], "web")["args"],
                ["web", "--addr", "0.0.0.0:3000"],
            )
            self.assertEqual(container(specs["Job/orch-migrate"], "migrate")["args"], ["migrate"])
            for name in ORCH_PODS:
                (c,) = specs[name]["containers"]
                self.assertNotIn("command", c, "the image's ENTRYPOINT is orch")
        self.assertEqual(
            container(EKS.pod_specs()["Deployment/orch-web"], "web")["image"],
            "123456789012.dkr.ecr.eu-west-1.amazonaws.com/orch:0.1.0",
        )

    def test_web_probes_healthz_and_readyz_on_its_port(self):
        web = container(DEFAULT.pod_specs()["Deployment/orch-web"], "web")
        self.assertEqual(web["ports"], [{"name": "http", "containerPort": 3000, "protocol": "TCP"}])
        self.assertEqual(web["livenessProbe"]["httpGet"], {"path": "/healthz", "port": "http"})
        self.assertEqual(web["readinessProbe"]["httpGet"], {"path": "/readyz", "port": "http"})
        self.assertEqual(web["startupProbe"]["httpGet"]["path"], "/healthz")

    def test_daemon_probes_healthz_on_the_metrics_address(self):
        daemon = container(DEFAULT.pod_specs()["Deployment/orch-daemon"], "daemon")
        env = env_of(daemon)
        self.assertEqual(env["ORCH_METRICS_ADDR"]["value"], "0.0.0.0:9464")
        self.assertEqual(daemon["ports"][0]["containerPort"], 9464)
        self.assertEqual(daemon["ports"][0]["name"], "metrics")
        for probe in ("startupProbe", "livenessProbe", "readinessProbe"):
            self.assertEqual(daemon[probe]["httpGet"], {"path": "/healthz", "port": "metrics"})
        moved = render({"daemon": {"metricsPort": 9100}})
        daemon = container(moved.pod_specs()["Deployment/orch-daemon"], "daemon")
        self.assertEqual(env_of(daemon)["ORCH_METRICS_ADDR"]["value"], "0.0.0.0:9100")
        service = moved.get("Service", "orch-daemon")
        self.assertEqual(service["spec"]["ports"][0]["port"], 9100)

    def test_pods_run_non_root_with_a_read_only_root_filesystem(self):
        for rendered in (DEFAULT, EKS):
            for name, spec in rendered.pod_specs().items():
                with self.subTest(pod=name):
                    self.assertTrue(spec["securityContext"]["runAsNonRoot"])
                    self.assertEqual(spec["securityContext"]["seccompProfile"]["type"], "RuntimeDefault")
                    for c in spec["containers"]:
                        sc = c["securityContext"]
                        self.assertTrue(sc["readOnlyRootFilesystem"])
                        self.assertFalse(sc["allowPrivilegeEscalation"])
                        self.assertEqual(sc["capabilities"]["drop"], ["ALL"])
                        self.assertIn("limits", c["resources"])
                        self.assertIn("requests", c["resources"])
                    if name in ORCH_PODS:
                        self.assertEqual(spec["securityContext"]["runAsUser"], 10001)

    def test_orch_home_is_a_writable_empty_dir(self):
        for name in ORCH_PODS:
            spec = DEFAULT.pod_specs()[name]
            (c,) = spec["containers"]
            with self.subTest(pod=name):
                self.assertEqual(env_of(c)["ORCH_HOME"]["value"], "/var/lib/orch")
                mount = next(m for m in c["volumeMounts"] if m["mountPath"] == "/var/lib/orch")
                self.assertNotIn("readOnly", mount)
                volume = next(v for v in spec["volumes"] if v["name"] == mount["name"])
                self.assertIn("emptyDir", volume)

    def test_daemon_and_web_read_orch_toml_from_the_config_map(self):
        for name, cname in (("Deployment/orch-daemon", "daemon"), ("Deployment/orch-web", "web")):
            spec = DEFAULT.pod_specs()[name]
            c = container(spec, cname)
            path = env_of(c)["ORCH_CONFIG"]["value"]
            mount = next(m for m in c["volumeMounts"] if path.startswith(m["mountPath"] + "/"))
            volume = next(v for v in spec["volumes"] if v["name"] == mount["name"])
            config_map = DEFAULT.get("ConfigMap", volume["configMap"]["name"])
            self.assertIn(path.rsplit("/", 1)[1], config_map["data"])
        # A config change rolls the pods.
        before = DEFAULT.get("Deployment", "orch-daemon")["spec"]["template"]["metadata"]
        after = render({"config": {"run_queue": {"max_concurrent_runs": 3}}})
        after = after.get("Deployment", "orch-daemon")["spec"]["template"]["metadata"]
        self.assertNotEqual(before["annotations"]["checksum/config"], after["annotations"]["checksum/config"])

    def test_only_the_daemon_mounts_an_api_token(self):
        specs = EKS.pod_specs()
        self.assertTrue(specs["Deployment/orch-daemon"]["automountServiceAccountToken"])
        self.assertFalse(specs["Deployment/orch-web"]["automountServiceAccountToken"])
        self.assertFalse(specs["Job/orch-migrate"]["automountServiceAccountToken"])
        self.assertEqual(specs["Deployment/orch-daemon"]["serviceAccountName"], "orch-daemon")
        self.assertEqual(specs["Deployment/orch-web"]["serviceAccountName"], "orch-web")

    def test_disruption_budgets_select_the_deployments_pods(self):
        for component in ("daemon", "web"):
            pdb = DEFAULT.get("PodDisruptionBudget", f"orch-{component}")
            deployment = DEFAULT.get("Deployment", f"orch-{component}")
            self.assertEqual(pdb["spec"]["maxUnavailable"], 1)
            self.assertEqual(
                pdb["spec"]["selector"]["matchLabels"], deployment["spec"]["selector"]["matchLabels"]
            )
            labels = deployment["spec"]["template"]["metadata"]["labels"]
            for key, value in pdb["spec"]["selector"]["matchLabels"].items():
                self.assertEqual(labels[key], value)


class SecretsTest(unittest.TestCase):
    def assert_secrets_are_files(self, rendered):
        for name, spec in rendered.pod_specs().items():
            volumes = {v["name"]: v for v in spec.get("volumes", [])}
            for c in spec["containers"]:
                env = env_of(c)
                for var in env.values():
                    with self.subTest(pod=name, env=var["name"]):
                        self.assertNotIn(var["name"], SECRET_NAMES, "a secret inlined as a variable")
                        self.assertNotIn("secretKeyRef", var.get("valueFrom", {}))
                self.assertEqual(c.get("envFrom", []), [])
                for secret in SECRET_NAMES & {n[: -len("_FILE")] for n in env if n.endswith("_FILE")}:
                    path = env[f"{secret}_FILE"]["value"]
                    mount = next(m for m in c["volumeMounts"] if path.startswith(m["mountPath"] + "/"))
                    self.assertTrue(mount["readOnly"])
                    source = volumes[mount["name"]]["secret"]
                    key = path.rsplit("/", 1)[1]
                    self.assertEqual([i["key"] for i in source["items"]], [key])

    def test_secrets_reach_pods_as_files_never_as_values(self):
        self.assert_secrets_are_files(DEFAULT)
        self.assert_secrets_are_files(EKS)

    def test_each_process_gets_the_secrets_it_uses_from_existing_secrets(self):
        specs = EKS.pod_specs()

        def secret_of(pod, cname, var):
            spec = specs[pod]
            c = container(spec, cname)
            path = env_of(c)[f"{var}_FILE"]["value"]
            mount = next(m for m in c["volumeMounts"] if path.startswith(m["mountPath"] + "/"))
            return next(v for v in spec["volumes"] if v["name"] == mount["name"])["secret"]["secretName"]

        self.assertEqual(secret_of("Deployment/orch-daemon", "daemon", "DATABASE_URL"), "orch-database")
        self.assertEqual(secret_of("Deployment/orch-web", "web", "DATABASE_URL"), "orch-database")
        self.assertEqual(secret_of("Job/orch-migrate", "migrate", "DATABASE_URL"), "orch-database")
        self.assertEqual(secret_of("Deployment/orch-web", "web", "ORCH_AUTH_TOKEN"), "orch-auth-token")
        self.assertEqual(
            secret_of("Deployment/orch-daemon", "daemon", "ALERT_WEBHOOK_URL"), "orch-alert-webhook"
        )
        self.assertNotIn("ORCH_AUTH_TOKEN_FILE", env_of(container(specs["Deployment/orch-daemon"], "daemon")))
        self.assertNotIn("ALERT_WEBHOOK_URL_FILE", env_of(container(specs["Deployment/orch-web"], "web")))

    def test_with_an_external_database_the_chart_holds_no_secret(self):
        self.assertEqual(EKS.kinds("Secret"), [])
        self.assertEqual(EKS.kinds("StatefulSet"), [])
        self.assertNotIn("postgres://", EKS.text())

    def test_the_bundled_database_url_lives_in_secrets_only(self):
        url_secret = DEFAULT.get("Secret", "orch-database")
        self.assertEqual(set(url_secret["data"]), {"DATABASE_URL"})
        self.assertNotIn("postgres://", DEFAULT.orch_toml())
        for doc in DEFAULT.docs:
            if doc["kind"] != "Secret":
                self.assertNotIn("postgres://", str(doc))

    def test_bundled_database_password_is_chosen_once_per_render(self):
        import base64

        rendered = render({"runs": {"namespace": "orch-runs"}})
        password = base64.b64decode(rendered.get("Secret", "orch-postgresql")["data"]["password"]).decode()
        self.assertGreaterEqual(len(password), 32)
        for name, host in (("orch-database", "orch-postgresql:"), ("orch-run-database", "orch-postgresql.orch.svc:")):
            secret = rendered.get("Secret", name)
            url = base64.b64decode(secret["data"]["DATABASE_URL"]).decode()
            self.assertEqual(url, f"postgres://orch:{password}@{host}5432/orch?sslmode=disable")
        self.assertEqual(rendered.get("Secret", "orch-run-database")["metadata"]["namespace"], "orch-runs")
        given = render({"postgresql": {"auth": {"password": "p@ss word"}}})
        url = base64.b64decode(given.get("Secret", "orch-database")["data"]["DATABASE_URL"]).decode()
        self.assertIn("orch:p%40ss+word@", url)

    def test_no_database_at_all_is_refused_with_the_fix(self):
        with self.assertRaises(helm_python.HelmRenderError) as caught:
            render({"postgresql": {"enabled": False}})
        self.assertIn("database.existingSecret", str(caught.exception))


class RbacTest(unittest.TestCase):
    RULES = [
        {"apiGroups": ["batch"], "resources": ["jobs"], "verbs": ["create", "get", "list", "watch", "delete"]},
        {"apiGroups": [""], "resources": ["pods"], "verbs": ["get", "list", "watch"]},
        {"apiGroups": [""], "resources": ["pods/log"], "verbs": ["get"]},
    ]

    def test_the_daemon_may_manage_jobs_in_the_run_namespace_only(self):
        for rendered, run_ns in ((DEFAULT, NAMESPACE), (EKS, "orch-runs")):
            role = rendered.get("Role", "orch-launcher")
            self.assertEqual(role["metadata"]["namespace"], run_ns)
            self.assertEqual(role["rules"], self.RULES)
            binding = rendered.get("RoleBinding", "orch-launcher")
            self.assertEqual(binding["metadata"]["namespace"], run_ns)
            self.assertEqual(binding["roleRef"], {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": "orch-launcher"})
            self.assertEqual(
                binding["subjects"],
                [{"kind": "ServiceAccount", "name": "orch-daemon", "namespace": NAMESPACE}],
            )
            self.assertEqual(rendered.kinds("ClusterRole"), [])
            self.assertEqual(rendered.kinds("ClusterRoleBinding"), [])

    def test_service_accounts_carry_their_irsa_annotations(self):
        run = EKS.get("ServiceAccount", "orch-run")
        self.assertEqual(run["metadata"]["namespace"], "orch-runs")
        self.assertEqual(
            run["metadata"]["annotations"]["eks.amazonaws.com/role-arn"],
            "arn:aws:iam::123456789012:role/orch-run",
        )
        self.assertFalse(run["automountServiceAccountToken"])
        annotated = render({"web": {"serviceAccount": {"annotations": {"eks.amazonaws.com/role-arn": "arn:web"}}}})
        self.assertEqual(
            annotated.get("ServiceAccount", "orch-web")["metadata"]["annotations"],
            {"eks.amazonaws.com/role-arn": "arn:web"},
        )

    def test_the_local_launcher_gets_no_kubernetes_rights(self):
        local = render({"launcher": {"kind": "local"}, "daemon": {"replicas": 1}})
        self.assertEqual(local.kinds("Role"), [])
        self.assertEqual(local.kinds("RoleBinding"), [])
        self.assertEqual([sa["metadata"]["name"] for sa in local.kinds("ServiceAccount")], ["orch-daemon", "orch-web"])


class MigrationHookTest(unittest.TestCase):
    def hook(self, rendered):
        return rendered.get("Job", "orch-migrate")["metadata"]["annotations"]

    def test_migrations_run_before_install_and_upgrade_on_an_external_database(self):
        annotations = self.hook(EKS)
        self.assertEqual(annotations["helm.sh/hook"], "pre-install,pre-upgrade")
        self.assertEqual(annotations["helm.sh/hook-delete-policy"], "before-hook-creation,hook-succeeded")

    def test_with_the_bundled_database_they_run_once_it_exists(self):
        self.assertEqual(self.hook(DEFAULT)["helm.sh/hook"], "post-install,pre-upgrade")

    def test_the_hook_depends_on_nothing_the_release_creates_later(self):
        spec = EKS.pod_specs()["Job/orch-migrate"]
        self.assertNotIn("serviceAccountName", spec)
        self.assertEqual(spec["restartPolicy"], "Never")
        job = EKS.get("Job", "orch-migrate")
        self.assertGreater(job["spec"]["backoffLimit"], 0)
        config_maps = {v["configMap"]["name"] for v in spec["volumes"] if "configMap" in v}
        self.assertEqual(config_maps, set())

    def test_migrations_can_be_switched_off(self):
        self.assertEqual(render({"migrations": {"enabled": False}}).kinds("Job"), [])


class IngressTest(unittest.TestCase):
    def test_eks_values_expose_the_web_service_through_an_alb(self):
        ingress = EKS.get("Ingress", "orch")
        self.assertEqual(ingress["spec"]["ingressClassName"], "alb")
        self.assertEqual(ingress["metadata"]["annotations"]["alb.ingress.kubernetes.io/target-type"], "ip")
        (rule,) = ingress["spec"]["rules"]
        self.assertEqual(rule["host"], "orch.example.com")
        backend = rule["http"]["paths"][0]["backend"]["service"]
        self.assertEqual(backend, {"name": "orch-web", "port": {"name": "http"}})
        service = EKS.get("Service", "orch-web")
        self.assertEqual(service["spec"]["ports"][0]["name"], "http")
        self.assertEqual(service["spec"]["ports"][0]["targetPort"], "http")

    def test_nginx_with_tls_and_the_ui_url_derived_from_the_host(self):
        rendered = render(
            {
                "ingress": {
                    "enabled": True,
                    "className": "nginx",
                    "annotations": {"nginx.ingress.kubernetes.io/proxy-body-size": "1m"},
                    "hosts": [{"host": "orch.internal", "paths": [{"path": "/", "pathType": "Prefix"}]}],
                    "tls": [{"secretName": "orch-tls", "hosts": ["orch.internal"]}],
                }
            }
        )
        ingress = rendered.get("Ingress", "orch")
        self.assertEqual(ingress["spec"]["ingressClassName"], "nginx")
        self.assertEqual(ingress["spec"]["tls"], [{"hosts": ["orch.internal"], "secretName": "orch-tls"}])
        daemon = container(rendered.pod_specs()["Deployment/orch-daemon"], "daemon")
        self.assertEqual(env_of(daemon)["ORCH_UI_URL"]["value"], "https://orch.internal")

    def test_no_ingress_by_default(self):
        self.assertEqual(DEFAULT.kinds("Ingress"), [])
        self.assertIn("port-forward svc/orch-web", DEFAULT.notes)


class NotesTest(unittest.TestCase):
    def test_notes_warn_about_an_open_api_and_a_missing_io_bucket(self):
        self.assertIn("API accepts mutations from anyone", DEFAULT.notes)
        self.assertIn("ORCH_IO_BUCKET", DEFAULT.notes)
        self.assertNotIn("WARNING", EKS.notes)
        self.assertIn("https://orch.example.com", EKS.notes)


if __name__ == "__main__":
    unittest.main()
