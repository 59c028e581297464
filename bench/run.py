"""``python -m bench.run``: the benchmark (issue 8). See README, section *Benchmark*.

For each scale: generate the five sources (monthly facilitators' exports), run the whole pipeline in one
process and one Spark session (bulk: the whole range at once), optionally the monthly mode (the first month
alone into an empty lake; the history without the last month, then the last month on top), and the DuckDB
baseline on the same raw files; check the baseline's figures equal gold; write
``bench/results/<date>-<scale>.json``, rebuild ``bench/results/bench.html`` and print the table.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import json
import os
import platform
import shutil
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import psutil

from bench.monitor import Sampler, measured

BENCH_DIR = Path(__file__).resolve().parent
RESULTS_DIR = BENCH_DIR / "results"
SCALES = {"1k": 1_000, "10k": 10_000, "100k": 100_000, "1M": 1_000_000}
STAGES = ("landing", "bronze", "silver", "gold", "publish")


def machine() -> dict:
    cpu = platform.processor()
    with contextlib.suppress(OSError, StopIteration):
        cpu = next(line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                   if line.startswith("model name"))
    return {"cpus": os.cpu_count(), "cpu_model": cpu, "memory_gib": round(psutil.virtual_memory().total / 2**30, 1),
            "python": platform.python_version(), "system": platform.platform(),
            "load_average_at_start": [round(x, 2) for x in os.getloadavg()]}


def _rows(report: dict, key: str) -> int:
    """Sum of ``key`` over a stage report and its per-table reports."""
    total = report.get(key, 0) if isinstance(report.get(key), int) else 0
    for t in report.get("tables") or []:
        if isinstance(t, dict):
            total += _rows(t, key)
    return total


def partial(result: dict, label: str):
    """A callback that saves what is measured so far (a long run stopped midway still leaves its figures)."""

    def save(stage: str, stages: dict | None = None) -> None:
        if stages is not None:
            result["bulk_stages_done"] = stages
        path = RESULTS_DIR / f"{date.today():%Y-%m-%d}-{label}.partial.json"
        done = {k: v for k, v in result.items() if not k.startswith("_")}
        path.write_text(json.dumps({**done, "last_stage_done": stage}, indent=1, default=str), encoding="utf-8")

    return save


def parts(stage_reports: list[dict]) -> dict:
    """Seconds of each job of a stage (and of each part of publishing): where a stage's time goes."""
    out = {}
    for r in stage_reports:
        if "seconds_by_part" in r:
            out.update(r["seconds_by_part"])
        elif r.get("stage") and r.get("seconds") is not None:
            out[r["stage"]] = r["seconds"]
    return out


