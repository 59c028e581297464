"""``python -m generator``: write synthetic source files into the inbox layout (``<inbox>/<source>/``)."""

from __future__ import annotations

import argparse
import shutil
from datetime import date, timedelta
from pathlib import Path

from generator import decp
from jobs.settings import PROJECT_ROOT, Settings


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--inbox", default=None, help="inbox folder (default: OBS_INBOX_DIR)")
    parser.add_argument("--contracts", type=int, default=3000)
    parser.add_argument("--start", default="2019-01", help="first month, YYYY-MM")
    parser.add_argument("--end", default=None, help="last month, YYYY-MM (default: last month)")
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--with-samples", action="store_true",
                        help="also copy the official DECP examples and dirty samples from samples/decp")
    args = parser.parse_args()
    inbox = Path(args.inbox or Settings.from_env().inbox_dir)
    start = date.fromisoformat(args.start + "-01")
    first_of_month = date.today().replace(day=1)
    end = date.fromisoformat(args.end + "-01") if args.end else (first_of_month - timedelta(days=1)).replace(day=1)
    paths = decp.generate(inbox / "decp", args.contracts, start, end, seed=args.seed)
    if args.with_samples:
        samples = (PROJECT_ROOT / "samples" / "decp").rglob("*")
        for sample in sorted(p for p in samples if p.suffix in (".json", ".xml")):
            target = inbox / "decp" / sample.name
            shutil.copyfile(sample, target)
            paths.append(target)
    for p in paths:
        print(p)


if __name__ == "__main__":
    main()
