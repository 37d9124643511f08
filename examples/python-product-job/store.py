"""store_to_s3: the summary as pretty JSON (2-space indent, as the Rust seed writes it),
Content-Type application/json, under data_YYYYMMDD_HHMMSS.json (UTC): into S3_BUCKET_NAME with
boto3 (AWS_ENDPOINT_URL and the standard credential chain apply), else under
$ORCH_HOME/objects/."""

import json
import os
from datetime import datetime, timezone

from dagster_pipes import open_dagster_pipes

with open_dagster_pipes() as pipes:
    with open(pipes.extras["inputs"]["process_data"], encoding="utf-8") as f:
        summary = json.load(f)
    body = json.dumps(summary, indent=2, ensure_ascii=False).encode("utf-8")
    key = datetime.now(timezone.utc).strftime("data_%Y%m%d_%H%M%S.json")
    bucket = os.environ.get("S3_BUCKET_NAME")
    if bucket:
        import boto3

        boto3.client("s3").put_object(
            Bucket=bucket, Key=key, Body=body, ContentType="application/json"
        )
        uri = f"s3://{bucket}/{key}"
    else:
        directory = os.path.join(os.environ.get("ORCH_HOME", ".orch"), "objects")
        os.makedirs(directory, exist_ok=True)
        path = os.path.join(directory, key)
        with open(path + ".tmp", "wb") as out:
            out.write(body)
        os.replace(path + ".tmp", path)
        uri = path
    pipes.log.info(f"stored {uri} ({len(body)} bytes)")
    pipes.report_asset_materialization(
        metadata={"uri": uri, "size_bytes": len(body), "count": summary.get("count")}
    )
    with open(pipes.extras["output_path"], "w", encoding="utf-8") as out:
        json.dump({"uri": uri, "key": key, "size_bytes": len(body)}, out)
