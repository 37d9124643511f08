"""The Dockerfile of the image the chart deploys: hadolint finds nothing, the final stage is
what the chart and the launcher assume (orch as ENTRYPOINT at /usr/local/bin/orch, uid 10001,
ORCH_HOME=/var/lib/orch), the build is locked, and the build context keeps every crate."""

from __future__ import annotations

import fnmatch
import os
import re
import subprocess
import tomllib
import unittest

from support import ROOT, render

DOCKERFILE = ROOT / "Dockerfile"


def instructions() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) pairs, continuation lines joined, comments dropped."""
    text = re.sub(r"\\\n\s*", " ", DOCKERFILE.read_text())
    result = []
    for line in text.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            word, _, rest = line.partition(" ")
            result.append((word.upper(), rest.strip()))
    return result


def final_stage() -> list[tuple[str, str]]:
    steps = instructions()
    last_from = max(i for i, (word, _) in enumerate(steps) if word == "FROM")
    return steps[last_from:]


class DockerfileTest(unittest.TestCase):
    def test_hadolint_finds_nothing(self):
        hadolint = os.environ.get("ORCH_HADOLINT")
        self.assertTrue(hadolint, 'ORCH_HADOLINT is not set: eval "$(scripts/py-tools.sh)" first')
        proc = subprocess.run([hadolint, str(DOCKERFILE)], capture_output=True, text=True, timeout=60)
        self.assertEqual(proc.returncode, 0, proc.stdout + proc.stderr)
        self.assertEqual(proc.stdout.strip(), "")

    def test_the_final_stage_runs_orch_as_uid_10001(self):
        stage = final_stage()
        words = dict(stage)  # the last of each instruction
        self.assertEqual(words["USER"], "10001:10001")
        self.assertEqual(words["ENTRYPOINT"], '["orch"]')
        self.assertIn("ORCH_HOME=/var/lib/orch", [args for word, args in stage if word == "ENV"])
        copies = [args for word, args in stage if word == "COPY"]
        self.assertIn("--from=builder /out/bin/orch /usr/local/bin/orch", copies)
        self.assertEqual([w for w, _ in stage if w == "RUN"], [], "the final image has no shell")

    def test_the_chart_agrees_with_the_image(self):
        rendered = render()
        stage = final_stage()
        uid = int(dict(stage)["USER"].split(":")[0])
        home = next(a for w, a in stage if w == "ENV" and a.startswith("ORCH_HOME=")).split("=", 1)[1]
        for name, spec in rendered.pod_specs().items():
            if "postgresql" in name:
                continue
            self.assertEqual(spec["securityContext"]["runAsUser"], uid, name)
            for c in spec["containers"]:
                env = {e["name"]: e.get("value") for e in c.get("env", [])}
                self.assertEqual(env["ORCH_HOME"], home, name)
                self.assertIn(home, [m["mountPath"] for m in c["volumeMounts"]], name)

    def test_the_release_build_is_locked_and_dependencies_are_cooked_first(self):
        runs = [args for word, args in instructions() if word == "RUN"]
        cook = next(i for i, r in enumerate(runs) if "cargo chef cook" in r)
        build = next(i for i, r in enumerate(runs) if r.startswith("cargo build"))
        self.assertLess(cook, build)
        for command in (runs[cook], runs[build]):
            self.assertIn("--release", command)
            self.assertIn("--locked", command)
            self.assertIn('-p "${ORCH_PACKAGE}"', command)
        # The stock orch unless --build-arg names another package (README "Write your own
        # pipelines", "In Rust"); whichever binary is built is installed as /usr/local/bin/orch.
        args = [a for w, a in instructions() if w == "ARG"]
        self.assertIn("ORCH_PACKAGE=orch", args)
        self.assertIn("ORCH_BIN=orch", args)
        self.assertIn('"target/release/${ORCH_BIN}" /out/bin/orch', runs[build])

    def test_the_build_context_keeps_every_crate_and_the_migrations(self):
        patterns = [
            line.strip()
            for line in (ROOT / ".dockerignore").read_text().splitlines()
            if line.strip() and not line.startswith("#")
        ]
        self.assertIn("target", patterns)
        self.assertIn(".git", patterns)
        members = tomllib.loads((ROOT / "Cargo.toml").read_text())["workspace"]["members"]
        needed = ["Cargo.toml", "Cargo.lock", "migrations/postgres", "migrations/sqlite"]
        needed += [f"{m}/Cargo.toml" for m in members] + [f"{m}/src" for m in members]
        for path in needed:
            for pattern in patterns:
                parts = path.split("/")
                prefixes = ["/".join(parts[: i + 1]) for i in range(len(parts))]
                self.assertFalse(
                    any(fnmatch.fnmatch(p, pattern) for p in prefixes),
                    f".dockerignore pattern {pattern!r} drops {path}",
                )


if __name__ == "__main__":
    unittest.main()
