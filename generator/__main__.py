"""``python -m generator``: write synthetic files of all five sources into the inbox layout.

    <inbox>/decp/decp_YYYY-MM.{json,xml}     DECP, 2019 format before 2024, 2022 format after
    <inbox>/facilitateurs/<fac>_<entity>_YYYY.csv   6 entities per facilitator, each in its own dialect
    <inbox>/facilitateurs/<fac>_export_YYYY.csv     with --wide <fac>: one file carrying all its entities
    <inbox>/grand_paris/contrats_<owner>_YYYY.{xlsx,csv}
    <inbox>/structures/structures_inclusion_idf.csv
    <inbox>/sirene/Stock{Etablissement,UniteLegale}_extrait_idf.csv

With ``--monthly``, dated files go to ``<inbox>/<source>/<YYYY-MM>/`` (monthly deliveries).
"""

from __future__ import annotations

import argparse
import json
import resource
import shutil
import time
from dataclasses import asdict
from datetime import date, timedelta
from pathlib import Path

from generator.core import generate_all, to_monthly_folders
from generator.decp import DirtRates
from jobs.core.settings import PROJECT_ROOT, Settings


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--inbox", default=None, help="inbox folder (default: OBS_INBOX_DIR)")
    parser.add_argument("--contracts", type=int, default=3000)
    parser.add_argument("--start", default="2018-10", help="first month, YYYY-MM (DECP open data starts 2018-10)")
    parser.add_argument("--end", default=None, help="last month, YYYY-MM (default: last month)")
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--clean", action="store_true", help="no injected dirt")
    parser.add_argument("--with-samples", action="store_true",
                        help="also copy the official DECP examples and dirty samples from samples/decp")
    parser.add_argument("--progress", action="store_true", help="show a progress bar")
    parser.add_argument("--monthly", action="store_true",
                        help="monthly deliveries: one facilitators' export per month, and every dated file "
                             "in <source>/<YYYY-MM>/ (the layout a run for month M lands from)")
    parser.add_argument("--wide", default="", metavar="FAC[,FAC]",
                        help="facilitators delivering one-file exports (e.g. clause93, cp1252 ';' decimal comma)")
    args = parser.parse_args()
    inbox = Path(args.inbox or Settings.from_env().inbox_dir)
    start = date.fromisoformat(args.start + "-01")
    first_of_month = date.today().replace(day=1)
    end = date.fromisoformat(args.end + "-01") if args.end else (first_of_month - timedelta(days=1)).replace(day=1)
    started = time.perf_counter()
    summary = generate_all(inbox, args.contracts, start, end, seed=args.seed,
                           decp_dirt=DirtRates.clean() if args.clean else None, progress=args.progress,
                           facilitator_period="month" if args.monthly else "year",
                           wide_facilitators=tuple(f for f in args.wide.split(",") if f))
    if args.with_samples:
        samples = (PROJECT_ROOT / "samples" / "decp").rglob("*")
        for sample in sorted(p for p in samples if p.suffix in (".json", ".xml")):
            shutil.copyfile(sample, inbox / "decp" / sample.name)
    figures = asdict(summary)
    figures["files"] = len(summary.files)
    figures["bytes"] = sum(Path(f).stat().st_size for f in summary.files)
    figures["seconds"] = round(time.perf_counter() - started, 1)
    if args.monthly:
        figures["moved_to_month_folders"] = to_monthly_folders(inbox)
    figures["peak_rss_mib"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)
    print(json.dumps(figures, indent=1))


if __name__ == "__main__":
    main()