def run_pipeline(settings, run_id: str, sampler: Sampler, on_stage=None) -> dict:
    """Every stage of ``jobs.pipeline.run_all`` (downloads aside), grouped and measured per stage."""
    from jobs import pipeline as p

    groups = {
        "landing": [lambda s=s: p.land_source(s, run_id, settings) for s in p.SOURCES],
        "bronze": [lambda s=s: p.bronze_source(s, run_id, settings) for s in p.SOURCES],
        "silver": [lambda: p.silver_marches(run_id, settings), lambda: p.silver_sources(run_id, settings),
                   lambda: p.entity_resolution(run_id, settings)],
        "gold": [lambda: p.gold_marches(run_id, settings), lambda: p.gold_indicators(run_id, settings)],
        "publish": [lambda: p.publish(run_id, settings)],
    }
    from jobs.core.spark import get_spark

    sc = get_spark(settings).sparkContext
    reports, out = [], {}
    for stage, calls in groups.items():
        sc.setJobGroup(f"{run_id}:{stage}", f"bench {run_id} {stage}")  # for the event-log profile
        with measured(sampler) as m:
            stage_reports = [call() for call in calls]
            if stage == "publish":
                p.write_run_report(run_id, reports + stage_reports, settings)
        reports += stage_reports
        if stage == "landing":
            rows = sum(r["landed"] for r in stage_reports)
            unit = "files"
        elif stage == "bronze":
            rows = sum(_rows(r, "rows_written") for r in stage_reports)
            unit = "rows written"
        elif stage == "publish":
            rows = sum(r.get("gold_rows", 0) for r in stage_reports)
            unit = "gold rows read"
        else:
            rows = sum(_rows(r, "rows_in") for r in stage_reports)
            unit = "rows read"
        out[stage] = {"wall_s": m.wall_s, "cpu_s": m.cpu_s, "peak_rss_mib": m.peak_rss_mib, "rows": rows,
                      "rows_unit": unit, "rows_per_s": round(rows / m.wall_s, 1) if m.wall_s else None,
                      # every table's rows in, written and quarantined, as the stage's reports count them
                      **{f"rows_{k}": sum(_rows(r, f"rows_{k}") for r in stage_reports)
                         for k in ("in", "written", "quarantined")},
                      "parts_s": parts(stage_reports)}
        if on_stage is not None:
            on_stage(stage, out)
    out["total"] = {"wall_s": round(sum(out[s]["wall_s"] for s in STAGES), 2),
                    "cpu_s": round(sum(out[s]["cpu_s"] for s in STAGES), 2),
                    "peak_rss_mib": max(out[s]["peak_rss_mib"] for s in STAGES)}
    return out


def month_of_file(name: str) -> str | None:
    """``YYYY-MM`` of a monthly delivery (DECP and facilitators' files, a month's ``_rectificatif`` too: it comes
    with its month, not before the history); None for registers and yearly lists."""
    import re

    m = re.search(r"_(\d{4}-\d{2})(_[A-Za-z]+)?\.\w+$", name)
    return m.group(1) if m else None


def link_inbox(src: Path, dst: Path, keep) -> int:
    """Hard-link the files of ``src`` that ``keep(name)`` accepts into ``dst`` (same layout)."""
    n = 0
    for f in sorted(src.rglob("*")):
        if f.is_file() and keep(f.name):
            target = dst / f.relative_to(src)
            target.parent.mkdir(parents=True, exist_ok=True)
            if not target.exists():
                os.link(f, target)
                n += 1
    return n


def settings_for(base, root: Path):
    root.mkdir(parents=True, exist_ok=True)
    return base.replace(lake_uri=str(root / "lake"), inbox_dir=str(root / "inbox"),
                               output_dir=str(root / "output"))


