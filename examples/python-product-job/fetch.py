"""fetch_data: GET a JSON array of posts from the run config's `source_url` (file:// reads a
file), as the Rust seed's fetch_data does, and reports its two checks: has_posts (ERROR) and
titles_present (WARN). Any failure raises, so the process exits non-zero naming it, and the job
file's retry policy decides whether to try again."""

import json
import sys
import urllib.error
import urllib.request

from dagster_pipes import open_dagster_pipes

with open_dagster_pipes() as pipes:
    config = pipes.extras["config"]
    url = config["source_url"]
    timeout = float(config.get("timeout_seconds", 10))
    pipes.log.info(f"fetching posts from {url}")
    if url.startswith("file://"):
        with open(url[len("file://"):], "rb") as f:
            body = f.read()
    else:
        request = urllib.request.Request(url, headers={"Accept": "application/json"})
        try:
            with urllib.request.urlopen(request, timeout=timeout) as response:
                body = response.read()
        except urllib.error.HTTPError as e:
            raise RuntimeError(f"GET {url} returned {e.code} {e.reason}") from None
    posts = json.loads(body)
    if not isinstance(posts, list):
        raise ValueError(f"{url} returned JSON that is not an array; expected an array of posts")
    pipes.log.info(f"fetched {len(posts)} posts")
    pipes.report_asset_materialization(metadata={"count": len(posts), "source_url": url})
    pipes.report_asset_check("has_posts", passed=len(posts) > 0, metadata={"count": len(posts)})
    missing = sum(1 for p in posts if not (isinstance(p.get("title"), str) and p["title"]))
    pipes.report_asset_check(
        "titles_present", passed=missing == 0, severity="WARN", metadata={"missing_titles": missing}
    )
    with open(pipes.extras["output_path"], "w", encoding="utf-8") as out:
        json.dump(posts, out, ensure_ascii=False)
