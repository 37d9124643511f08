"""Renders the orch chart with the real Helm engine (helm-python-sdk) and hands the manifests to
the tests as data; validates them against the Kubernetes OpenAPI schemas with
kubernetes-validate. Both tools come from scripts/py-tools.sh ($ORCH_PYTHON runs these tests,
$ORCH_KUBERNETES_VALIDATE names the validator)."""

from __future__ import annotations

import copy
import functools
import os
import pathlib
import subprocess
import tempfile

import helm_python
import yaml

ROOT = pathlib.Path(__file__).resolve().parents[2]
CHART = ROOT / "helm" / "orch"
KUBE_VERSION = "1.33.0"
RELEASE = "orch"
NAMESPACE = "orch"

# Custom resources of the prometheus-operator: not in the core schemas, checked by hand.
CRD_KINDS = {"ServiceMonitor", "PrometheusRule"}


def deep_merge(base: dict, override: dict) -> dict:
    """`override` laid over `base`, maps merged key by key (as Helm merges values files)."""
    merged = copy.deepcopy(base)
    for key, value in override.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = deep_merge(merged[key], value)
        else:
            merged[key] = copy.deepcopy(value)
    return merged


def eks_values() -> dict:
    return helm_python.values_from_yaml((CHART / "values-eks.yaml").read_text())


@functools.lru_cache(maxsize=1)
def chart() -> helm_python.Chart:
    return helm_python.Chart.load(str(CHART))


class Rendered:
    """One rendering of the chart: the manifests by template, and lookups by kind and name."""

    def __init__(self, templates: dict[str, str], values: dict):
        self.values = values
        self.templates = templates
        self.notes = templates.get("orch/templates/NOTES.txt", "")
        self.docs: list[dict] = []
        for path, text in sorted(templates.items()):
            if path.endswith("NOTES.txt"):
                continue
            for doc in yaml.safe_load_all(text):
                if doc:
                    doc.setdefault("metadata", {})
                    self.docs.append(doc)

    def text(self) -> str:
        return "\n".join(t for p, t in self.templates.items() if not p.endswith("NOTES.txt"))

    def kinds(self, kind: str) -> list[dict]:
        return [d for d in self.docs if d["kind"] == kind]

    def get(self, kind: str, name: str) -> dict:
        found = [d for d in self.kinds(kind) if d["metadata"]["name"] == name]
        if len(found) != 1:
            names = [d["metadata"]["name"] for d in self.kinds(kind)]
            raise AssertionError(f"expected one {kind} {name}, found {len(found)} among {names}")
        return found[0]

    def pod_specs(self) -> dict[str, dict]:
        """Every pod template of the rendering, by `Kind/name`."""
        specs = {}
        for doc in self.docs:
            if doc["kind"] in ("Deployment", "StatefulSet", "Job"):
                specs[f"{doc['kind']}/{doc['metadata']['name']}"] = doc["spec"]["template"]["spec"]
        return specs

    def orch_toml(self) -> str:
        return self.get("ConfigMap", f"{RELEASE}-config")["data"]["orch.toml"]


def render(values: dict | None = None, *, namespace: str = NAMESPACE) -> Rendered:
    """Renders the chart as `helm install` would, with `values` over the chart's defaults."""
    values = values or {}
    templates = chart().render(values=values, name=RELEASE, namespace=namespace, is_install=True)
    return Rendered(templates, values)


def validate(rendered: Rendered) -> tuple[int, str, int]:
    """kubernetes-validate --strict on every core manifest; returns (exit code, output, number
    of manifests given to it)."""
    validator = os.environ.get("ORCH_KUBERNETES_VALIDATE")
    if not validator:
        raise AssertionError(
            "ORCH_KUBERNETES_VALIDATE is not set: run through scripts/test.sh, or "
            'eval "$(scripts/py-tools.sh)" first'
        )
    with tempfile.TemporaryDirectory(prefix="orch-chart-") as tmp:
        files = []
        for i, doc in enumerate(rendered.docs):
            if doc["kind"] in CRD_KINDS:
                continue
            path = pathlib.Path(tmp) / f"{i:03}-{doc['kind']}-{doc['metadata']['name']}.yaml"
            path.write_text(yaml.safe_dump(doc))
            files.append(str(path))
        proc = subprocess.run(
            [validator, "--strict", "-k", KUBE_VERSION, *files],
            capture_output=True,
            text=True,
            timeout=120,
        )
        return proc.returncode, proc.stdout + proc.stderr, len(files)


def container(spec: dict, name: str) -> dict:
    found = [c for c in spec["containers"] if c["name"] == name]
    assert len(found) == 1, f"no single container {name} in {[c['name'] for c in spec['containers']]}"
    return found[0]


def env_of(c: dict) -> dict[str, dict]:
    return {e["name"]: e for e in c.get("env", [])}