def bench_scale(label: str, n: int, args, sampler: Sampler) -> dict:
    from generator.core import generate_all
    from jobs.core.settings import Settings
    from jobs.core.spark import get_spark

    work = Path(args.work_dir) / label
    if work.exists():
        shutil.rmtree(work)
    data = work / "data"
    start = date.fromisoformat(args.start + "-01")
    end = date.fromisoformat(args.end + "-01")
    result: dict = {"scale": label, "contracts": n, "start": args.start, "end": args.end, "machine": machine(),
                    "started_at": datetime.now(UTC).isoformat(timespec="seconds"),
                    "spark_driver_memory": os.environ.get("OBS_SPARK_DRIVER_MEMORY", "4g"),
                    # peak_rss_mib fields: the process tree's PSS (bench/monitor.py); results before this key: RSS
                    "memory_measure": "pss"}
    with measured(sampler) as m:
        summary = generate_all(data, n, start, end, seed=args.seed, facilitator_period="month")
    result["generator"] = {"wall_s": m.wall_s, "cpu_s": m.cpu_s, "files": len(summary.files),
                           "bytes": sum(Path(f).stat().st_size for f in summary.files),
                           **{k: v for k, v in dataclasses.asdict(summary).items() if k != "files"}}
    print(f"[bench {label}] generated {result['generator']['files']} files, "
          f"{result['generator']['bytes'] / 1e6:.0f} MB in {m.wall_s} s", flush=True)
    base = Settings.from_env()
    spark = get_spark(base)

    # Bulk: the whole range but its last month in one load (the history), then the last month on top
    # (monthly mode, month M+1), then the first month alone into an empty lake: one bulk load serves both
    # modes. ``--full-bulk`` adds a separate load of the whole range at once.
    last, first = f"{end:%Y-%m}", f"{start:%Y-%m}"
    today = datetime.now(UTC).date()
    save = partial(result, label)

    def duckdb_baseline() -> None:
        duckdb_into(result, data, work, today, sampler, f"{args.start} to {last} (all of it)")
        save("baseline")

    if args.baseline_first:  # a long run stopped midway still has its DuckDB figure
        duckdb_baseline()
    lake = settings_for(base, work / "lake")
    link_inbox(data, Path(lake.inbox_dir), lambda name: month_of_file(name) != last)
    result["bulk"] = run_pipeline(lake, f"bench_{label}_bulk", sampler, on_stage=save)
    result.pop("bulk_stages_done", None)
    result["bulk"]["range"] = f"{args.start} to the month before {last}"
    print(f"[bench {label}] bulk (history): {result['bulk']['total']}", flush=True)
    link_inbox(data, Path(lake.inbox_dir), lambda name: month_of_file(name) == last)
    result["monthly_next_month"] = run_pipeline(lake, f"bench_{label}_next", sampler)
    print(f"[bench {label}] month {last} on top: {result['monthly_next_month']['total']}", flush=True)
    if "baseline" not in result:
        duckdb_baseline()
    equality_into(result, spark, lake)

    if label in args.monthly:
        one = settings_for(base, work / "first_month")
        link_inbox(data, Path(one.inbox_dir), lambda name: month_of_file(name) in (None, first))
        result["monthly_first_month"] = run_pipeline(one, f"bench_{label}_first", sampler)
        result["ratio_next_month_to_first_month"] = round(
            result["monthly_next_month"]["total"]["wall_s"] / result["monthly_first_month"]["total"]["wall_s"], 2)
        print(f"[bench {label}] first month alone: {result['monthly_first_month']['total']['wall_s']} s", flush=True)
    if args.full_bulk:
        full = settings_for(base, work / "full")
        link_inbox(data, Path(full.inbox_dir), lambda name: True)
        result["bulk_full_range"] = run_pipeline(full, f"bench_{label}_full", sampler)
    result["finished_at"] = datetime.now(UTC).isoformat(timespec="seconds")
    result["machine"]["load_average_at_end"] = [round(x, 2) for x in os.getloadavg()]
    if not args.keep:
        shutil.rmtree(work, ignore_errors=True)
    return result


def duckdb_into(result: dict, data: Path, work: Path, today: date, sampler: Sampler, span: str) -> None:
    """The DuckDB baseline on the generated files, measured, into ``result`` (its tables under a private key)."""
    from bench.baseline import FAMILIES, run_baseline

    with measured(sampler) as m:
        baseline = run_baseline(data, work / "duckdb", today)
    result["baseline"] = {"wall_s": m.wall_s, "cpu_s": m.cpu_s, "peak_rss_mib": m.peak_rss_mib,
                          "seconds_per_family": {k: round(v, 2) for k, v in baseline.seconds_per_family.items()},
                          "families": list(FAMILIES), "tables": sorted(baseline.tables), "range": span}
    result["_baseline_tables"] = baseline.tables
    print(f"[bench {result['scale']}] duckdb: {m.wall_s} s", flush=True)


def equality_into(result: dict, spark, lake) -> None:
    """The baseline's tables against the lake's gold tables, cell by cell, and the bulk-to-DuckDB ratio."""
    from bench.baseline import compare, gold_frames

    tables = result.pop("_baseline_tables")
    gold = gold_frames(spark, lake, sorted(tables))
    result["equality"] = [compare(tables[t], gold[t], t) for t in sorted(tables)]
    result["baseline_equal"] = all(c["equal"] for c in result["equality"])
    wall = result["baseline"]["wall_s"]
    result["ratio_pipeline_to_duckdb"] = round(result["bulk"]["total"]["wall_s"] / wall, 2) if wall else None
    print(f"[bench {result['scale']}] equal to gold: {result['baseline_equal']}", flush=True)


