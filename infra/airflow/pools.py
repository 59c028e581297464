"""Write the Airflow pools the DAGs use, one slot each, as a file for ``airflow pools import``.

Pools serialize the writers of a Delta table (one driver at a time, see docs/decisions.md), so each pool named
by a task gets exactly one slot. Taken from the DAGs themselves, so a new table's pool is never forgotten.
Usage: python infra/airflow/pools.py <out.json>
"""

from __future__ import annotations

import json
import sys


def dag_pools() -> dict[str, dict]:
    from airflow.dag_processing.dagbag import DagBag

    bag = DagBag()
    if bag.import_errors:
        raise SystemExit(f"DAG import errors: {bag.import_errors}")
    names = {t.pool for dag in bag.dags.values() for t in dag.tasks if t.pool and t.pool != "default_pool"}
    return {name: {"slots": 1, "description": "one writer at a time", "include_deferred": False}
            for name in sorted(names)}


if __name__ == "__main__":
    pools = dag_pools()
    with open(sys.argv[1], "w", encoding="utf-8") as f:
        json.dump(pools, f, indent=2)
    print(f"{len(pools)} pools: {', '.join(pools) or '(none)'}")
