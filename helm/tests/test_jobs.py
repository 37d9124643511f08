"""Job files from chart values: a ConfigMap of the files (or an existing one) mounted read-only
at /etc/orch-jobs in the daemon and web pods with ORCH_JOBS_DIR pointing there, a change of a
file rolling both (checksum), nothing of it in the run pods' way, and a bad file name refused."""

from __future__ import annotations

import tomllib
import unittest

import helm_python

from support import RELEASE, container, env_of, render, validate

JOB = """name = "py_product_job"
workdir = "/app/py_product_job"

[[assets]]
name = "fetch_data"
command = ["python3", "fetch.py"]

[launcher.kubernetes]
image = "registry.example/orch-python:1"
"""

PODS = {"daemon": f"Deployment/{RELEASE}-daemon", "web": f"Deployment/{RELEASE}-web"}


def jobs_mount(spec: dict, name: str) -> list[dict]:
    return [m for m in container(spec, name).get("volumeMounts", []) if m["name"] == "jobs"]


class JobFilesTest(unittest.TestCase):
    def test_no_job_files_by_default(self):
        rendered = render()
        self.assertEqual(
            [d["metadata"]["name"] for d in rendered.kinds("ConfigMap") if "jobs" in d["metadata"]["name"]],
            [],
        )
        specs = rendered.pod_specs()
        for name, key in PODS.items():
            self.assertNotIn("ORCH_JOBS_DIR", env_of(container(specs[key], name)))
            self.assertEqual(jobs_mount(specs[key], name), [])

    def test_files_become_a_config_map_mounted_in_daemon_and_web(self):
        rendered = render({"jobs": {"files": {"py_product_job.toml": JOB}}})
        data = rendered.get("ConfigMap", f"{RELEASE}-jobs")["data"]
        self.assertEqual(list(data), ["py_product_job.toml"])
        # The text arrives as written: TOML with the job's own image and workdir.
        job = tomllib.loads(data["py_product_job.toml"])
        self.assertEqual(job["name"], "py_product_job")
        self.assertEqual(job["workdir"], "/app/py_product_job")
        self.assertEqual(job["launcher"]["kubernetes"]["image"], "registry.example/orch-python:1")
        specs = rendered.pod_specs()
        for name, key in PODS.items():
            spec = specs[key]
            self.assertEqual(env_of(container(spec, name))["ORCH_JOBS_DIR"]["value"], "/etc/orch-jobs")
            self.assertEqual(
                jobs_mount(spec, name),
                [{"name": "jobs", "mountPath": "/etc/orch-jobs", "readOnly": True}],
            )
            volumes = [v for v in spec["volumes"] if v["name"] == "jobs"]
            self.assertEqual(volumes, [{"name": "jobs", "configMap": {"name": f"{RELEASE}-jobs"}}])
        code, output, _ = validate(rendered)
        self.assertEqual(code, 0, output)

    def test_an_edited_file_rolls_the_daemon_and_web_pods(self):
        def checksums(files: dict) -> dict:
            rendered = render({"jobs": {"files": files}})
            return {
                key: rendered.get("Deployment", key.split("/")[1])["spec"]["template"]["metadata"][
                    "annotations"
                ]["checksum/jobs"]
                for key in PODS.values()
            }

        before = checksums({"py_product_job.toml": JOB})
        after = checksums({"py_product_job.toml": JOB.replace("fetch.py", "fetch2.py")})
        for key in PODS.values():
            self.assertNotEqual(before[key], after[key], key)
        self.assertEqual(before, checksums({"py_product_job.toml": JOB}))

    def test_an_existing_config_map_is_mounted_instead(self):
        rendered = render(
            {"jobs": {"existingConfigMap": "team-jobs", "files": {"ignored.toml": JOB}}}
        )
        self.assertEqual(
            [d["metadata"]["name"] for d in rendered.kinds("ConfigMap") if d["metadata"]["name"].endswith("-jobs")],
            [],
        )
        spec = rendered.pod_specs()[PODS["daemon"]]
        volumes = [v for v in spec["volumes"] if v["name"] == "jobs"]
        self.assertEqual(volumes, [{"name": "jobs", "configMap": {"name": "team-jobs"}}])

    def test_a_file_name_that_is_not_toml_is_refused(self):
        with self.assertRaises(helm_python.HelmRenderError) as caught:
            render({"jobs": {"files": {"fetch.py": "print(1)"}}})
        self.assertIn('"fetch.py" is not a job file name', str(caught.exception))


if __name__ == "__main__":
    unittest.main()