def complete(path: Path, args, sampler: Sampler) -> Path:
    """``--complete``: a result finished from its kept data and lakes (``--keep``): the DuckDB baseline and its
    comparison run again (e.g. once the baseline computes more tables), and the first month alone when the
    result lacks it (a run stopped there), into a fresh lake. Writes ``<date>-<scale>.json`` beside ``path``
    (a ``.partial.json`` is left as it is)."""
    from jobs.core.settings import Settings
    from jobs.core.spark import get_spark

    result = {k: v for k, v in json.loads(path.read_text(encoding="utf-8")).items()
              if k not in ("bulk_stages_done", "last_stage_done")}
    label, work = result["scale"], Path(args.work_dir) / result["scale"]
    base = Settings.from_env()
    lake = settings_for(base, work / "lake")
    today = date.fromisoformat(result["started_at"][:10])
    duckdb_into(result, work / "data", work, today, sampler, result["baseline"]["range"])
    equality_into(result, get_spark(lake), lake)
    result["baseline"]["run_again_at"] = datetime.now(UTC).isoformat(timespec="seconds")
    if "monthly_first_month" not in result and label in args.monthly:
        shutil.rmtree(work / "first_month", ignore_errors=True)
        one = settings_for(base, work / "first_month")
        link_inbox(work / "data", Path(one.inbox_dir), lambda name: month_of_file(name) in (None, result["start"]))
        result["monthly_first_month"] = run_pipeline(one, f"bench_{label}_first", sampler)
        result["monthly_first_month"]["run_again_at"] = datetime.now(UTC).isoformat(timespec="seconds")
        result["ratio_next_month_to_first_month"] = round(
            result["monthly_next_month"]["total"]["wall_s"] / result["monthly_first_month"]["total"]["wall_s"], 2)
        print(f"[bench {label}] first month alone: {result['monthly_first_month']['total']['wall_s']} s", flush=True)
    result.setdefault("finished_at", datetime.now(UTC).isoformat(timespec="seconds"))
    out = path.with_name(path.name.replace(".partial.json", ".json"))
    out.write_text(json.dumps(result, indent=1, ensure_ascii=False, default=str), encoding="utf-8")
    print(f"[bench {label}] written {out}", flush=True)
    return out


def _jvm_heap(spark, reset: bool = False) -> tuple[int, int]:
    """(peak bytes used by the driver JVM's heap pools since the last reset, its maximum heap): the JVM's own
    account, an upper bound (each pool's peak, summed)."""
    jvm = spark.sparkContext._jvm
    pools = [p for p in jvm.java.lang.management.ManagementFactory.getMemoryPoolMXBeans()
             if p.getType().toString() == "Heap memory"]
    if reset:
        for p in pools:
            p.resetPeakUsage()
    return sum(p.getPeakUsage().getUsed() for p in pools), jvm.java.lang.Runtime.getRuntime().maxMemory()


