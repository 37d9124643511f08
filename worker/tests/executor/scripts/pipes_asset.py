"""A command asset written against the unmodified dagster-pipes package, as it would run under
Dagster's PipesSubprocessClient: it reads its context, logs, reports a materialization with
metadata of every Pipes type and two check results, and writes its output where orch says."""

import json
import sys

from dagster_pipes import open_dagster_pipes

with open_dagster_pipes() as pipes:
    if pipes.extras["config"].get("fail"):
        raise ValueError("asked to fail")
    upstream = json.load(open(pipes.extras["inputs"]["seed"]))
    pipes.log.info(
        f"asset {pipes.asset_key} of {pipes.job_name}, run {pipes.run_id}, "
        f"retry {pipes.retry_number}, partition {pipes.extras.get('partition')!r}"
    )
    pipes.log.warning("a warning from Python")
    print("plain stdout line")
    print("plain stderr line", file=sys.stderr)
    pipes.report_asset_materialization(
        metadata={
            "count": len(upstream["posts"]),
            "text": {"raw_value": "hello", "type": "text"},
            "url": {"raw_value": "https://example.com/x", "type": "url"},
            "path": {"raw_value": "/data/x.json", "type": "path"},
            "json": {"raw_value": {"a": [1, 2]}, "type": "json"},
            "md": {"raw_value": "# Title", "type": "md"},
            "int": {"raw_value": 7, "type": "int"},
            "float": {"raw_value": 0.25, "type": "float"},
            "bool": {"raw_value": True, "type": "bool"},
            "null": {"raw_value": None, "type": "null"},
            "inferred": 3.5,
        },
        data_version="v1",
    )
    pipes.report_asset_check("has_posts", passed=True, metadata={"count": 2})
    pipes.report_asset_check("titles_short", passed=False, severity="WARN")
    pipes.report_custom_message({"rows": 2})
    with open(pipes.extras["output_path"], "w") as out:
        json.dump({"titles": [p["title"] for p in upstream["posts"]]}, out)
