"""process_data: the seed's summary. count, average title length in characters (a missing or
non-string title counts 0; rounded to 2 decimals, halves away from zero as the Rust seed
rounds), an ISO 8601 UTC timestamp with microseconds, and the first three posts as received."""

import json
import math
from datetime import datetime, timezone

from dagster_pipes import open_dagster_pipes


def round2(x: float) -> float:
    return math.floor(x * 100.0 + 0.5) / 100.0


with open_dagster_pipes() as pipes:
    with open(pipes.extras["inputs"]["fetch_data"], encoding="utf-8") as f:
        posts = json.load(f)
    total = sum(len(p["title"]) if isinstance(p.get("title"), str) else 0 for p in posts)
    average = round2(total / len(posts)) if posts else 0.0
    summary = {
        "count": len(posts),
        "average_title_length": average,
        "timestamp": datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
        "sample_data": posts[:3],
    }
    pipes.report_asset_materialization(
        metadata={"count": len(posts), "average_title_length": average}
    )
    with open(pipes.extras["output_path"], "w", encoding="utf-8") as out:
        json.dump(summary, out, ensure_ascii=False)
