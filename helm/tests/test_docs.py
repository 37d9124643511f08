"""The deployment examples under docs/ point at things that exist."""

from __future__ import annotations

import unittest

import yaml

from support import CHART, ROOT


class ArgoCdApplicationTest(unittest.TestCase):
    def test_the_application_deploys_this_chart_with_existing_values(self):
        app = yaml.safe_load((ROOT / "docs" / "argocd-application.yaml").read_text())
        self.assertEqual(app["apiVersion"], "argoproj.io/v1alpha1")
        self.assertEqual(app["kind"], "Application")
        source = app["spec"]["source"]
        self.assertEqual(ROOT / source["path"], CHART)
        for values_file in source["helm"]["valueFiles"]:
            self.assertTrue((CHART / values_file).is_file(), values_file)
        self.assertEqual(app["spec"]["destination"]["namespace"], "orch")


if __name__ == "__main__":
    unittest.main()
