"""Statistical secrecy that survives differencing: every published table protected as ONE linked set.

Why: hiding small rows table by table, and one more cell whenever a margin holds a lone suppressed cell (the
previous ``disclosure.py``), is not enough. An outsider who combines several tables (a département's year =
its quarters = its EPTs; the region = its départements) can still solve for a hidden cell. Here all published
tables are views of one set of cells tied by additive relations, and both the complementary suppression and
the audit reason with linear programming over all of them (scipy's HiGHS). ``docs/disclosure.md`` explains the policy.

Vocabulary:

- a **cell** is one sensitive quantity (``n_personnes``, ``heures_realisees``...) at one coordinate (one code
  per linked dimension: territory, period, category...). Two tables showing the same quantity at the same
  coordinate show the same cell: it is hidden in both or in none. Public measures (DECP contract counts and
  amounts) are not cells: they are never suppressed.
- a **relation** ties a parent cell to its children along one dimension's hierarchy (commune → EPT →
  département → region; month → quarter → year; category → ``TOUTES``). Additive quantities give
  ``parent = Σ children``; distinct counts (a person active in two quarters) only ``parent ≤ Σ children``
  and ``child ≤ parent``. A parent that no table publishes is still a cell (**latent**, unknown to all):
  it links a published region to published EPTs when no table shows the départements.
- a table can be a **view** of some rows of a long table (``Table.where``), and a table can be **unpublished**
  (``Table.published=False``): its cells are what an outsider can compute from the others (a crossing of two
  hierarchies that do not nest), protected like any cell and always hidden.
- **primary** cells fail the policy (fewer contributors than the threshold, or one dominant contributor);
  **secondary** (complementary) cells are hidden so that no primary cell can be narrowed below its
  protection levels (upper/lower, as τ-Argus) from everything published.

Method (pytauargus could not protect linked tables here, see ``docs/disclosure.md``): the LP heuristic of
network/LP cell suppression (Cox 1995; Fischetti & Salazar-González 2000): each primary cell, largest first,
in each direction, gets one minimum-cost LP "is there a table consistent with everything published where
this cell is at least its upper protection level away?" in which already hidden cells move for free and
published cells cost their value; the published cells that had to move are suppressed. Then a pass tries
to publish back each secondary cell, most costly first. The audit re-checks the result independently.

Pure functions on pandas frames (gold tables are aggregates: small enough for the driver).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from itertools import pairwise
from pathlib import Path

import numpy as np
import pandas as pd
import yaml
from scipy import sparse
from scipy.optimize import linprog
from scipy.sparse.csgraph import connected_components

from jobs.core.settings import DISCLOSURE_POLICY

POLICY_FILE = DISCLOSURE_POLICY
COUNT, MAGNITUDE = "count", "magnitude"
PRIMARY, SECONDARY, DERIVED = "primaire", "complementaire", "derive"
GOLD_FLAG = "secret_statistique"  # gold's own small-cell flag: honoured as primary, never published
SECRET = "secret"  # published: true when any figure of the row is hidden
SYMBOL = "s"  # what the site shows in place of a hidden figure
_PUBLISHED, _PRIMARY, _SECONDARY = 0, 1, 2


# --- Policy -----------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Measure:
    """A sensitive column of a table. ``quantity`` names the linked quantity (default: the column), so that
    two tables naming it differently are still known to show the same figures. ``additive``: True, False
    (distinct counts), or the dimensions along which it adds up. ``dominance``: the column holding the share
    (0..1) of the cell's value held by its largest contributor(s), when the dominance rule applies.
    ``frequency``: the figure counts persons itself (an outcome, a breakdown's cell), so the frequency rule
    applies to it, beside the row's ``contributors``."""

    column: str
    kind: str = COUNT
    quantity: str = ""
    additive: bool | tuple[str, ...] = True
    dominance: str | None = None
    frequency: bool = False

    @property
    def name(self) -> str:
        return self.quantity or self.column

    def adds_up(self, dim: str) -> bool:
        return self.additive if isinstance(self.additive, bool) else dim in self.additive


@dataclass(frozen=True)
class TablePolicy:
    """What a table shows: ``contributors`` counts the persons (or companies) behind each row (frequency
    rule), ``sensitive`` measures may be hidden, ``keys`` (dimensions, labels) and ``public`` columns (DECP
    figures, registers) never are, ``derived`` columns (rates, means) are hidden whenever one of the columns
    they are computed from is, ``sums`` ties columns of one row (total = Σ parts) and ``bounds`` too when the
    parts do not cover every case (total >= Σ parts: three outcomes among all exits).
    ``public_rows`` (column -> values): rows whose figures are all public (a register's counts in a table
    that also holds person counts). ``unpublished``: columns of the gold table that are not published at
    all (computed for other uses); they are dropped before anything is written."""

    sensitive: tuple[Measure, ...]
    contributors: str | None = None
    keys: tuple[str, ...] = ()
    public: tuple[str, ...] = ()
    derived: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    sums: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    bounds: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    public_rows: Mapping[str, tuple] = field(default_factory=dict)
    unpublished: tuple[str, ...] = ()

    def public_mask(self, frame: pd.DataFrame) -> np.ndarray:
        """Rows whose figures are public (``public_rows``)."""
        mask = np.zeros(len(frame), dtype=bool)
        for col, values in self.public_rows.items():
            mask |= frame[col].isin(list(values)).to_numpy()
        return mask


@dataclass(frozen=True)
class Policy:
    """The disclosure policy (``schemas/disclosure.yaml``).

    Protection levels of a primary cell of value v (τ-Argus' upper/lower protection levels): the attacker's
    interval must reach v + UPL above and v - LPL below, with level = max(percent % of v, floor),
    UPL = level, LPL = min(v, level) (cells are never negative). The floor is ``count_floor`` (default: the
    threshold) for counts and ``magnitude_floor`` for hours. A cell hidden by the dominance rule also needs
    UPL >= v (share / k - 1): the attacker cannot bound the dominant contributor's share above k.
    """

    tables: Mapping[str, TablePolicy]
    threshold: int = 5
    dominance_n: int = 1
    dominance_k: float = 0.85
    percent: float = 10.0
    count_floor: float | None = None
    magnitude_floor: float = 0.0
    cost: str = "value"  # complementary cells cost their value (+1), or "unity": each costs 1
    tolerance: float = 1e-3  # how far published sums may be from their relations (gold rounds to 1e-6)
    cleanup_budget: int = 20_000  # LPs allowed per component to publish back unneeded secondary cells
    # needs (or audit targets) per component above which LPs are joint (``_joint``): at 200 the demo's lake
    # (3,000 contracts) failed its audit on three hours figures; one LP per need up to 5,000 (decision 224)
    joint_above: int = 5000

    def levels(self, value: np.ndarray, kind: np.ndarray, share: np.ndarray, dominant: np.ndarray
               ) -> tuple[np.ndarray, np.ndarray]:
        """(LPL, UPL) of cells of these values, kinds, dominance shares and dominance flags."""
        floor = np.where(kind == COUNT, self.threshold if self.count_floor is None else self.count_floor,
                         self.magnitude_floor)
        level = np.maximum(self.percent / 100 * value, floor)
        upper = np.where(dominant, np.maximum(level, value * (np.nan_to_num(share) / self.dominance_k - 1)), level)
        return np.minimum(value, level), upper


def _measure(column: str, spec: Mapping | None) -> Measure:
    spec = dict(spec or {})
    additive = spec.pop("additive", True)
    return Measure(column=column, additive=additive if isinstance(additive, bool) else tuple(additive), **spec)


def load_policy(path: Path | str = POLICY_FILE, threshold: int | None = None) -> Policy:
    """The policy from its YAML file (see ``schemas/disclosure.yaml`` for the format); ``threshold``, when
    given (``OBS_SMALL_CELL_THRESHOLD``), overrides the file's. Refuses a quantity declared two ways."""
    data = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    tables = {name: TablePolicy(
        sensitive=tuple(_measure(c, s) for c, s in (t.get("sensitive") or {}).items()),
        contributors=t.get("contributors"), keys=tuple(t.get("keys") or ()), public=tuple(t.get("public") or ()),
        derived={c: tuple(src) for c, src in (t.get("derived") or {}).items()},
        sums={c: tuple(parts) for c, parts in (t.get("sums") or {}).items()},
        bounds={c: tuple(parts) for c, parts in (t.get("bounds") or {}).items()},
        public_rows={c: tuple(v) for c, v in (t.get("public_rows") or {}).items()},
        unpublished=tuple(t.get("unpublished") or ()))
        for name, t in (data.get("tables") or {}).items()}
    seen: dict[str, tuple] = {}
    for name, tp in tables.items():
        for m in tp.sensitive:
            if seen.setdefault(m.name, (m.kind, m.additive, name))[:2] != (m.kind, m.additive):
                raise ValueError(f"quantity {m.name!r} declared differently in {name} and {seen[m.name][2]}")
    dominance, protection = data.get("dominance") or {}, data.get("protection") or {}
    return Policy(tables=tables, threshold=int(threshold or data.get("threshold", 5)),
                  dominance_n=int(dominance.get("n", 1)),
                  dominance_k=float(dominance.get("k", 0.85)), percent=float(protection.get("percent", 10)),
                  count_floor=protection.get("count_floor"),
                  magnitude_floor=float(protection.get("magnitude_floor", 0)), cost=data.get("cost", "value"),
                  tolerance=float(data.get("tolerance", 1e-3)),
                  cleanup_budget=int(data.get("cleanup_budget", 20_000)),
                  joint_above=int(data.get("joint_above", 5000)))


# --- Linked set -------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Hierarchy:
    """A dimension's codes as a tree: ``parents`` maps a code to the code it adds up to. ``root``, when
    given, is the total of everything (``TOUTES``): any other code without a parent hangs under it."""

    parents: Mapping[str, str] = field(default_factory=dict)
    root: str | None = None

    def parent(self, code: str) -> str | None:
        if code in self.parents:
            return self.parents[code]
        return self.root if self.root is not None and code != self.root else None

    @classmethod
    def from_levels(cls, frame: pd.DataFrame, levels: Iterable[str], root: str | None = None) -> Hierarchy:
        """From a referential with one column per level, finest first (``commune, ept, departement``): a
        missing level is skipped (outside the Métropole a commune adds up to its département directly)."""
        parents: dict[str, str] = {}
        for row in frame[list(levels)].itertuples(index=False):
            codes = [str(c) for c in row if not pd.isna(c)]
            parents.update(pairwise(codes))
        return cls(parents, root)

    @classmethod
    def from_tree(cls, tree: Mapping, root: str | None = None) -> Hierarchy:
        """From nested mappings ``{"11": {"75": ["T1"], "93": ["T6", "T7"]}}`` (lists or None for leaves)."""
        parents: dict[str, str] = {}

        def walk(parent: str, children) -> None:
            items = children.items() if isinstance(children, Mapping) else ((c, None) for c in children or ())
            for child, grandchildren in items:
                parents[str(child)] = str(parent)
                walk(str(child), grandchildren)

        for top, children in tree.items():
            walk(str(top), children)
        return cls(parents, root)


def calendar(years: Iterable[int], months: bool = True, root: str | None = None) -> Hierarchy:
    """Periods as codes ``2024`` ⊃ ``2024-T1`` ⊃ ``2024-01`` (see ``period_code``); ``root``, when given,
    is the code of all periods together (every year adds up to it)."""
    parents = {}
    for y in years:
        for q in range(1, 5):
            parents[f"{y}-T{q}"] = str(y)
            if months:
                parents.update({f"{y}-{m:02d}": f"{y}-T{q}" for m in range(3 * q - 2, 3 * q + 1)})
    return Hierarchy(parents, root)


def period_code(year: pd.Series, quarter: pd.Series | None = None, month: pd.Series | None = None) -> pd.Series:
    """The period code of each row: the month when given, else the quarter (0 = the whole year, as in
    ``gold/fiches_*``), else the year."""
    code = year.astype(int).astype(str)
    if quarter is not None:
        q = quarter.fillna(0).astype(int)
        code = code.where(q == 0, code + "-T" + q.astype(str))
    if month is not None:
        m = pd.to_numeric(month, errors="coerce")
        code = code.where(m.isna(), year.astype(int).astype(str) + "-" + m.fillna(0).astype(int).map("{:02d}".format))
    return code


Codes = Callable[[pd.DataFrame], pd.Series]


@dataclass(frozen=True)
class Table:
    """A published table's place in the linked set: the column holding each dimension's code (``coords``;
    or a function of the row giving it, e.g. ``period_code`` of ``annee`` and ``trimestre``) and the code
    shared by every row for the dimensions it has no column for (``fixed``: a regional table,
    ``{"territoire": "11"}``). A dimension in neither is at its hierarchy's root (all categories).

    ``where`` (column -> values) makes the table a *view* of the rows matching it: one long table holding
    several breakdowns (``dimension`` = sexe, age...) is declared as one view per breakdown, each with its own
    coordinates. ``published=False``: a table that is never published but whose figures an outsider could
    still infer (EPT × département, when EPTs straddle départements): its cells are subject to the same
    rules and protected, and always hidden."""

    name: str
    coords: Mapping[str, str | Codes]
    fixed: Mapping[str, str] = field(default_factory=dict)
    where: Mapping[str, tuple] = field(default_factory=dict)
    published: bool = True

    def rows(self, frame: pd.DataFrame) -> np.ndarray:
        """Positions of the rows this view covers."""
        mask = np.ones(len(frame), dtype=bool)
        for col, values in self.where.items():
            mask &= frame[col].isin(list(values)).to_numpy()
        return np.flatnonzero(mask)


@dataclass(frozen=True)
class LinkedSet:
    """Every table published together, and each linked dimension's hierarchy (None: no relation along it)."""

    dims: Mapping[str, Hierarchy | None]
    tables: tuple[Table, ...]


@dataclass
class Model:
    """The linked set flattened: one row of ``cells`` per cell, one row of ``refs`` per figure a table
    shows, relations as ``eq @ x == 0`` and ``ub @ x <= 0`` over the cells' values x."""

    cells: pd.DataFrame
    refs: pd.DataFrame
    eq: sparse.csr_array
    ub: sparse.csr_array


def _codes(frame: pd.DataFrame, table: Table, linked: LinkedSet) -> pd.DataFrame:
    out = {}
    for d, h in linked.dims.items():
        if d in table.coords:
            source = table.coords[d]
            codes = source(frame) if callable(source) else frame[source]
            out[d] = pd.Series(codes).astype(str).to_numpy()
        elif d in table.fixed:
            out[d] = str(table.fixed[d])
        elif h is not None and h.root is not None:
            out[d] = h.root
        else:
            raise ValueError(f"{table.name}: no code for dimension {d!r} (give a column in coords or a code in fixed)")
    return pd.DataFrame(out, index=range(len(frame)))


def _check_columns(name: str, frame: pd.DataFrame, tp: TablePolicy, coords: Iterable[str] = ()) -> None:
    """Every column is named by the policy: a new figure cannot be published by oversight."""
    known = {*coords, *tp.keys, *tp.public, *tp.derived, *tp.unpublished, GOLD_FLAG,
             *(m.column for m in tp.sensitive), *(m.dominance for m in tp.sensitive if m.dominance)}
    if unknown := [c for c in frame.columns if c not in known]:
        raise ValueError(f"{name}: columns neither sensitive nor public in the policy: {unknown}")


def key_columns(table: Table, policy: Policy) -> list[str]:
    """The columns identifying a row of the table: the policy's ``keys``, else the coordinate columns."""
    tp = policy.tables[table.name]
    return list(tp.keys) or [c for c in table.coords.values() if isinstance(c, str)]


def _refs(frame: pd.DataFrame, table: Table, linked: LinkedSet, policy: Policy) -> pd.DataFrame | None:
    """One row per sensitive figure of one table (view), with its coordinate and primary flags; ``row`` is
    the position of the figure's row in the whole table."""
    tp = policy.tables.get(table.name)
    if tp is None:
        raise ValueError(f"{table.name}: no entry in the disclosure policy")
    frame = frame.reset_index(drop=True)
    coords = [c for c in table.coords.values() if isinstance(c, str)]
    keys = key_columns(table, policy)
    _check_columns(table.name, frame, tp, coords)
    positions = table.rows(frame)
    positions = positions[~tp.public_mask(frame)[positions]]
    frame = frame.iloc[positions].reset_index(drop=True)
    if frame.duplicated(keys).any():
        raise ValueError(f"{table.name}: several rows share a key {keys}")
    small = np.zeros(len(frame), dtype=bool)
    if tp.contributors:
        n = pd.to_numeric(frame[tp.contributors], errors="coerce").fillna(0).to_numpy()
        small |= (n > 0) & (n < policy.threshold)
    if GOLD_FLAG in frame.columns:
        small |= frame[GOLD_FLAG].fillna(False).astype(bool).to_numpy()
    if missing := [m.dominance for m in tp.sensitive if m.dominance and m.dominance not in frame.columns]:
        raise ValueError(f"{table.name}: dominance share columns missing {missing}: gold must compute them "
                         "(or the policy drop the rule)")
    if frame.empty or not tp.sensitive:
        return None
    codes = _codes(frame, table, linked)
    key = list(frame[keys].itertuples(index=False, name=None))
    parts = []
    for m in tp.sensitive:
        value = pd.to_numeric(frame[m.column], errors="coerce").astype(float).to_numpy()
        share = (pd.to_numeric(frame[m.dominance], errors="coerce").astype(float).to_numpy() if m.dominance
                 else np.full(len(frame), np.nan))
        dominant = (share > policy.dominance_k) & (value > 0)
        own = (value > 0) & (value < policy.threshold) if m.frequency else np.zeros(len(frame), dtype=bool)
        parts.append(codes.assign(table=table.name, row=positions, key=key, column=m.column,
                                  quantity=m.name, kind=m.kind, value=value, share=share, dominant=dominant,
                                  shown_here=table.published,
                                  primary=(((small | own) & (value > 0)) | dominant) & ~np.isnan(value)))
    return pd.concat(parts, ignore_index=True)


def uncovered(frames: Mapping[str, pd.DataFrame], linked: LinkedSet, policy: Policy) -> dict[str, int]:
    """Rows of tables with sensitive figures that no view covers and that are not public: such figures would
    be published unprotected. Must be empty (``build`` refuses otherwise)."""
    out = {}
    for name in dict.fromkeys(t.name for t in linked.tables):
        tp, frame = policy.tables[name], frames[name].reset_index(drop=True)
        if not tp.sensitive:
            continue
        covered = tp.public_mask(frame)
        for t in linked.tables:
            if t.name == name:
                covered[t.rows(frame)] = True
        if (n := int((~covered).sum())) > 0:
            out[name] = n
    return out


def _closure(keys: set[tuple], hierarchies: list[Hierarchy | None]) -> set[tuple]:
    """The coordinates and all their ancestors along every hierarchy."""
    known, frontier = set(keys), list(keys)
    while frontier:
        new = []
        for key in frontier:
            for j, h in enumerate(hierarchies):
                p = h.parent(key[j]) if h is not None else None
                if p is not None and (k2 := (*key[:j], p, *key[j + 1:])) not in known:
                    known.add(k2)
                    new.append(k2)
        frontier = new
    return known


def build(frames: Mapping[str, pd.DataFrame], linked: LinkedSet, policy: Policy) -> Model:
    """The linked set of these (true, unprotected) tables: cells, figures and relations.

    Raises when a cell shown twice has two values or when a relation does not hold on the true values: the
    hierarchy or a table's completeness is then wrongly declared, and the audit would reason on a falsehood.
    Tables must be complete at their level: a row they do not have is an empty cell (zero).
    """
    dims = list(linked.dims)
    if missing := uncovered(frames, linked, policy):
        raise ValueError(f"rows with sensitive figures that no view of the linked set covers: {missing}")
    parts = [r for t in linked.tables if (r := _refs(frames[t.name], t, linked, policy)) is not None]
    if not parts:
        return Model(pd.DataFrame(columns=["quantity", *dims, "value", "latent", "internal"]), pd.DataFrame(),
                     sparse.csr_array((0, 0)), sparse.csr_array((0, 0)))
    refs = pd.concat(parts, ignore_index=True)
    ident = ["quantity", *dims]
    refs["cell"] = refs.groupby(ident, sort=False).ngroup()
    g = refs.groupby("cell")
    spread = g["value"].max() - g["value"].min()
    if (bad := spread[spread > policy.tolerance]).any():
        first = refs[refs.cell == bad.index[0]]
        raise ValueError(f"one cell shown with different values: {first[['table', 'key', 'column', 'value']]}")
    cells = g.agg(**{c: (c, "first") for c in [*ident, "kind"]}, value=("value", "first"), share=("share", "max"),
                  dominant=("dominant", "any"), primary=("primary", "any"), shown=("shown_here", "any"))
    cells["latent"] = cells["value"].isna()
    cells["internal"] = ~cells.pop("shown").astype(bool)  # only in unpublished tables: always hidden
    measures = {m.name: m for tp in policy.tables.values() for m in tp.sensitive}
    hierarchies = [linked.dims[d] for d in dims]
    latent = []
    for q, sub in cells.groupby("quantity", sort=False):
        keys = set(sub[dims].itertuples(index=False, name=None))
        for key in _closure(keys, hierarchies) - keys:
            latent.append({"quantity": q, **dict(zip(dims, key, strict=True)), "kind": sub["kind"].iat[0],
                           "value": np.nan, "share": np.nan, "dominant": False, "primary": False, "latent": True,
                           "internal": False})
    cells = pd.concat([cells, pd.DataFrame(latent)], ignore_index=True) if latent else cells.reset_index(drop=True)
    eq_rows, ub_rows = _relations(cells, dims, hierarchies, measures)
    eq_rows += _row_sums(refs, policy)
    ub_rows += _row_sums(refs, policy, "bounds")
    eq, ub = _matrix(eq_rows, len(cells)), _matrix(ub_rows, len(cells))
    _check(cells, dims, eq, ub, policy.tolerance)
    value = cells["value"].fillna(0).to_numpy()
    lower, upper = policy.levels(value, cells["kind"].to_numpy(), cells["share"].to_numpy(),
                                 cells["dominant"].to_numpy())
    cells["lower_level"], cells["upper_level"] = lower, upper
    cells["cost"] = value + 1 if policy.cost == "value" else 1.0
    return Model(cells, refs, eq, ub)


def _relations(cells: pd.DataFrame, dims: list[str], hierarchies: list[Hierarchy | None],
               measures: Mapping[str, Measure]) -> tuple[list[dict[int, float]], list[dict[int, float]]]:
    """Parent = Σ children (or ≤ Σ, and child ≤ parent, for distinct counts) along each hierarchy.

    A group of children of which no table shows any is incomplete (a level nobody publishes): it only says
    parent ≥ Σ shown children for additive quantities.
    """
    index = {(q, *k): i for i, (q, *k) in enumerate(cells[["quantity", *dims]].itertuples(index=False, name=None))}
    latent = cells["latent"].to_numpy()
    eq_rows: list[dict[int, float]] = []
    ub_rows: list[dict[int, float]] = []
    for j, (d, h) in enumerate(zip(dims, hierarchies, strict=True)):
        if h is None:
            continue
        groups: dict[int, list[int]] = {}
        for (q, *key), i in index.items():
            p = h.parent(key[j])
            if p is not None:
                groups.setdefault(index[(q, *key[:j], p, *key[j + 1:])], []).append(i)
        for parent, children in groups.items():
            m = measures.get(cells.at[parent, "quantity"])
            additive = m.adds_up(d) if m is not None else True
            complete = not latent[children].all()
            if additive and complete:
                eq_rows.append({parent: -1.0, **dict.fromkeys(children, 1.0)})
            elif additive:
                ub_rows.append({parent: -1.0, **dict.fromkeys(children, 1.0)})
            else:
                if complete:
                    ub_rows.append({parent: 1.0, **dict.fromkeys(children, -1.0)})
                ub_rows.extend({c: 1.0, parent: -1.0} for c in children)
    return eq_rows, ub_rows


def _row_sums(refs: pd.DataFrame, policy: Policy, kind: str = "sums") -> list[dict[int, float]]:
    """Total column = Σ component columns, row by row (``sums`` of the table's policy); with ``bounds``,
    Σ component columns - total <= 0 (the components do not cover every case)."""
    rows = []
    for table, mine in refs.groupby("table", sort=False):
        sums = getattr(policy.tables[table], kind)
        if not sums:
            continue
        wide = mine.pivot(index="row", columns="column", values="cell")
        for total, parts in sums.items():
            for total_cell, *cells in wide[[total, *parts]].itertuples(index=False):
                row = {int(total_cell): -1.0}
                for c in cells:
                    row[int(c)] = row.get(int(c), 0.0) + 1.0
                rows.append(row)
    return rows


def _matrix(rows: list[dict[int, float]], n: int) -> sparse.csr_array:
    r = [i for i, row in enumerate(rows) for _ in row]
    c = [j for row in rows for j in row]
    v = [x for row in rows for x in row.values()]
    return sparse.csr_array((v, (r, c)), shape=(len(rows), n))


def _check(cells: pd.DataFrame, dims: list[str], eq: sparse.csr_array, ub: sparse.csr_array,
           tolerance: float) -> None:
    latent = cells["latent"].to_numpy().astype(float)
    value = cells["value"].fillna(0).to_numpy()
    for a, name in ((eq, "="), (ub, "<=")):
        exact = (abs(a) @ latent) == 0
        residual = a @ value
        bad = exact & ((np.abs(residual) if name == "=" else residual) > tolerance)
        if bad.any():
            row = a[[int(np.flatnonzero(bad)[0])]].tocoo()
            terms = cells.iloc[row.col][["quantity", *dims, "value"]]
            raise ValueError(f"a relation ({name} 0) does not hold on the true values: {terms.assign(coef=row.data)}")


# --- Linear programmes -----------------------------------------------------------------------------------

def _components(a: sparse.csr_array, n: int) -> np.ndarray:
    """Component label of each of n columns, two columns being linked when a row holds both: the components
    of the graph whose nodes are the columns then the rows, an edge per non-zero. Its size is the matrix's
    (``pattern.T @ pattern`` grows with the square of a row's length: 29.3 GiB for the totals of the 1M
    benchmark). The columns come first, so their labels are numbered in the order of their first column."""
    coo = a.tocoo()
    nonzero = coo.data != 0
    edges = (n + coo.row[nonzero], coo.col[nonzero])
    size = n + a.shape[0]
    graph = sparse.coo_array((np.ones(len(edges[0]), dtype=np.int8), edges), shape=(size, size))
    return connected_components(graph, directed=False)[1][:n]


def _rows_of(a: sparse.csr_array, cols: np.ndarray) -> sparse.csr_array:
    sub = a[:, cols]
    return sub[np.flatnonzero(np.diff(sub.indptr))]


def intervals(model: Model, unknown: np.ndarray, targets: Iterable[int],
              needs: Mapping[int, tuple[float, float]] | None = None,
              joint_above: int | None = None) -> dict[int, tuple[float, float]]:
    """What an outsider can infer: for each target cell, min and max of its value over every table consistent
    with the published cells, the relations and non-negativity. One pair of LPs per target, each over the
    connected component of the unknown cells it belongs to; a cell in no relation is only known to be >= 0.

    In a component with more than ``joint_above`` targets, when ``needs`` (cell -> the values its interval
    must reach below and above, within the audit's tolerance) are given: two LPs find one consistent table
    where every cell with a need reaches its upper value and one where every such cell reaches its lower
    value; each target's interval is then the span of its true value and its values in those two tables: a
    proven part of the attacker's interval (the needs are checked exactly), not its ends. Per-target LPs when
    either table does not exist. A component whose relations its rounded figures cannot all meet exactly is
    solved with each relation within its band (``_bands``)."""
    value = model.cells["value"].fillna(0).to_numpy()
    known_v = np.where(unknown, 0.0, value)
    cols = np.flatnonzero(unknown)
    position = {int(c): k for k, c in enumerate(cols)}
    a = sparse.vstack([model.eq, model.ub]).tocsr()
    n_eq = model.eq.shape[0]
    rhs = -(a @ known_v)
    au = a[:, cols]
    labels = _components(au, len(cols))
    out: dict[int, tuple[float, float]] = {}
    by_label: dict[int, list[int]] = {}
    for t in targets:
        by_label.setdefault(int(labels[position[int(t)]]), []).append(int(t))
    row_nnz = np.diff(au.indptr)
    row_label = np.full(a.shape[0], -1)
    row_label[row_nnz > 0] = labels[au.indices[au.indptr[:-1][row_nnz > 0]]]
    for label, ts in by_label.items():
        comp = np.flatnonzero(labels == label)
        rows = np.flatnonzero(row_label == label)
        if rows.size == 0:
            out.update((t, (0.0, math.inf)) for t in ts)
            continue
        sub = au[rows][:, comp]
        is_eq = rows < n_eq
        lp = {"A_eq": sub[is_eq] if is_eq.any() else None, "b_eq": rhs[rows[is_eq]] if is_eq.any() else None,
              "A_ub": sub[~is_eq] if (~is_eq).any() else None,
              "b_ub": rhs[rows[~is_eq]] if (~is_eq).any() else None, "bounds": (0, None), "method": "highs"}
        band = _bands(a[rows], value, model.cells["latent"].to_numpy())
        banded = {"A_ub": sparse.vstack([sub, -sub[is_eq]]).tocsr(),
                  "b_ub": np.concatenate([rhs[rows] + band, band[is_eq] - rhs[rows[is_eq]]]),
                  "bounds": (0, None), "method": "highs"}
        if linprog(np.zeros(len(comp)), **lp).status == 2:  # rounded figures: each relation within its band
            lp = banded
        local = {int(c): k for k, c in enumerate(cols[comp])}
        if needs and joint_above is not None and len(ts) > joint_above:
            spans = _joint_spans(lp, local, ts, needs, value)
            if spans is not None:
                out.update(spans)
                continue
        for t in ts:
            c = np.zeros(len(comp))
            c[local[t]] = 1.0
            lo, hi = linprog(c, **lp), linprog(-c, **lp)
            if 2 in (lo.status, hi.status) and lp is not banded:  # feasible only within the solver's tolerance
                lp = banded
                lo, hi = linprog(c, **lp), linprog(-c, **lp)
            out[t] = (lo.fun if lo.status == 0 else -math.inf if lo.status == 3 else math.nan,
                      -hi.fun if hi.status == 0 else math.inf if hi.status == 3 else math.nan)
    return out


def _joint_spans(lp: dict, local: Mapping[int, int], targets: list[int], needs: Mapping[int, tuple[float, float]],
                 value: np.ndarray) -> dict[int, tuple[float, float]] | None:
    """``intervals`` of a large component from two consistent tables (see there); None when either is missing."""
    n = len(local)
    tables = []
    for side in (1, 0):  # every need's upper value reached, then every need's lower value
        bounds = np.column_stack([np.zeros(n), np.full(n, np.inf)])
        for t, reach in needs.items():
            if t in local:
                bounds[local[t], 1 - side] = reach[side]
        res = linprog(np.zeros(n), **{**lp, "bounds": bounds})
        if res.status != 0:
            return None
        tables.append(res.x)
    return {t: (min(value[t], tables[0][local[t]], tables[1][local[t]]),
                max(value[t], tables[0][local[t]], tables[1][local[t]])) for t in targets}


@dataclass
class _Component:
    """The relations of one connected set of cells, for the protection LPs."""

    cells: np.ndarray
    eq: sparse.csr_array
    ub: sparse.csr_array
    base: np.ndarray
    eq_band: np.ndarray | None = None  # None: exact relations; else each within its band (``_bands``)
    ub_band: np.ndarray | None = None


ROUNDING = 5e-7  # gold rounds its figures to 6 decimals: each published figure is within this of its true value


def _bands(a: sparse.csr_array, value: np.ndarray, latent: np.ndarray) -> np.ndarray:
    """How far each relation may be from holding exactly: its figures are rounded (``ROUNDING`` per non-latent
    cell), and a relation without latent cell is off by its true residual (``_check`` bounds it). Without
    bands, two totals of one latent cell (the region by EPTs and by legal modalities: 209,854,098.42 and
    209,854,098.419998 h at 1M contracts) make every LP of their component infeasible."""
    latent = latent.astype(float)
    exact = (abs(a) @ latent) == 0
    shown = (abs(a) != 0).astype(float) @ (1.0 - latent)
    return np.maximum(ROUNDING * shown, np.where(exact, np.abs(a @ value), 0.0))


def _component(model: Model, cells: np.ndarray) -> _Component:
    """The component's relations; with bands when its rounded figures cannot meet them exactly (the cells at
    their values, the latent ones free): then a witness need not move a published cell by a rounding."""
    base = model.cells["value"].fillna(0).to_numpy()[cells]
    latent = model.cells["latent"].to_numpy()[cells]
    comp = _Component(cells, _rows_of(model.eq, cells), _rows_of(model.ub, cells), base)
    if latent.any() and not _exact(comp, latent):
        comp.eq_band, comp.ub_band = _bands(comp.eq, base, latent), _bands(comp.ub, base, latent)
    return comp


def _exact(comp: _Component, latent: np.ndarray) -> bool:
    """Whether the true values with some latent values (>= 0) meet every relation exactly."""
    free = np.flatnonzero(latent)
    fixed = np.where(latent, 0.0, comp.base)
    lp = {"A_eq": comp.eq[:, free] if comp.eq.shape[0] else None,
          "b_eq": -(comp.eq @ fixed) if comp.eq.shape[0] else None,
          "A_ub": comp.ub[:, free] if comp.ub.shape[0] else None,
          "b_ub": -(comp.ub @ fixed) if comp.ub.shape[0] else None}
    return linprog(np.zeros(len(free)), **lp, bounds=(0, None), method="highs").status != 2


def _move(comp: _Component, cost: np.ndarray, target: int | np.ndarray, direction: int,
          level: float | np.ndarray, frozen: np.ndarray | None = None) -> np.ndarray | None:
    """The cheapest change of the component's cells that keeps every relation and moves ``target`` by at
    least ``level`` in ``direction``: x = base + up - down, cost per unit moved. Returns the amount moved per
    cell, or None when no such table exists. ``frozen`` cells may not move (they stay published).
    ``target`` and ``level`` may be arrays: one table that moves every target at once (a joint witness)."""
    n = len(comp.cells)
    targets, levels = np.atleast_1d(target), np.atleast_1d(level).astype(float)
    k = len(targets)
    cap_up = np.where(frozen, 0.0, np.inf) if frozen is not None else np.full(n, np.inf)
    cap_down = np.where(frozen, 0.0, comp.base) if frozen is not None else comp.base
    rows = np.concatenate([np.arange(k), np.arange(k)])
    goal = sparse.csr_array((np.repeat([-direction, direction], k), (rows, np.concatenate([targets, n + targets]))),
                            shape=(k, 2 * n))
    need = levels * (1 + 1e-6) + 1e-6  # a hair beyond, so that the audit's LP sees it reached
    need = np.minimum(need, comp.base[targets]) if direction < 0 else need  # down to zero at most
    eq, ub = sparse.hstack([comp.eq, -comp.eq]), sparse.hstack([comp.ub, -comp.ub])
    has_eq = comp.eq.shape[0] > 0
    if comp.eq_band is None:
        a_ub = sparse.vstack([ub, goal]).tocsr()
        b_ub = np.concatenate([-(comp.ub @ comp.base), -need])
        a_eq, b_eq = (eq.tocsr(), -(comp.eq @ comp.base)) if has_eq else (None, None)
    else:  # every relation within its band
        r_eq = comp.eq @ comp.base
        a_ub = sparse.vstack([ub, eq, -eq, goal]).tocsr()
        b_ub = np.concatenate([comp.ub_band - comp.ub @ comp.base, comp.eq_band - r_eq, comp.eq_band + r_eq, -need])
        a_eq, b_eq = None, None
    res = linprog(np.concatenate([cost, cost]), A_ub=a_ub, b_ub=b_ub, A_eq=a_eq, b_eq=b_eq,
                  bounds=np.column_stack([np.zeros(2 * n), np.concatenate([cap_up, cap_down])]),
                  method="highs")
    return res.x[:n] + res.x[n:] if res.status == 0 else None


def suppress(model: Model, policy: Policy) -> np.ndarray:
    """Status of every cell: 0 published, 1 primary, 2 secondary (latent cells are never published anyway).

    Primary cells first; then, component by component, the LP heuristic described in the module docstring.
    A primary cell that cannot be protected at all (its whole component hidden would still not do) raises.
    """
    cells = model.cells
    status = np.where(cells["primary"].to_numpy(), _PRIMARY, _PUBLISHED)
    latent = (cells["latent"] | cells["internal"]).to_numpy()  # never shown: hidden for free
    value, cost = cells["value"].fillna(0).to_numpy(), cells["cost"].to_numpy()
    lower, upper = cells["lower_level"].to_numpy(), cells["upper_level"].to_numpy()
    labels = _components(sparse.vstack([model.eq, model.ub]).tocsr(), len(cells))
    for label in np.unique(labels[status == _PRIMARY]):
        comp = _component(model, np.flatnonzero(labels == label))
        if comp.eq.shape[0] + comp.ub.shape[0] == 0:
            continue  # a cell in no relation: nothing published narrows it
        local = {int(c): k for k, c in enumerate(comp.cells)}
        primaries = sorted((int(c) for c in comp.cells if status[c] == _PRIMARY), key=lambda c: (-value[c], c))
        needs = [(local[c], d, lvl) for c in primaries for d, lvl in ((1, upper[c]), (-1, lower[c])) if lvl > 0]
        if len(needs) > policy.joint_above and _joint(comp, status, latent, needs, cost):
            continue
        witnesses = []  # for each need, a table reaching it that moves hidden cells only
        for k, direction, level in needs:
            hidden = (status[comp.cells] != _PUBLISHED) | latent[comp.cells]
            moved = _move(comp, np.where(hidden, _FREE, cost[comp.cells]), k, direction, level)
            if moved is None:
                raise ValueError(f"cell {cells.iloc[comp.cells[k]].to_dict()} cannot be protected")
            status[comp.cells[(moved > _MOVED) & ~hidden]] = _SECONDARY
            witnesses.append(moved)
        _cleanup(comp, status, latent, needs, witnesses, cost, policy.cleanup_budget)
    return status


_MOVED = 1e-7  # a cell moved by less than this in a witness table did not move
_JOINT_CLEANUP_LPS = 50  # joint LPs allowed per component to publish back unneeded secondary cells


def _joint(comp: _Component, status: np.ndarray, latent: np.ndarray, needs: list, cost: np.ndarray) -> bool:
    """Suppression for a component with many needs (the extended DECP: one cell per contract): instead of one
    LP per need, one witness per direction moves every primary cell at once; the published cells it moves
    become secondary. Each need then has a witness (the joint table reaches it), so the protection holds;
    the cells hidden may be more than the per-need heuristic would hide. Then ``_cleanup`` publishes back
    what the joint witnesses can do without (at most ``_JOINT_CLEANUP_LPS`` LPs). False (nothing changed)
    when no joint witness exists: the caller goes need by need."""
    joint = [(np.array([k for k, dd, _ in needs if dd == d]), d, np.array([lvl for _, dd, lvl in needs if dd == d]))
             for d in (1, -1)]
    joint = [need for need in joint if len(need[0])]
    before = status.copy()
    witnesses = []
    for targets, d, levels in joint:
        hidden = (status[comp.cells] != _PUBLISHED) | latent[comp.cells]
        moved = _move(comp, np.where(hidden, _FREE, cost[comp.cells]), targets, d, levels)
        if moved is None:
            status[:] = before
            return False
        status[comp.cells[(moved > _MOVED) & ~hidden]] = _SECONDARY
        witnesses.append(moved)
    _cleanup(comp, status, latent, joint, witnesses, cost, _JOINT_CLEANUP_LPS)
    return True
_FREE = 1e-3  # cost per unit of moving a hidden cell: almost free, but witnesses move few of them


def _cleanup(comp: _Component, status: np.ndarray, latent: np.ndarray, needs: list, witnesses: list,
             cost: np.ndarray, budget: int) -> None:
    """Publish back each secondary cell, most costly first, when every primary stays protected without it.

    Only the needs whose witness table moves that cell are solved again (the others still hold), with unit
    costs so that new witnesses move few cells; at most ``budget`` LPs per component.
    """
    local = {int(c): k for k, c in enumerate(comp.cells)}
    unit = np.ones(len(comp.cells))
    for c in sorted((int(c) for c in comp.cells if status[c] == _SECONDARY), key=lambda c: (-cost[c], c)):
        k = local[c]
        touched = [i for i, w in enumerate(witnesses) if w[k] > _MOVED]
        if len(touched) > budget:
            return
        budget -= len(touched)
        status[c] = _PUBLISHED
        frozen = (status[comp.cells] == _PUBLISHED) & ~latent[comp.cells]
        found = {}
        for i in touched:
            if (moved := _move(comp, unit, *needs[i], frozen)) is None:
                status[c] = _SECONDARY
                break
            found[i] = moved
        else:
            for i, moved in found.items():
                witnesses[i] = moved


# --- Publication and audit ------------------------------------------------------------------------------

@dataclass
class Protection:
    """The protected publication: ``frames`` as published, ``figures`` every sensitive figure with its
    status (``primaire``, ``complementaire`` or None), and the model it was computed on."""

    frames: dict[str, pd.DataFrame]
    figures: pd.DataFrame
    model: Model


NO_FIGURES = pd.DataFrame({"table": pd.Series(dtype=object), "row": pd.Series(dtype=int),
                           "column": pd.Series(dtype=object), "status": pd.Series(dtype=object)})


def publish(frames: Mapping[str, pd.DataFrame], figures: pd.DataFrame, policy: Policy,
            check: bool = True) -> dict[str, pd.DataFrame]:
    """The tables as published: hidden figures null, ``secret_<column>`` (hidden or not) beside each
    sensitive or derived column, ``secret`` when any figure of the row is hidden.

    Primary and complementary figures look the same: saying which ones are primary would tell that those
    hold 1 to 4 persons, the very interval the protection widens. For the same reason gold's small-cell
    flag and the dominance shares are dropped. The reasons stay in ``Protection.figures``, for the publisher.
    """
    out = {}
    for name, frame in frames.items():
        tp = policy.tables.get(name)
        if tp is None:
            raise ValueError(f"{name}: no entry in the disclosure policy")
        if check:  # (``build`` checked the tables of a linked set, with their coordinate columns)
            _check_columns(name, frame, tp)
        frame = frame.reset_index(drop=True)
        drop = [GOLD_FLAG, *(m.dominance for m in tp.sensitive if m.dominance), *tp.unpublished]
        df = frame.drop(columns=[c for c in drop if c in frame.columns])
        mine = figures[figures["table"] == name]
        hidden = {}
        for m in tp.sensitive:
            f = mine[(mine["column"] == m.column) & mine["status"].notna()]
            hidden[m.column] = np.isin(np.arange(len(df)), f["row"].to_numpy())
        for col, sources in tp.derived.items():
            hidden[col] = np.logical_or.reduce([hidden[c] for c in sources if c in hidden] or [np.zeros(len(df), bool)])
        any_hidden = np.zeros(len(df), dtype=bool)
        for col, mask in hidden.items():
            any_hidden |= mask
            if mask.any():
                if pd.api.types.is_integer_dtype(df[col]):
                    df[col] = df[col].astype("Int64")
                elif pd.api.types.is_bool_dtype(df[col]):
                    df[col] = df[col].astype("boolean")
                df.loc[mask, col] = None
            df[f"secret_{col}"] = mask
        df[SECRET] = any_hidden
        out[name] = df
    return out


def protect(frames: Mapping[str, pd.DataFrame], linked: LinkedSet, policy: Policy) -> Protection:
    """Primary and secondary suppression of every table of the linked set together."""
    model = build(frames, linked, policy)
    columns = ["table", "row", "key", "column", "quantity", "cell", "value"]
    if model.refs.empty:
        figures = pd.DataFrame(columns=[*columns, "status"])
    else:
        status = suppress(model, policy)
        figures = model.refs[columns].copy()
        figures["status"] = np.array([None, PRIMARY, SECONDARY], dtype=object)[status[figures["cell"].to_numpy()]]
    shown = {t.name: frames[t.name] for t in linked.tables if t.published}
    return Protection(publish(shown, figures, policy, check=False), figures, model)


AUDIT_COLUMNS = ["table", "key", "measure", "status", "hidden", "value", "lower", "upper", "width", "required",
                 "need_lower", "need_upper", "ok"]


def audit(frames: Mapping[str, pd.DataFrame], published: Mapping[str, pd.DataFrame], linked: LinkedSet,
          policy: Policy) -> pd.DataFrame:
    """The attacker audit of a publication: for every hidden figure and every primary figure, the interval
    an outsider can infer from everything published (``intervals``), and whether it honours the protection
    levels of the policy (``need_lower`` >= lower and upper >= ``need_upper``; secondary figures need none).

    ``frames`` are the true tables, ``published`` the tables as published, matched on their key columns (a
    null sensitive figure, or a missing row, is hidden). A cell hidden in one table but shown in another is
    known. A derived column shown beside a
    hidden source fails. The report holds true values: it is for the publisher, never published.
    """
    model = build(frames, linked, policy)
    refs = model.refs
    if refs.empty:
        return pd.DataFrame(columns=AUDIT_COLUMNS)
    published = {t.name: _aligned(published[t.name], frames[t.name], key_columns(t, policy))
                 for t in linked.tables if t.published}
    shown = np.zeros(len(refs), dtype=bool)
    for (table, column), idx in refs.groupby(["table", "column"]).groups.items():
        if table in published:  # an unpublished table shows nothing
            rows = refs.loc[idx, "row"].to_numpy()
            shown[idx] = published[table][column].iloc[rows].notna().to_numpy()
    refs = refs.assign(shown=shown)
    cells = model.cells
    known = np.zeros(len(cells), dtype=bool)
    known[refs.loc[refs["shown"], "cell"].to_numpy()] = True
    unknown = ~known | cells["latent"].to_numpy()
    report = refs[(~refs["shown"] & refs["value"].notna()) | refs["primary"]].copy()
    targets = np.unique(report.loc[~report["shown"], "cell"].to_numpy())
    targets = targets[unknown[targets]]
    value = report["value"].to_numpy()
    cell = report["cell"].to_numpy()
    lpl_cell, upl_cell = cells["lower_level"].to_numpy(), cells["upper_level"].to_numpy()
    slack = 1e-6 * np.maximum(1.0, np.abs(value))  # how near a bound counts as reaching it (solver tolerances)
    needs = {int(c): (v - lpl_cell[c] + e, v + upl_cell[c] - e)
             for c, v, e, p in zip(cell, value, slack, report["primary"], strict=True) if p and unknown[c]}
    bounds = intervals(model, unknown, targets, needs, policy.joint_above) if len(targets) else {}
    report["lower"] = [bounds.get(c, (v, v))[0] for c, v in zip(cell, value, strict=True)]
    report["upper"] = [bounds.get(c, (v, v))[1] for c, v in zip(cell, value, strict=True)]
    primary = report["primary"].to_numpy()
    lpl = np.where(primary, lpl_cell[cell], 0.0)
    upl = np.where(primary, upl_cell[cell], 0.0)
    report["need_lower"], report["need_upper"] = value - lpl, value + upl
    report["required"] = lpl + upl
    report["width"] = report["upper"] - report["lower"]
    report["ok"] = ~primary | ((report["lower"] <= report["need_lower"] + slack)
                               & (report["upper"] >= report["need_upper"] - slack))
    report["status"] = np.where(primary, PRIMARY, SECONDARY)
    report["hidden"] = ~report["shown"]
    report = report.rename(columns={"column": "measure"})[AUDIT_COLUMNS]
    leaks = _derived_leaks(refs, published, policy)
    return pd.concat([report, leaks], ignore_index=True) if len(leaks) else report.reset_index(drop=True)


def key_text(value) -> str:
    """A key value as text, the same whether read from gold or back from a CSV or JSON file."""
    if value is None or (not isinstance(value, str) and pd.isna(value)):
        return ""
    if isinstance(value, bool | np.bool_):
        return str(bool(value)).lower()
    if isinstance(value, float | np.floating) and float(value).is_integer():
        return str(int(value))
    if hasattr(value, "isoformat"):
        return value.isoformat()[:10] if not getattr(value, "hour", 0) else value.isoformat()
    return str(value)


def key_index(df: pd.DataFrame, keys: list[str]) -> pd.Index:
    """Each row's key as one text, the same for a gold frame and for the same table read back from a file."""
    return pd.Index(["\x1f".join(map(key_text, k)) for k in df[keys].itertuples(index=False, name=None)])


def _aligned(published: pd.DataFrame, true: pd.DataFrame, keys: list[str]) -> pd.DataFrame:
    """The published rows in the order of the true table's rows (all null where a row is missing)."""
    return published.set_axis(key_index(published, keys)).reindex(key_index(true, keys)).reset_index(drop=True)


def _derived_leaks(refs: pd.DataFrame, published: Mapping[str, pd.DataFrame], policy: Policy) -> pd.DataFrame:
    """Derived figures shown while a figure they are computed from is hidden (the rate gives it back)."""
    rows = []
    for table in refs["table"].unique():
        if table not in published:
            continue
        frame = published[table]
        mine = refs[refs["table"] == table]
        for col, sources in policy.tables[table].derived.items():
            hidden = mine[mine["column"].isin(sources) & ~mine["shown"] & mine["value"].notna()]
            for r in hidden.itertuples():
                if pd.notna(frame.at[r.row, col]):
                    rows.append({"table": table, "key": r.key, "measure": col, "status": DERIVED, "hidden": False,
                                 "value": r.value,
                                 "lower": r.value, "upper": r.value, "width": 0.0, "required": math.nan,
                                 "need_lower": math.nan, "need_upper": math.nan, "ok": False})
    return pd.DataFrame(rows, columns=AUDIT_COLUMNS)


def summary(report: pd.DataFrame, published: Mapping[str, pd.DataFrame], policy: Policy) -> pd.DataFrame:
    """Per table: sensitive figures shown, hidden as primary and as secondary, failures of the audit, and the
    narrowest interval relative to its requirement (width / required over primary figures; inf when none)."""
    rows = []
    for name, frame in published.items():
        columns = [m.column for m in policy.tables[name].sensitive]
        mine = report[report["table"] == name]
        hidden = mine[mine["hidden"].astype(bool)]
        prim = mine[(mine["status"] == PRIMARY) & (mine["required"] > 0)]
        rows.append({"table": name, "shown": int(frame[columns].notna().to_numpy().sum()),
                     "primary": int((hidden["status"] == PRIMARY).sum()),
                     "secondary": int((hidden["status"] == SECONDARY).sum()),
                     "failed": int((~mine["ok"].astype(bool)).sum()),
                     "narrowest": float((prim["width"] / prim["required"]).min()) if len(prim) else math.inf})
    return pd.DataFrame(rows)
