"""The optional monitoring objects: the ServiceMonitor and PrometheusRule (custom resources the
core schemas do not know, so their structure is checked here against the prometheus-operator's
API) and the Grafana dashboard ConfigMap."""

from __future__ import annotations

import json
import re
import unittest

from support import eks_values, render

METRICS = {"orch_runs_total", "orch_queue_depth", "orch_alert_deliveries_total", "up"}
DURATION = re.compile(r"^(0|([0-9]+(ms|s|m|h|d|w|y))+)$")


def setUpModule():
    global EKS, DEFAULT
    EKS = render(eks_values())
    DEFAULT = render()


def balanced(expr: str) -> bool:
    pairs = {")": "(", "]": "[", "}": "{"}
    stack = []
    for ch in re.sub(r'"(\\.|[^"\\])*"', '""', expr):
        if ch in "([{":
            stack.append(ch)
        elif ch in pairs:
            if not stack or stack.pop() != pairs[ch]:
                return False
    return not stack


class ServiceMonitorTest(unittest.TestCase):
    def test_structure_matches_the_operator_api(self):
        monitor = EKS.get("ServiceMonitor", "orch")
        self.assertEqual(monitor["apiVersion"], "monitoring.coreos.com/v1")
        self.assertEqual(monitor["metadata"]["labels"]["release"], "kube-prometheus-stack")
        spec = monitor["spec"]
        self.assertEqual(set(spec), {"selector", "namespaceSelector", "endpoints"})
        self.assertEqual(spec["namespaceSelector"], {"matchNames": ["orch"]})
        for endpoint in spec["endpoints"]:
            self.assertLessEqual(set(endpoint), {"port", "path", "interval", "scrapeTimeout", "honorLabels"})
            self.assertEqual(endpoint["path"], "/metrics")
            self.assertRegex(endpoint["interval"], DURATION)
            self.assertRegex(endpoint["scrapeTimeout"], DURATION)
            self.assertIs(endpoint["honorLabels"], False)

    def test_it_scrapes_both_the_web_and_the_daemon_services(self):
        spec = EKS.get("ServiceMonitor", "orch")["spec"]
        ports = {e["port"] for e in spec["endpoints"]}
        for name in ("orch-web", "orch-daemon"):
            service = EKS.get("Service", name)
            labels = service["metadata"]["labels"]
            for key, value in spec["selector"]["matchLabels"].items():
                self.assertEqual(labels.get(key), value, f"{name} not selected")
            self.assertTrue(ports & {p["name"] for p in service["spec"]["ports"]}, f"no endpoint for {name}")


class PrometheusRuleTest(unittest.TestCase):
    def setUp(self):
        self.rule = EKS.get("PrometheusRule", "orch")
        self.rules = [r for g in self.rule["spec"]["groups"] for r in g["rules"]]

    def test_structure_matches_the_operator_api(self):
        self.assertEqual(self.rule["apiVersion"], "monitoring.coreos.com/v1")
        names = [g["name"] for g in self.rule["spec"]["groups"]]
        self.assertEqual(len(names), len(set(names)))
        for group in self.rule["spec"]["groups"]:
            self.assertEqual(set(group), {"name", "rules"})
        for rule in self.rules:
            with self.subTest(alert=rule.get("alert")):
                self.assertLessEqual(set(rule), {"alert", "expr", "for", "labels", "annotations"})
                self.assertRegex(rule["alert"], r"^[A-Za-z_][A-Za-z0-9_]*$")
                self.assertIsInstance(rule["expr"], str)
                self.assertTrue(balanced(rule["expr"]), rule["expr"])
                self.assertRegex(rule["for"], DURATION)
                self.assertIn(rule["labels"]["severity"], {"critical", "warning", "info"})
                self.assertTrue(rule["annotations"]["summary"])
                self.assertTrue(rule["annotations"]["description"])
                for value in rule["annotations"].values():
                    self.assertTrue(balanced(value), value)

    def test_the_alerts_of_issue_6_watch_the_agreed_metrics(self):
        by_name = {r["alert"]: r["expr"] for r in self.rules}
        self.assertLessEqual(
            {"OrchDaemonDown", "OrchQueueBacklogGrowing", "OrchRunFailureRateHigh", "OrchAlertDeliveriesFailing"},
            set(by_name),
        )
        self.assertIn('up{job="orch-daemon", namespace="orch"}', by_name["OrchDaemonDown"])
        self.assertIn("absent(", by_name["OrchDaemonDown"])
        self.assertIn('orch_queue_depth{namespace="orch"}', by_name["OrchQueueBacklogGrowing"])
        self.assertIn("> 50", by_name["OrchQueueBacklogGrowing"])
        self.assertIn("orch_runs_total", by_name["OrchRunFailureRateHigh"])
        self.assertIn("by (exported_job)", by_name["OrchRunFailureRateHigh"])
        self.assertIn('outcome="failed"', by_name["OrchAlertDeliveriesFailing"])
        used = {m for expr in by_name.values() for m in re.findall(r"[a-z_]+(?=\{)", expr)}
        self.assertLessEqual(used, METRICS)
        self.assertEqual(used, METRICS)

    def test_prometheus_templates_reach_prometheus_unrendered(self):
        text = json.dumps(self.rule)
        self.assertIn("{{ $labels.exported_job }}", text)
        self.assertIn("{{ $value | humanizePercentage }}", text)


class DashboardTest(unittest.TestCase):
    def test_the_dashboard_is_valid_json_over_the_agreed_metrics(self):
        config_map = EKS.get("ConfigMap", "orch-dashboard")
        self.assertEqual(config_map["metadata"]["labels"]["grafana_dashboard"], "1")
        dashboard = json.loads(config_map["data"]["orch.json"])
        self.assertEqual(dashboard["uid"], "orch-overview")
        exprs = [t["expr"] for p in dashboard["panels"] for t in p["targets"]]
        self.assertTrue(all(balanced(e) for e in exprs))
        used = {m for e in exprs for m in re.findall(r"[a-z_]+(?=\{)", e)}
        self.assertEqual(used, METRICS)
        ids = [p["id"] for p in dashboard["panels"]]
        self.assertEqual(len(ids), len(set(ids)))


class OffByDefaultTest(unittest.TestCase):
    def test_default_values_need_no_prometheus_operator(self):
        for kind in ("ServiceMonitor", "PrometheusRule"):
            self.assertEqual(DEFAULT.kinds(kind), [])
        self.assertEqual([c["metadata"]["name"] for c in DEFAULT.kinds("ConfigMap")], ["orch-config"])


if __name__ == "__main__":
    unittest.main()