def bench_sirene(gb: float, args, sampler: Sampler) -> dict:
    """A national-size SIRENE establishment stock (``generator/sirene.py``, official layout, seeded) landed
    and loaded into bronze alone: wall time and memory (process tree, driver JVM, its heap)."""
    from generator.sirene import write_stock
    from jobs import pipeline
    from jobs.core.settings import Settings
    from jobs.core.spark import get_spark

    label = f"sirene-{gb:g}gb"
    work = Path(args.work_dir) / label
    if work.exists():
        shutil.rmtree(work)
    settings = settings_for(Settings.from_env(), work)
    result: dict = {"scale": label, "started_at": datetime.now(UTC).isoformat(timespec="seconds"),
                    "machine": machine(), "spark_driver_memory": settings.spark_driver_memory,
                    "memory_measure": "pss (process tree), rss (driver JVM)"}
    with measured(sampler) as m:
        result["file"] = write_stock(Path(settings.inbox_dir) / "sirene" / "StockEtablissement_utf8.csv",
                                     int(gb * 1e9), args.seed)
    result["generate"] = {"wall_s": m.wall_s, "peak_rss_mib": m.peak_rss_mib}
    print(f"[bench {label}] generated {result['file']['bytes'] / 1e9:.2f} GB, {result['file']['lines']:,} lines "
          f"in {m.wall_s} s", flush=True)
    spark = get_spark(settings)
    run_id = f"bench_{label}"
    with measured(sampler) as m:
        pipeline.land_source("sirene", run_id, settings)
    result["land"] = {"wall_s": m.wall_s, "peak_rss_mib": m.peak_rss_mib}
    _jvm_heap(spark, reset=True)
    with measured(sampler) as m:
        report = pipeline.bronze_source("sirene", run_id, settings)
    heap, heap_max = _jvm_heap(spark)
    [table] = [t for t in report["tables"] if t["table"] == "bronze/sirene_etablissements"]
    result["bronze"] = {"wall_s": m.wall_s, "cpu_s": m.cpu_s, "peak_rss_mib": m.peak_rss_mib,
                        "peak_jvm_rss_mib": m.peak_jvm_rss_mib, "jvm_heap_peak_mib": round(heap / 2**20, 1),
                        "jvm_heap_max_mib": round(heap_max / 2**20, 1), "rows": table["rows_written"],
                        "rows_per_s": round(table["rows_written"] / m.wall_s) if m.wall_s else None,
                        "report": report}
    result["bronze_bytes"] = sum(f.stat().st_size for f in (work / "lake" / "bronze").rglob("*") if f.is_file())
    result["finished_at"] = datetime.now(UTC).isoformat(timespec="seconds")
    result["machine"]["load_average_at_end"] = [round(x, 2) for x in os.getloadavg()]
    if not args.keep:
        shutil.rmtree(work, ignore_errors=True)
    return result


def fmt_sirene(r: dict) -> str:
    b, f = r["bronze"], r["file"]
    return (f"SIRENE stock {f['bytes'] / 1e9:.2f} GB ({f['lines']:,} lines, StockEtablissement layout): landed in "
            f"{r['land']['wall_s']} s, loaded into bronze in {b['wall_s']} s ({b['rows_per_s']:,} rows/s, "
            f"{b['rows']:,} rows); peak memory: process tree {b['peak_rss_mib'] / 1024:.2f} GiB, driver JVM "
            f"{b['peak_jvm_rss_mib'] / 1024:.2f} GiB RSS, its heap <= {b['jvm_heap_peak_mib'] / 1024:.2f} GiB of "
            f"{b['jvm_heap_max_mib'] / 1024:.2f} GiB (spark.driver.memory {r['spark_driver_memory']})")


def fmt_table(results: list[dict]) -> str:
    """The README table: one row per scale."""
    head = ("| scale | contracts | " + " | ".join(f"{s} s" for s in STAGES) + " | total s | CPU s | peak mem GiB "
            "| DuckDB s | ratio | equal | site s | first month s | M+1 s | M+1 / first |")
    lines = [head, "|" + "---|" * (head.count("|") - 1)]
    for r in results:
        b = r["bulk"]
        mon, one = r.get("monthly_next_month"), r.get("monthly_first_month")
        lines.append("| " + " | ".join(str(x) for x in [
            r["scale"], f"{r['contracts']:,}", *[b[s]["wall_s"] for s in STAGES], b["total"]["wall_s"],
            b["total"]["cpu_s"], round(b["total"]["peak_rss_mib"] / 1024, 2), r["baseline"]["wall_s"],
            r["ratio_pipeline_to_duckdb"], "yes" if r["baseline_equal"] else "NO",
            b["publish"].get("parts_s", {}).get("site", "–"),
            one["total"]["wall_s"] if one else "–", mon["total"]["wall_s"] if mon else "–",
            r.get("ratio_next_month_to_first_month", "–")]) + " |")
    return "\n".join(lines)


