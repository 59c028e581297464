"""The fixed cost of a run (issue 20): a tiny inbox (40 contracts over 2023, the five sources) loaded end to end
by ``python -m jobs.pipeline all`` in a fresh process (JVM start, download to publication, no PDF), then the same
command again with nothing new. Prints the figures and writes ``bench/results/tiny/<date>-tiny.json``.

    .venv/bin/python -m bench.tiny [--small-inputs] [--publish-pdf]
"""

from __future__ import annotations

import argparse
import json
import os
import re
import secrets
import shutil
import subprocess
import sys
import time
from datetime import UTC, date, datetime
from pathlib import Path

from generator.core import generate_all
from jobs.core.settings import PROJECT_ROOT

RESULTS_DIR = PROJECT_ROOT / "bench" / "results" / "tiny"  # apart: bench.run reads the scales of results/
STAGE_LINE = re.compile(r"✓ (\w+(?: \w+)?) in ([\d.]+) s")


def run_once(env: dict[str, str], run_id: str) -> dict:
    """One ``jobs.pipeline all`` in its own process: wall seconds and each stage's seconds from its progress."""
    started = time.perf_counter()
    proc = subprocess.run([sys.executable, "-m", "jobs.pipeline", "all", "--run-id", run_id], cwd=PROJECT_ROOT,
                          env=env, capture_output=True, text=True)
    wall = round(time.perf_counter() - started, 1)
    if proc.returncode:
        raise SystemExit(f"the run failed ({proc.returncode}):\n{proc.stderr[-3000:]}")
    return {"wall_s": wall, **stage_seconds(proc.stderr)}


def stage_seconds(progress: str) -> dict:
    """Each stage's seconds (summed over sources) and the skipped stages, from the progress lines."""
    stages: dict[str, float] = {}
    for name, seconds in STAGE_LINE.findall(progress):
        stages[name] = round(stages.get(name, 0.0) + float(seconds), 1)
    skipped = sorted(set(re.findall(r"✓ (\w+(?: \w+)?) in [\d.]+ s — skipped", progress)))
    return {"stages_s": stages, "skipped": skipped}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--small-inputs", action="store_true",
                        help="OBS_SPARK_SMALL_INPUTS=true (Spark's small-inputs profile)")
    parser.add_argument("--publish-pdf", action="store_true", help="also print the sheets and report as PDF")
    parser.add_argument("--work-dir", default=str(PROJECT_ROOT / "bench" / ".work" / "tiny"))
    parser.add_argument("--no-save", action="store_true", help="print only")
    args = parser.parse_args()
    work = Path(args.work_dir)
    shutil.rmtree(work, ignore_errors=True)
    summary = generate_all(work / "inbox", 40, date(2023, 1, 1), date(2024, 1, 1), seed=11, xml_every=0)
    env = {k: v for k, v in os.environ.items() if not k.startswith("OBS_")}
    env.update(OBS_LAKE_URI=str(work / "lake"), OBS_INBOX_DIR=str(work / "inbox"), OBS_OUTPUT_DIR=str(work / "out"),
               OBS_SPARK_SHUFFLE_PARTITIONS="2", OBS_PUBLISH_PDF=str(args.publish_pdf).lower(),
               OBS_SPARK_SMALL_INPUTS=str(args.small_inputs).lower(), OBS_PSEUDONYMIZATION_KEY=secrets.token_hex(16))
    first = run_once(env, "tiny_1")
    print(f"tiny inbox ({summary.contracts} contracts, five sources), first run: {first['wall_s']} s", flush=True)
    again = run_once(env, "tiny_2")
    print(f"same inbox again (nothing new): {again['wall_s']} s; skipped: {', '.join(again['skipped']) or 'none'}")
    result = {"scale": "tiny", "contracts": summary.contracts, "small_inputs": args.small_inputs,
              "publish_pdf": args.publish_pdf, "first_run": first, "rerun": again,
              "finished_at": datetime.now(UTC).isoformat(timespec="seconds"), "cpus": os.cpu_count(),
              "load_average_at_end": [round(x, 2) for x in os.getloadavg()]}
    print(json.dumps(result["first_run"]["stages_s"]))
    if not args.no_save:
        out = RESULTS_DIR / f"{date.today():%Y-%m-%d}-tiny{'-small' if args.small_inputs else ''}.json"
        out.write_text(json.dumps(result, indent=1), encoding="utf-8")
        print(f"written {out}")
    shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
