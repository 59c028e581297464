"""A transform stage whose inputs did not change since it last succeeded does nothing (issue 20: the cost of a run
follows its new data; a rerun, a retry after a failed publication, a month with no new file cost seconds).

A stage's state is everything it can read: the last commit of every lake table except those the later stages write
(bronze, the earlier stages' tables, its own tables), the code and referential (``jobs/``, ``schemas/``), the
libraries' versions and jars, the facilitators' declarations, the settings (secrets left out, the key's fingerprint
in) and the day. The state is recorded in ``<lake>/_meta/stages/<stage>.json`` with the stage's report when the
stage succeeds; a later run finding the same state reuses that report (marked ``skipped``) instead of rebuilding
identical tables. Anything else (a new commit, a deleted or new table, VACUUM/OPTIMIZE, another key, a new day, a
code change) runs the stage. ``OBS_GOLD_FULL_RECOMPUTE`` always runs it (decision 212).
"""

from __future__ import annotations

import hashlib
import json
import re
from functools import cache
from importlib import metadata
from pathlib import Path

import jobs
import schemas
from jobs.core.context import RunContext
from jobs.core.privacy import key_fingerprint
from jobs.core.settings import LOCAL_KEY_FILE
from jobs.core.storage import ObjectStore

# In run order: a stage never reads what a later one writes, so the later stages' tables are not its inputs.
SKIPPABLE = ("silver_marches", "silver_sources", "entity_resolution", "gold_marches", "gold_indicators")
LAYERS = ("bronze", "silver", "quarantine", "quality", "gold")
SECRETS = ("s3_access_key", "s3_secret_key", "pseudonymization_key", "smtp_password")
LIBRARIES = ("pyspark", "delta-spark", "pandas", "pandera", "pyarrow", "python-stdnum")
_COMMIT = re.compile(r"^(.+)/_delta_log/(\d{20})\.json$")


def versions(uris: list[str], lake_uri: str) -> dict[str, int]:
    """``{table: last commit}`` from the URIs of a lake's files (``silver/marches/_delta_log/000…3.json``)."""
    found: dict[str, int] = {}
    root = lake_uri.rstrip("/") + "/"
    for uri in uris:
        match = _COMMIT.match(uri.removeprefix(root))
        if match:
            found[match[1]] = max(found.get(match[1], -1), int(match[2]))
    return found


def lake_versions(ctx: RunContext) -> dict[str, int]:
    store, lake = ObjectStore(ctx.settings), ctx.settings.lake_uri
    return versions([u for layer in LAYERS for u in store.list(f"{lake}/{layer}")], lake)


@cache
def _tree_digest(root: str) -> str:
    digest = hashlib.sha256()
    for path in sorted(Path(root).rglob("*")):
        if path.is_file() and "__pycache__" not in path.parts:
            digest.update(str(path.relative_to(root)).encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()


def _key(ctx: RunContext) -> str:
    s = ctx.settings
    if s.pseudonymization_key:
        return key_fingerprint(s.pseudonymization_key.encode())
    generated = None if s.on_s3 else s.lake_path / LOCAL_KEY_FILE
    if generated is not None and generated.is_file():  # read as ``Settings.pseudonymization_key_bytes`` does
        return key_fingerprint(generated.read_text().strip().encode())
    return "none"


@cache
def _libraries(jars_dir: str) -> str:
    """The engine and the libraries the stages run on (an upgrade may change a result)."""
    names = [f"{p}=={metadata.version(p)}" for p in LIBRARIES]
    jars = sorted(p.name for p in Path(jars_dir).glob("*.jar"))
    return hashlib.sha256(json.dumps([names, jars]).encode()).hexdigest()


def inputs(ctx: RunContext) -> dict[str, str]:
    """What a stage reads besides the lake's tables."""
    s = ctx.settings
    settings = {k: v for k, v in s.model_dump(mode="json").items() if k not in SECRETS}
    return {"code": _tree_digest(str(Path(jobs.__file__).parent)), "libraries": _libraries(s.spark_jars_dir),
            "referential": _tree_digest(str(Path(schemas.__file__).parent)),
            "declarations": _tree_digest.__wrapped__(s.sources_dir) if s.sources_dir else "",
            "settings": hashlib.sha256(json.dumps(settings, sort_keys=True).encode()).hexdigest(),
            "key": _key(ctx), "day": ctx.today.isoformat()}


def _uri(ctx: RunContext, stage: str) -> str:
    return f"{ctx.settings.lake_uri}/_meta/stages/{stage}.json"


def recorded(ctx: RunContext, stage: str) -> dict | None:
    store = ObjectStore(ctx.settings)
    uri = _uri(ctx, stage)
    return json.loads(store.get_bytes(uri)) if store.exists(uri) else None


def _theirs(ctx: RunContext, stage: str) -> set[str]:
    """The tables the stages after ``stage`` wrote when they last succeeded."""
    later = SKIPPABLE[SKIPPABLE.index(stage) + 1:]
    return {t for s in later for t in (recorded(ctx, s) or {}).get("written", [])}


def reusable(ctx: RunContext, stage: str, now: dict[str, int]) -> dict | None:
    """The report of the stage's last success when nothing it reads changed since (``now``: the lake's
    versions), else None."""
    last = recorded(ctx, stage)
    if last is None or ctx.settings.gold_full_recompute or last["inputs"] != inputs(ctx):
        return None
    theirs = _theirs(ctx, stage)
    mine = lambda v: {t: n for t, n in v.items() if t not in theirs}  # noqa: E731
    if mine(now) != mine(last["versions"]):
        return None
    return {**last["report"], "skipped": f"inputs unchanged since run {last['run_id']}"}


def record(ctx: RunContext, stage: str, before: dict[str, int], report: dict) -> None:
    after = lake_versions(ctx)
    written = sorted(t for t, v in after.items() if before.get(t) != v)
    state = {"run_id": ctx.run_id, "inputs": inputs(ctx), "versions": after, "written": written, "report": report}
    ObjectStore(ctx.settings).put_bytes(json.dumps(state, sort_keys=True).encode(), _uri(ctx, stage))