def latest_results(folder: Path = RESULTS_DIR) -> list[dict]:
    """The newest result file of each scale."""
    by_scale: dict[str, dict] = {}
    for f in sorted(folder.glob("*.json")):
        if f.name.endswith(".partial.json"):
            continue
        r = json.loads(f.read_text(encoding="utf-8"))
        by_scale[r["scale"]] = r
    return sorted(by_scale.values(), key=lambda r: r["contracts"])


def write_chart(results: list[dict], path: Path) -> None:
    """Per-stage times by scale (stacked) beside DuckDB, and the monthly mode; plotly.js written once."""
    import plotly.graph_objects as go

    scales = [r["scale"] for r in results]
    fig = go.Figure()
    for s in STAGES:
        fig.add_bar(name=f"pipeline: {s}", x=scales, y=[r["bulk"][s]["wall_s"] for r in results], offsetgroup="p")
    fig.add_bar(name="DuckDB baseline", x=scales, y=[r["baseline"]["wall_s"] for r in results], offsetgroup="d")
    fig.update_layout(barmode="stack", title="Bulk load, wall time per stage (s)", yaxis_type="log",
                      yaxis_title="seconds (log)")
    monthly = [r for r in results if r.get("monthly_next_month") and r.get("monthly_first_month")]
    fig2 = go.Figure()
    for key, name in (("monthly_first_month", "first month into an empty lake"),
                      ("monthly_next_month", "month M+1 on top of the history")):
        fig2.add_bar(name=name, x=[r["scale"] for r in monthly], y=[r[key]["total"]["wall_s"] for r in monthly])
    fig2.update_layout(title="Monthly mode, wall time (s)", yaxis_title="seconds")
    fig3 = go.Figure()
    fig3.add_scatter(name="pipeline peak memory (GiB)", x=scales, y=[r["bulk"]["total"]["peak_rss_mib"] / 1024
                                                                   for r in results], mode="lines+markers")
    fig3.add_scatter(name="DuckDB step peak memory (GiB)", x=scales,
                     y=[r["baseline"]["peak_rss_mib"] / 1024 for r in results], mode="lines+markers")
    fig3.update_layout(title="Peak memory of the process tree (GiB)")
    parts = [fig.to_html(full_html=False, include_plotlyjs=True)]
    parts += [f.to_html(full_html=False, include_plotlyjs=False) for f in (fig2, fig3)]
    path.write_text("<!doctype html><html><head><meta charset='utf-8'><title>Benchmark</title></head><body>"
                    + "".join(parts) + "</body></html>", encoding="utf-8")


