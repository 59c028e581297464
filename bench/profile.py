"""Where the Spark time goes: job durations from a Spark event log, summed by call site.

The benchmark turns event logs on (``spark.eventLog.enabled`` through ``OBS_SPARK_CONF_*``); this reads
them back (JSON lines: SparkListenerJobStart / JobEnd) and ranks the Python call sites that started jobs.
"""

from __future__ import annotations

import json
from collections import defaultdict
from pathlib import Path


def _open(path: Path):
    """Event log files are zstd-compressed by default (Spark 4)."""
    if path.suffix == ".zstd":
        import io

        import zstandard

        raw = zstandard.ZstdDecompressor().stream_reader(path.open("rb"), read_across_frames=True)
        return io.TextIOWrapper(raw, encoding="utf-8", errors="replace")
    return path.open(encoding="utf-8", errors="replace")


def job_times(event_log: Path) -> list[dict]:
    """One row per Spark job: id, call site, seconds."""
    starts, out = {}, []
    with _open(event_log) as f:
        for line in f:
            if '"SparkListenerJob' not in line[:60]:
                continue
            e = json.loads(line)
            if e["Event"] == "SparkListenerJobStart":
                props = e.get("Properties") or {}
                starts[e["Job ID"]] = (e["Submission Time"], props.get("callSite.short", "?"),
                                       props.get("spark.jobGroup.id", ""))
            elif e["Event"] == "SparkListenerJobEnd" and e["Job ID"] in starts:
                t0, site, group = starts.pop(e["Job ID"])
                out.append({"job": e["Job ID"], "group": group, "call_site": site,
                            "seconds": (e["Completion Time"] - t0) / 1000})
    return out


def by_call_site(event_logs: list[Path], top: int = 15, group_prefix: str = "") -> list[dict]:
    """The call sites whose jobs took longest (jobs of the job groups starting with ``group_prefix``)."""
    total: dict[str, list[float]] = defaultdict(lambda: [0.0, 0])
    # Spark 4 writes event logs as folders (eventlog_v2_<app>/events_<n>_<app>), one file per roll.
    event_logs = [f for p in event_logs for f in (sorted(p.glob("events_*")) if p.is_dir() else [p])]
    for log in event_logs:
        for j in job_times(log):
            if not j["group"].startswith(group_prefix):
                continue
            total[j["call_site"]][0] += j["seconds"]
            total[j["call_site"]][1] += 1
    ranked = sorted(total.items(), key=lambda kv: -kv[1][0])[:top]
    return [{"call_site": k, "seconds": round(v[0], 1), "jobs": v[1]} for k, v in ranked]


if __name__ == "__main__":
    import sys

    for row in by_call_site([Path(p) for p in sys.argv[1:]]):
        print(f"{row['seconds']:8.1f} s {row['jobs']:5d} jobs  {row['call_site']}")
