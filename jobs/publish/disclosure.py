"""Statistical disclosure control of published tables: small cells and complementary suppression.

Every published figure goes through here (open data, and the sheets and reports of ``dashboards/``):

1. **Primary suppression**: a row whose count columns (persons, contracts, outcomes, structures...) hold a
   value in ``1 .. threshold - 1`` is a small cell (zero is not: an empty cell reveals nobody).
2. **Complementary suppression**: a published total (a ``TOUTES`` / ``TOTAL`` row of the same table, or a
   sum published by another table, e.g. the yearly figure of a département) minus the published cells
   would give back a lone suppressed cell. Whenever a margin (the cells adding up to one total, plus the
   total itself) holds exactly one suppressed cell, the smallest other cell of that margin is suppressed
   too, until no margin holds exactly one. A margin is treated as additive even when cells may overlap
   (a contract under two considerations), which errs on the side of suppressing.
3. A suppressed row keeps its dimensions; every measure (counts, sums, rates) becomes null; ``secret`` is
   true and ``secret_motif`` says ``primaire`` or ``complementaire``.

Pure functions on pandas frames (gold tables are aggregates: small enough for the driver).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

SECRET = "secret"
REASON = "secret_motif"
PRIMARY, COMPLEMENTARY = "primaire", "complementaire"
GOLD_FLAG = "secret_statistique"


@dataclass(frozen=True)
class Margin:
    """The rows sharing the values of ``by`` (among rows matching ``where``) add up to a total.

    ``total`` locates the total row in the same table: the group's ``by`` values overridden by these
    column values (e.g. ``{"consideration_sociale": "TOUTES"}``). ``total=None``: the total is published
    elsewhere (another table, a dashboard), so every row of the group is a component.
    """

    by: tuple[str, ...]
    total: dict[str, object] | None = None
    where: dict[str, tuple] = field(default_factory=dict)


@dataclass(frozen=True)
class TableSpec:
    """How a table is protected: its dimension columns (kept), its count columns (small-cell test; the first
    one also ranks candidates for complementary suppression) and the margins published with it."""

    dims: tuple[str, ...]
    counts: tuple[str, ...]
    margins: tuple[Margin, ...] = ()


Relation = tuple[list[int], int | None]  # (component positions, position of the total or None)


def small_cells(df: pd.DataFrame, counts: Sequence[str], threshold: int) -> np.ndarray:
    """Primary suppression: any count column in 1 .. threshold-1 (or the gold flag already set)."""
    flag = np.zeros(len(df), dtype=bool)
    for c in counts:
        v = pd.to_numeric(df[c], errors="coerce").fillna(0).to_numpy()
        flag |= (v > 0) & (v < threshold)
    if GOLD_FLAG in df.columns:
        flag |= df[GOLD_FLAG].fillna(False).astype(bool).to_numpy()
    return flag


def relations(df: pd.DataFrame, margins: Iterable[Margin]) -> list[Relation]:
    """The margins of a table as position lists: (components, total position or None)."""
    df = df.reset_index(drop=True)
    out: list[Relation] = []
    for m in margins:
        mask = np.ones(len(df), dtype=bool)
        for col, values in m.where.items():
            mask &= df[col].isin(list(values)).to_numpy()
        is_total = np.zeros(len(df), dtype=bool)
        total_pos: dict[tuple, int] = {}
        if m.total:
            is_total = np.logical_and.reduce([(df[c] == v).to_numpy() for c, v in m.total.items()])
            for pos in np.flatnonzero(is_total):
                total_pos[tuple(df.at[pos, c] for c in m.by)] = int(pos)
        sub = df[mask & ~is_total]
        if sub.empty:
            continue
        for key, group in sub.groupby(list(m.by), dropna=False, sort=False):
            key = key if isinstance(key, tuple) else (key,)
            total = None
            if m.total:
                lookup = tuple(m.total.get(c, k) for c, k in zip(m.by, key, strict=True))
                total = total_pos.get(lookup)
            out.append(([int(i) for i in group.index], total))
    return out


def complementary(sizes: Sequence[float], secret: Sequence[bool], rels: Iterable[Relation]) -> np.ndarray:
    """Complementary suppression: until no relation holds exactly one suppressed cell, suppress in each such
    relation its smallest non-empty published component (else any component, else its total).

    A relation whose only component is its externally published total cannot be protected here: that total
    holds the same count and is suppressed by the primary rule of its own table.
    """
    sizes = np.asarray(sizes, dtype=float)
    flag = np.array(secret, dtype=bool)
    rels = [r for r in rels if len(r[0]) + (r[1] is not None) > 1]
    changed = True
    while changed:
        changed = False
        for comps, total in rels:
            cells = comps + ([total] if total is not None else [])
            if int(flag[cells].sum()) != 1:
                continue
            open_comps = [i for i in comps if not flag[i]]
            positive = [i for i in open_comps if sizes[i] > 0]
            pool = positive or open_comps
            if pool:
                choice = min(pool, key=lambda i: (sizes[i], i))
            elif total is not None and not flag[total]:
                choice = total
            else:
                continue
            flag[choice] = True
            changed = True
    return flag


def suppress(df: pd.DataFrame, spec: TableSpec, threshold: int) -> pd.DataFrame:
    """The table as published: small cells and their complements nulled, with ``secret`` and ``secret_motif``.

    The gold flag ``secret_statistique`` (primary only) is replaced by these two columns.
    """
    df = df.reset_index(drop=True)
    primary = small_cells(df, spec.counts, threshold)
    sizes = pd.to_numeric(df[spec.counts[0]], errors="coerce").fillna(0).to_numpy() if spec.counts else np.zeros(
        len(df))
    flag = complementary(sizes, primary, relations(df, spec.margins))
    out = df.drop(columns=[GOLD_FLAG], errors="ignore").copy()
    measures = [c for c in out.columns if c not in spec.dims]
    for c in measures:
        if flag.any():
            if pd.api.types.is_bool_dtype(out[c]) or pd.api.types.is_integer_dtype(out[c]):
                out[c] = out[c].astype("object" if pd.api.types.is_bool_dtype(out[c]) else "Int64")
            out.loc[flag, c] = None
    out[SECRET] = flag
    out[REASON] = np.where(primary, PRIMARY, np.where(flag, COMPLEMENTARY, None))
    return out


def recoverable(df: pd.DataFrame, margins: Iterable[Margin], secret_col: str = SECRET) -> list[Relation]:
    """The margins that would give back a suppressed cell (exactly one suppressed cell): must be empty."""
    df = df.reset_index(drop=True)
    flag = df[secret_col].astype(bool).to_numpy()
    return [(c, t) for c, t in relations(df, margins)
            if len(c) + (t is not None) > 1 and int(flag[c + ([t] if t is not None else [])].sum()) == 1]