def add_profiles(result_files: list[Path], event_logs: list[Path]) -> None:
    """Top Spark call sites of each bulk stage, into the result files."""
    from bench.profile import by_call_site

    for f in result_files:
        r = json.loads(f.read_text(encoding="utf-8"))
        r["spark_profile_bulk"] = {s: by_call_site(event_logs, top=8, group_prefix=f"bench_{r['scale']}_bulk:{s}")
                                   for s in STAGES}
        f.write_text(json.dumps(r, indent=1, ensure_ascii=False, default=str), encoding="utf-8")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--scales", default="10k,100k,1M",
                        help=f"comma-separated, among {', '.join(SCALES)}; none: no pipeline scale")
    parser.add_argument("--sirene-gb", type=float, default=0.0, metavar="GB",
                        help="also load a SIRENE establishment stock of this size (e.g. 5), alone: time and memory")
    parser.add_argument("--monthly", default="10k,100k,1M",
                        help="scales that also load the first month alone (for the M+1 / first month ratio)")
    parser.add_argument("--full-bulk", action="store_true", help="also load the whole range at once")
    parser.add_argument("--baseline-first", action="store_true", help="run DuckDB before the pipeline")
    first_of_month = date.today().replace(day=1)
    parser.add_argument("--start", default="2018-10")
    parser.add_argument("--end", default=f"{(first_of_month - timedelta(days=1)):%Y-%m}")
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--work-dir", default=str(BENCH_DIR / ".work"))
    parser.add_argument("--keep", action="store_true", help="keep the generated data and lakes")
    parser.add_argument("--report-only", action="store_true", help="rebuild the chart and table from the results")
    parser.add_argument("--results", default=str(RESULTS_DIR),
                        help="with --report-only: the folder of result files to print (e.g. an earlier run's)")
    parser.add_argument("--complete", metavar="RESULT",
                        help="finish a result file from its kept data and lakes: the DuckDB baseline and its "
                             "comparison again, the first month alone when missing")
    args = parser.parse_args()
    if args.complete:
        args.monthly = set(args.monthly.split(","))
        event_dir = Path(args.work_dir) / "eventlog"
        os.environ.setdefault("OBS_SPARK_CONF_spark__eventLog__enabled", "true")
        os.environ.setdefault("OBS_SPARK_CONF_spark__eventLog__dir", event_dir.as_uri())
        sampler = Sampler()
        out = complete(Path(args.complete), args, sampler)
        sampler.stop()
        from jobs.core.spark import get_spark

        get_spark().stop()  # flushes the event log
        add_profiles([out], sorted((Path(args.work_dir) / "eventlog").glob("*")))
        return
    if args.report_only:
        results = latest_results(Path(args.results))
        if Path(args.results).resolve() == RESULTS_DIR.resolve():
            write_chart(results, RESULTS_DIR / "bench.html")
        print(fmt_table(results))
        return
    args.monthly = set(args.monthly.split(","))
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    # Spark event logs: where the time goes, per stage (bench/profile.py), read back after the session ends.
    event_dir = Path(args.work_dir) / "eventlog"
    event_dir.mkdir(parents=True, exist_ok=True)
    os.environ.setdefault("OBS_SPARK_CONF_spark__eventLog__enabled", "true")
    os.environ.setdefault("OBS_SPARK_CONF_spark__eventLog__dir", event_dir.as_uri())
    sampler = Sampler()
    written = []
    for label in [x for x in args.scales.split(",") if x and x != "none"]:
        started = time.perf_counter()
        result = bench_scale(label, SCALES[label], args, sampler)
        result["benchmark_wall_s"] = round(time.perf_counter() - started, 1)
        out = RESULTS_DIR / f"{date.today():%Y-%m-%d}-{label}.json"
        out.write_text(json.dumps(result, indent=1, ensure_ascii=False, default=str), encoding="utf-8")
        out.with_suffix(".partial.json").unlink(missing_ok=True)
        written.append(out)
        print(f"[bench {label}] written {out}", flush=True)
    sirene = None
    if args.sirene_gb > 0:
        sirene = bench_sirene(args.sirene_gb, args, sampler)
        out = RESULTS_DIR / "sirene" / f"{date.today():%Y-%m-%d}-{sirene['scale']}.json"
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(json.dumps(sirene, indent=1, ensure_ascii=False, default=str), encoding="utf-8")
        print(f"[bench {sirene['scale']}] written {out}", flush=True)
    sampler.stop()
    from jobs.core.spark import get_spark

    get_spark().stop()  # flushes the event log
    add_profiles(written, sorted(event_dir.glob("*")))
    if written:
        results = latest_results()
        write_chart(results, RESULTS_DIR / "bench.html")
        print(fmt_table(results))
    if sirene:
        print(fmt_sirene(sirene))


if __name__ == "__main__":
    main()
