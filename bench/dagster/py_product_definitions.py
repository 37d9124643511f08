"""The comparison side of BENCHMARKS.md, "Issue 11: the Python Pipes product job": Dagster 1.13
running the very scripts of examples/python-product-job (fetch.py, process.py, store.py)
through `PipesSubprocessClient`, as three assets of one job, with the same extras orch gives
them (`config`, `inputs` as upstream output paths, `output_path`) and the same checks declared.
Not part of orch and not run by CI: bench/dagster.sh installs Dagster in its own venv and times
`dagster job execute` of this file against `orch run py_product_job`."""

import os
import pathlib

import dagster as dg

SCRIPTS = pathlib.Path(__file__).resolve().parents[2] / "examples" / "python-product-job"
WORK = pathlib.Path(os.environ.get("BENCH_WORK", "/tmp/dagster-bench"))
CONFIG = {"source_url": os.environ["BENCH_SOURCE_URL"], "timeout_seconds": 10}


def run_script(context: dg.AssetExecutionContext, pipes: dg.PipesSubprocessClient, name: str,
               script: str, upstream: list[str]):
    out = WORK / context.run_id
    out.mkdir(parents=True, exist_ok=True)
    extras = {
        "config": CONFIG,
        "inputs": {u: str(out / f"{u}.json") for u in upstream},
        "output_path": str(out / f"{name}.json"),
    }
    return pipes.run(
        command=["python3", str(SCRIPTS / script)],
        context=context,
        extras=extras,
        cwd=str(SCRIPTS),
    ).get_results()


@dg.asset(check_specs=[dg.AssetCheckSpec("has_posts", asset="fetch_data"),
                       dg.AssetCheckSpec("titles_present", asset="fetch_data")])
def fetch_data(context: dg.AssetExecutionContext, pipes: dg.PipesSubprocessClient):
    return run_script(context, pipes, "fetch_data", "fetch.py", [])


@dg.asset(deps=[fetch_data])
def process_data(context: dg.AssetExecutionContext, pipes: dg.PipesSubprocessClient):
    return run_script(context, pipes, "process_data", "process.py", ["fetch_data"])


@dg.asset(deps=[process_data])
def store_to_s3(context: dg.AssetExecutionContext, pipes: dg.PipesSubprocessClient):
    return run_script(context, pipes, "store_to_s3", "store.py", ["process_data"])


py_product_job = dg.define_asset_job("py_product_job", selection=[fetch_data, process_data, store_to_s3])

defs = dg.Definitions(
    assets=[fetch_data, process_data, store_to_s3],
    jobs=[py_product_job],
    resources={"pipes": dg.PipesSubprocessClient()},
)
