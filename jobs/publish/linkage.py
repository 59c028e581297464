"""The published tables as one linked set (``jobs.publish.secrecy``): which column of each table holds which
dimension's code, and the hierarchies that tie them (``docs/disclosure.md``).

Dimensions: the period (month ⊂ quarter ⊂ year ⊂ ``TOUT``), the territory of execution as two dimensions
(département and EPT: EPTs straddle départements, so the crossing is a table of its own, protected and never
published), the legal modality, the buyer (a 2022-format DECP contract ⊂ its buyer's DECP contracts ⊂ its
buyer ⊂ all), the charter operation, the profile of persons (sex, age band, diploma, residence, QPV,
prescriber, criterion), the insertion contract's type and realisation mode. A table without a column for a
dimension is at its root: the whole.

Pure: frames in, ``LinkedSet`` out. The table names are those of ``schemas/disclosure.yaml``.
"""

from __future__ import annotations

from collections.abc import Mapping

import pandas as pd

from jobs.core.settings import Settings
from jobs.gold import indicators as gi
from jobs.gold import published as gp
from jobs.publish import opendata
from jobs.publish import secrecy as s
from schemas import referential as ref

DECP = "decp_etendu"  # the extended DECP's person figures (one row per contract)
# Gold tables read by the publication: the open data tables and the unpublished crossing the protection needs.
GOLD = (*opendata.TABLES, *gp.INTERNAL)
TOUT = "TOUT"  # every period together
PROFILE = ("sexe", "tranche_age", "niveau_diplome", "departement_residence", "qpv", "prescripteur", "critere")
# beneficiaires' ``dimension`` value -> linked dimension (the residence is not the place of work)
PROFILE_DIMS = {d: ("residence" if d == "departement_residence" else d) for d in PROFILE}


def policy_of(settings: Settings) -> s.Policy:
    """The disclosure policy, with the run's threshold (``OBS_SMALL_CELL_THRESHOLD``, default the file's)."""
    return s.load_policy(threshold=settings.small_cell_threshold)


def true_frames(gold: Mapping[str, pd.DataFrame], decp_flat: pd.DataFrame, policy: s.Policy
                ) -> dict[str, pd.DataFrame]:
    """Every table as it would be published without protection (true figures), keyed as in the policy:
    the gold tables (``GOLD``) and the extended DECP's person figures."""
    frames = {name: opendata.prepared(name, df, policy.tables[name].keys) for name, df in gold.items()}
    frames[DECP] = opendata.decp_persons(decp_flat)
    return frames


def _years(frames: Mapping[str, pd.DataFrame]) -> list[int]:
    years = set()
    for df in frames.values():
        if "annee" in df.columns:
            years |= {int(y) for y in pd.to_numeric(df["annee"], errors="coerce").dropna().unique()}
    return sorted(years)


def _charter_code(df: pd.DataFrame) -> pd.Series:
    return df["maitre_ouvrage"].astype(str) + " | " + df["operation"].astype(str) + " | " + df["programme"].astype(str)


def _year(df: pd.DataFrame) -> pd.Series:
    return pd.to_numeric(df["annee"]).astype(int).astype(str)


def buyers(decp: pd.DataFrame | None) -> s.Hierarchy:
    """Contract (``observatoire_uid``) ⊂ its buyer's 2022-format contracts ⊂ the buyer ⊂ all buyers. The
    buyer's other hours (other contracts, no contract) are not published: the middle level says so (the
    buyer's hours are at least those of its contracts)."""
    parents: dict[str, str] = {}
    if decp is not None and len(decp):
        for uid, buyer in zip(decp["observatoire_uid"].astype(str), decp["acheteur_id"].astype(str), strict=True):
            parents[uid] = f"{buyer}|DECP2022"
            parents[f"{buyer}|DECP2022"] = buyer
    return s.Hierarchy(parents, root=ref.TOTAL)


def linked_set(frames: Mapping[str, pd.DataFrame]) -> s.LinkedSet:
    """The linked set of these frames (gold tables by ``gold/<name>``, and ``decp_etendu``)."""
    root = s.Hierarchy(root=ref.TOTAL)
    every = s.Hierarchy(root=ref.ALL)
    dims: dict[str, s.Hierarchy | None] = {
        "periode": s.calendar(_years(frames), months=True, root=TOUT),
        "departement": root, "ept": root, "modalite": every, "acheteur": buyers(frames.get(DECP)),
        "charte": root, **{d: root for d in PROFILE_DIMS.values()},
        "type_contrat": every, "modalite_realisation": every,
    }
    tables = [
        s.Table(gp.HEURES_DEPARTEMENT, {"departement": "departement", "periode": "periode"}),
        s.Table(gp.HEURES_EPT, {"ept": "ept"}, fixed={"periode": TOUT}),
        s.Table(gp.HEURES_MODALITE, {"modalite": "modalite_code"}, fixed={"periode": TOUT}),
        s.Table(gp.HEURES_DEPARTEMENT_EPT, {"departement": "departement", "ept": "ept"}, fixed={"periode": TOUT},
                published=False),
        s.Table(gp.HEURES_CHARTE, {"charte": _charter_code}, fixed={"periode": TOUT}),
        s.Table(gi.BENEFICIAIRES, {"periode": _year}, where={"dimension": ("ensemble",)}),
        *[s.Table(gi.BENEFICIAIRES, {"periode": _year, dim: "valeur"}, where={"dimension": (d,)})
          for d, dim in PROFILE_DIMS.items()],
        s.Table(gi.CONTRATS_TYPE, {"periode": _year, "type_contrat": "type_contrat",
                                   "modalite_realisation": "modalite_realisation"}),
        s.Table(gi.SORTIES, {"periode": _year}),
        s.Table(gi.STRUCTURES, {"periode": _year}, where={"indicateur": ("part_heures_employeurs",)}),
        s.Table(DECP, {"acheteur": "observatoire_uid"}, fixed={"periode": TOUT}),
    ]
    return s.LinkedSet(dims, tuple(t for t in tables if t.name in frames))
