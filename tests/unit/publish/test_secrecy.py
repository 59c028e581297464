"""Linked-set disclosure control (``jobs.publish.secrecy``): primary rules, complementary suppression over
several tables at once, and the attacker audit. Expected values are worked out by hand in the comments."""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pandas as pd
import pytest

from jobs.core.settings import disclosure_threshold
from jobs.publish import secrecy as s

# Region 11 = départements 92 + 93; 92 = EPT T2 + T3; 93 = EPT T6. Year 2024 = its four quarters.
TERRITOIRE = s.Hierarchy.from_tree({"11": {"92": ["T2", "T3"], "93": ["T6"]}})
PERIODE = s.calendar([2024], months=False)
PERSONS = {"T2": [20, 3, 15, 12], "T3": [8, 9, 2, 11], "T6": [7, 6, 10, 9]}  # T2 Q2 and T3 Q3 are small
POLICY_YAML = """
threshold: 5
dominance: {n: 1, k: 0.85}
protection: {percent: 10, count_floor: 5}
tables:
  ept: &persons
    keys: [ept, periode]
    contributors: n_personnes
    sensitive:
      n_personnes: {kind: count}
      heures: {kind: magnitude}
    public: [n_marches, montant]
  dep:
    <<: *persons
    keys: [departement, periode]
  region:
    <<: *persons
    keys: [region, periode]
"""


@pytest.fixture
def policy(tmp_path) -> s.Policy:
    path = tmp_path / "disclosure.yaml"
    path.write_text(POLICY_YAML, encoding="utf-8")
    return s.load_policy(path)


def _table(persons: dict[str, list[int]], column: str) -> pd.DataFrame:
    rows = []
    for code, quarters in persons.items():
        rows += [{column: code, "periode": f"2024-T{q}", "n_personnes": n} for q, n in enumerate(quarters, 1)]
        rows.append({column: code, "periode": "2024", "n_personnes": sum(quarters)})
    df = pd.DataFrame(rows)
    # Hours: 10 per person; contracts and amounts (DECP, public) unrelated to persons.
    return df.assign(heures=df["n_personnes"] * 10.0, n_marches=3, montant=1000.0)


def _frames(persons: dict[str, list[int]] = PERSONS) -> dict[str, pd.DataFrame]:
    parent = TERRITOIRE.parents
    deps: dict[str, list[int]] = {}
    for ept, quarters in persons.items():
        deps[parent[ept]] = [a + b for a, b in zip(deps.get(parent[ept], [0] * 4), quarters, strict=True)]
    region = {"11": [sum(q) for q in zip(*deps.values(), strict=True)]}
    return {"ept": _table(persons, "ept"), "dep": _table(deps, "departement"), "region": _table(region, "region")}


def _linked(*names: str) -> s.LinkedSet:
    columns = {"ept": "ept", "dep": "departement", "region": "region"}
    return s.LinkedSet(dims={"territoire": TERRITOIRE, "periode": PERIODE},
                       tables=tuple(s.Table(n, {"territoire": columns[n], "periode": "periode"}) for n in names))


def _naive(frames: dict[str, pd.DataFrame]) -> dict[str, pd.DataFrame]:
    """Primary suppression only: the small rows' person figures hidden, nothing else."""
    out = {}
    for name, df in frames.items():
        small = df["n_personnes"].between(1, 4)
        out[name] = df.assign(n_personnes=df["n_personnes"].where(~small), heures=df["heures"].where(~small))
    return out


def _row(report: pd.DataFrame, key: tuple, measure: str = "n_personnes") -> pd.Series:
    hit = report[(report["key"] == key) & (report["measure"] == measure)]
    assert len(hit) == 1, hit
    return hit.iloc[0]


def test_project_policy_loads():
    policy = s.load_policy()
    assert (policy.threshold, policy.dominance_n, policy.dominance_k, policy.percent) == (5, 1, 0.85, 10.0)
    assert policy.count_floor is None  # the floor follows the threshold
    hours = policy.tables["gold/heures_departement"]
    assert [m.column for m in hours.sensitive] == ["n_personnes", "heures_realisees"]
    persons, realised = hours.sensitive
    assert persons.adds_up("sexe") and not persons.adds_up("departement") and not persons.adds_up("periode")
    assert realised.dominance == "part_principal_contributeur" and realised.adds_up("departement")
    assert "heures_objectif" in hours.public
    fiches = policy.tables["gold/fiches_territoires"]
    assert fiches.sensitive == () and {"n_marches", "montant"} <= set(fiches.public)
    assert set(fiches.unpublished) == {"heures_realisees", "n_personnes"}
    for table in ("gold/marches_par_mois_departement", "gold/marches_clauses",
                  "gold/part_marches_consideration_sociale"):
        assert policy.tables[table].sensitive == ()  # DECP figures: nothing to hide
    # The setting's default is the file's threshold; OBS_SMALL_CELL_THRESHOLD overrides it (the floor follows).
    assert disclosure_threshold() == 5 and s.load_policy(threshold=7).threshold == 7


def test_hierarchies_and_period_codes():
    ref = pd.DataFrame({"commune": ["92004", "77001"], "ept": ["T2", None], "departement": ["92", "77"]})
    h = s.Hierarchy.from_levels(ref, ["commune", "ept", "departement"], root="11")
    assert (h.parent("92004"), h.parent("T2"), h.parent("77001"), h.parent("92"), h.parent("11")) == (
        "T2", "92", "77", "11", None)
    assert TERRITOIRE.parent("T6") == "93" and TERRITOIRE.parent("11") is None
    cal = s.calendar([2024])
    assert (cal.parent("2024-05"), cal.parent("2024-T2"), cal.parent("2024")) == ("2024-T2", "2024", None)
    assert s.Hierarchy(root="TOUTES").parent("Clause sociale") == "TOUTES"
    year, quarter = pd.Series([2024, 2024]), pd.Series([0, 3])
    assert s.period_code(year, quarter).tolist() == ["2024", "2024-T3"]
    assert s.period_code(year, month=pd.Series([None, 11])).tolist() == ["2024", "2024-11"]


def test_naive_primary_suppression_is_recovered_by_differencing(policy):
    frames = _frames()
    report = s.audit(frames, _naive(frames), _linked("ept", "dep", "region"), policy)
    # T2 Q2 = T2's year - its other quarters = 50 - 20 - 15 - 12 = 3; T3 Q3 = 30 - 8 - 9 - 11 = 2.
    for key, persons in (("T2", "2024-T2"), 3.0), (("T3", "2024-T3"), 2.0):
        for measure, value in (("n_personnes", persons), ("heures", persons * 10)):
            row = _row(report, key, measure)
            assert (row["lower"], row["upper"], row["width"], row["ok"]) == (value, value, 0.0, False)
    # Required: a count of 3 must stay compatible with 0 and with 3 + 5; hours of 30 with ±10 %.
    row = _row(report, ("T2", "2024-T2"))
    assert (row["need_lower"], row["need_upper"], row["required"]) == (0.0, 8.0, 8.0)
    row = _row(report, ("T2", "2024-T2"), "heures")
    assert (row["need_lower"], row["need_upper"], row["required"]) == (27.0, 33.0, 6.0)
    assert len(report) == 4 and not report["ok"].any()


def test_linked_protection_passes_the_audit(policy):
    frames = _frames()
    linked = _linked("ept", "dep", "region")
    protection = s.protect(frames, linked, policy)
    ept = protection.frames["ept"].set_index(["ept", "periode"])
    # Persons: each hidden cell needs another one in its EPT's year and in its département's quarter
    # (92's Q2, Q3 are published). Q2 and Q3 of T2 and T3 (a rectangle) do not suffice: lowering T2 Q2
    # by 3 would lower T3 Q3 (2) below zero. A third quarter is needed; Q4 (12 + 11) is the cheapest.
    # Hours only need ±10 %: the rectangle is enough.
    expected_persons = {("T2", "2024-T2"): s.PRIMARY, ("T3", "2024-T3"): s.PRIMARY,
                        ("T2", "2024-T3"): s.SECONDARY, ("T3", "2024-T2"): s.SECONDARY,
                        ("T2", "2024-T4"): s.SECONDARY, ("T3", "2024-T4"): s.SECONDARY}
    expected_hours = {k: v for k, v in expected_persons.items() if k[1] != "2024-T4"}
    figures = protection.figures[protection.figures["table"] == "ept"].dropna(subset=["status"])
    status = {(m, k): st for m, k, st in figures[["column", "key", "status"]].itertuples(index=False)}
    assert status == {**{("n_personnes", k): v for k, v in expected_persons.items()},
                      **{("heures", k): v for k, v in expected_hours.items()}}
    # Published: one flag per figure, primary or complementary alike (the reason would tell 1 to 4 persons).
    assert ept.index[ept["secret_n_personnes"]].tolist() == sorted(expected_persons)
    assert ept.index[ept["secret_heures"]].tolist() == sorted(expected_hours)
    assert ept.loc[list(expected_persons), "n_personnes"].isna().all()
    assert ept.loc[("T2", "2024-T4"), "heures"] == 120.0  # shown: hours are not hidden with persons
    for name in ("dep", "region"):  # totals stay published
        assert not protection.frames[name]["secret"].any()

    shuffled = {k: f.sample(frac=1, random_state=1) for k, f in protection.frames.items()}  # rows matched on keys
    report = s.audit(frames, shuffled, linked, policy)
    assert report["ok"].all() and len(report) == 10
    # T2 Q2 <= 92 Q2 = 12 (T3 Q2 = 0); T3 Q3 <= 92 Q3 = 17; both can be 0.
    assert tuple(_row(report, ("T2", "2024-T2"))[["lower", "upper"]]) == (0.0, 12.0)
    assert tuple(_row(report, ("T3", "2024-T3"))[["lower", "upper"]]) == (0.0, 17.0)
    summary = s.summary(report, protection.frames, policy).set_index("table")
    assert summary.loc["ept", ["shown", "primary", "secondary", "failed"]].tolist() == [20, 4, 6, 0]
    assert summary.loc["dep", ["shown", "primary", "secondary", "failed"]].tolist() == [20, 0, 0, 0]
    # Narrowest relative to its requirement: persons of T2 Q2, 12 wide for 8 required.
    assert summary.loc["ept", "narrowest"] == pytest.approx(12 / 8)


def test_audit_uses_an_equation_across_two_tables(policy):
    frames = {k: f[f["periode"] == "2024"].reset_index(drop=True) for k, f in _frames().items()}
    hidden = {k: f.copy() for k, f in frames.items()}
    hidden["ept"].loc[hidden["ept"]["ept"] == "T2", ["n_personnes", "heures"]] = None
    # With the département table: T2 = 92 - T3 = 80 - 30 = 50, exactly.
    report = s.audit(frames, hidden, _linked("ept", "dep"), policy)
    assert tuple(_row(report, ("T2", "2024"))[["lower", "upper", "width"]]) == (50.0, 50.0, 0.0)
    # The EPT table alone says nothing about T2 but that it is not negative.
    alone = s.audit({"ept": frames["ept"]}, {"ept": hidden["ept"]}, _linked("ept"), policy)
    assert tuple(_row(alone, ("T2", "2024"))[["lower", "upper"]]) == (0.0, math.inf)
    assert alone["ok"].all()  # T2 (50 persons) is not primary: hiding it asks for nothing


def test_unpublished_level_still_links_tables(policy):
    # No table shows départements: the region (112) still bounds the EPTs. Other départements might
    # exist without EPTs, so only T2 <= 112 - T3 - T6 = 112 - 30 - 32 = 50 is known.
    frames = {k: f[f["periode"] == "2024"].reset_index(drop=True) for k, f in _frames().items() if k != "dep"}
    hidden = {k: f.copy() for k, f in frames.items()}
    hidden["ept"].loc[hidden["ept"]["ept"] == "T2", "n_personnes"] = None
    report = s.audit(frames, hidden, _linked("ept", "region"), policy)
    assert tuple(_row(report, ("T2", "2024"))[["lower", "upper"]]) == (0.0, 50.0)


def test_dominance_rule(tmp_path):
    df = pd.DataFrame({"ept": ["T2", "T3", "T6"], "periode": "2024", "n_personnes": [12, 30, 40],
                       "heures": [1000.0, 3000.0, 4000.0], "part_principal_contributeur": [0.95, 0.85, 0.30]})
    path = tmp_path / "p.yaml"
    path.write_text(POLICY_YAML.replace("heures: {kind: magnitude}",
                                        "heures: {kind: magnitude, dominance: part_principal_contributeur}"))
    policy = s.load_policy(path)
    model = s.build({"ept": df}, _linked("ept"), policy)
    cells = model.cells.set_index(["quantity", "territoire"])
    # T2: one contributor holds 95 % > 85 %: its hours are primary, not its 12 persons. T3 (exactly 85 %) is not.
    assert cells.loc[("heures", "T2"), "primary"] and not cells.loc[("n_personnes", "T2"), "primary"]
    assert not cells.loc[("heures", "T3"), "primary"]
    # Protection: 10 % below (100 h); above, enough that the top share may be 85 %: 1000 * (0.95 / 0.85 - 1).
    assert cells.loc[("heures", "T2"), "lower_level"] == pytest.approx(100.0)
    assert cells.loc[("heures", "T2"), "upper_level"] == pytest.approx(1000 * (0.95 / 0.85 - 1))  # 117.65
    published = s.protect({"ept": df}, _linked("ept"), policy).frames["ept"]
    assert published["secret_heures"].tolist() == [True, False, False]
    assert published["n_personnes"].tolist() == [12, 30, 40]
    assert "part_principal_contributeur" not in published.columns  # the share would reveal the rule


def test_public_measures_are_never_suppressed(policy):
    frames = _frames()
    published = s.protect(frames, _linked("ept", "dep", "region"), policy).frames
    for name, df in frames.items():
        pd.testing.assert_frame_equal(published[name][["n_marches", "montant"]], df[["n_marches", "montant"]])
        assert not {"secret_n_marches", "secret_montant"} & set(published[name].columns)
    row = published["ept"].set_index(["ept", "periode"]).loc[("T2", "2024-T2")]
    assert pd.isna(row["n_personnes"]) and pd.isna(row["heures"]) and (row["n_marches"], row["montant"]) == (
        3, 1000.0)


def test_audit_without_suppressed_cells_is_empty(policy):
    frames = _frames({"T2": [20, 13, 15, 12], "T3": [8, 9, 12, 11], "T6": [7, 6, 10, 9]})
    linked = _linked("ept", "dep", "region")
    protection = s.protect(frames, linked, policy)
    report = s.audit(frames, protection.frames, linked, policy)
    assert report.empty and list(report.columns) == s.AUDIT_COLUMNS
    assert s.summary(report, protection.frames, policy)["primary"].sum() == 0
    assert not any(df["secret"].any() for df in protection.frames.values())


def test_distinct_counts_only_bound_their_parts(tmp_path, policy):
    # Distinct persons: a person active in several quarters counts once in the year. The year (12) is at
    # most the sum of the quarters (21) and at least each of them.
    path = tmp_path / "p.yaml"
    path.write_text(POLICY_YAML.replace("n_personnes: {kind: count}", "n_personnes: {kind: count, additive: false}"))
    distinct = s.load_policy(path)
    df = pd.DataFrame({"ept": "T2", "periode": ["2024-T1", "2024-T2", "2024-T3", "2024-T4", "2024"],
                       "n_personnes": [3, 6, 5, 7, 12]})
    df = df.assign(heures=[30.0, 60.0, 50.0, 70.0, 210.0], n_marches=1, montant=1.0)
    hidden = df.assign(n_personnes=df["n_personnes"].where(df["n_personnes"] != 3),
                       heures=df["heures"].where(df["n_personnes"] != 3))
    report = s.audit({"ept": df}, {"ept": hidden}, _linked("ept"), distinct)
    # Q1 <= 12 and Q1 >= 12 - 18 (nothing): the year does not give it back.
    assert tuple(_row(report, ("T2", "2024-T1"))[["lower", "upper", "ok"]]) == (0.0, 12.0, True)
    # Hours add up: Q1 = 210 - 180 = 30.
    assert tuple(_row(report, ("T2", "2024-T1"), "heures")[["lower", "upper", "ok"]]) == (30.0, 30.0, False)
    # A larger year leaks a lower bound: Q1 >= 20 - (6 + 5 + 7) = 2: the attacker knows Q1 is not empty.
    big = df.assign(n_personnes=[3, 6, 5, 7, 20])
    leak = s.audit({"ept": big}, {"ept": hidden.assign(n_personnes=[None, 6, 5, 7, 20])}, _linked("ept"), distinct)
    assert tuple(_row(leak, ("T2", "2024-T1"))[["lower", "upper", "ok"]]) == (2.0, 20.0, False)
    # Declared additive, the same data breaks its own relation (12 != 21): refused, not silently wrong.
    with pytest.raises(ValueError, match="does not hold"):
        s.build({"ept": df}, _linked("ept"), policy)


def test_derived_figures_follow_their_sources(policy):
    tp = policy.tables["ept"]
    derived = s.Policy(tables={"ept": s.TablePolicy(sensitive=tp.sensitive, contributors="n_personnes",
                                                    public=tp.public, derived={"heures_par_personne":
                                                                               ("heures", "n_personnes")})})
    df = _frames()["ept"].pipe(lambda d: d.assign(heures_par_personne=d["heures"] / d["n_personnes"]))
    published = s.protect({"ept": df}, _linked("ept"), derived).frames["ept"].set_index(["ept", "periode"])
    assert published["heures_par_personne"].isna().tolist() == published["n_personnes"].isna().tolist()
    # A rate shown beside a hidden count gives the count back (hours / rate): the audit says so.
    leaky = _naive({"ept": df})["ept"].assign(heures_par_personne=df["heures_par_personne"])
    report = s.audit({"ept": df}, {"ept": leaky}, _linked("ept"), derived)
    assert set(report.loc[report["status"] == s.DERIVED, "key"]) == {("T2", "2024-T2"), ("T3", "2024-T3")}


def test_row_sums_link_columns(policy):
    # Outcomes of one row add up to its total: hiding one outcome alone is recoverable.
    df = pd.DataFrame({"annee": ["2024"], "n_sorties": [20], "emploi": [17], "autre": [3]})
    pol = s.Policy(tables={"sorties": s.TablePolicy(
        sensitive=(s.Measure("n_sorties"), s.Measure("emploi"), s.Measure("autre")), sums={"n_sorties": (
            "emploi", "autre")}, keys=("annee",))})
    linked = s.LinkedSet(dims={"periode": None}, tables=(s.Table("sorties", {"periode": "annee"}),))
    hidden = df.assign(autre=[None])
    report = s.audit({"sorties": df}, {"sorties": hidden}, linked, pol)
    assert tuple(_row(report, ("2024",), "autre")[["lower", "upper"]]) == (3.0, 3.0)
    published = s.protect({"sorties": df}, linked, pol).frames["sorties"]
    # "autre" is not small by itself (no contributors column): nothing to hide.
    assert not published["secret"].any()


def test_refusals(policy):
    frames = _frames()
    with pytest.raises(ValueError, match="neither sensitive nor public"):
        s.build({**frames, "ept": frames["ept"].assign(age_moyen=40)}, _linked("ept"), policy)
    wrong = frames["dep"].copy()
    wrong.loc[0, "n_personnes"] += 1  # 92 Q1 no longer T2 Q1 + T3 Q1
    with pytest.raises(ValueError, match="does not hold"):
        s.build({**frames, "dep": wrong}, _linked("ept", "dep"), policy)
    with pytest.raises(ValueError, match="several rows share a key"):
        s.build({"ept": pd.concat([frames["ept"]] * 2)}, _linked("ept"), policy)
    tp = policy.tables["ept"]
    dominance = s.Policy(tables={"ept": s.TablePolicy(
        sensitive=(tp.sensitive[0], s.Measure("heures", kind=s.MAGNITUDE, dominance="part_principal_contributeur")),
        contributors="n_personnes", public=tp.public)})
    with pytest.raises(ValueError, match="dominance share columns missing"):
        s.build({"ept": frames["ept"]}, _linked("ept"), dominance)


def _synthetic(seed: int = 3) -> tuple[dict[str, pd.DataFrame], s.LinkedSet, s.Policy]:
    """EPT x quarter x category, with every total, in three tables (EPT, département, region)."""
    rng = np.random.default_rng(seed)
    epts = {f"D{d}E{e}": f"D{d}" for d in range(3) for e in range(3)}
    terr = s.Hierarchy({**epts, **dict.fromkeys(set(epts.values()), "11")})
    leaf = pd.MultiIndex.from_product([list(epts), [f"2024-T{q}" for q in range(1, 5)], ["A", "B", "C"]],
                                      names=["ept", "periode", "cat"]).to_frame(index=False)
    leaf["n_personnes"] = rng.poisson(rng.gamma(1.0, 6.0, len(leaf)))
    leaf["heures"] = leaf["n_personnes"] * rng.uniform(20, 60, len(leaf)).round(1)
    frames, tables = {}, []
    for name, code in (("ept", leaf["ept"]), ("dep", leaf["ept"].map(epts)), ("region", "11")):
        parts = []
        for periode in (leaf["periode"], "2024"):
            for cat in (leaf["cat"], "TOUTES"):
                parts.append(leaf.assign(terr=code, periode=periode, cat=cat)
                             .groupby(["terr", "periode", "cat"], as_index=False)[["n_personnes", "heures"]].sum())
        frames[name] = pd.concat(parts, ignore_index=True).query("n_personnes > 0").reset_index(drop=True)
        tables.append(s.Table(name, {"territoire": "terr", "periode": "periode", "categorie": "cat"}))
    tp = s.TablePolicy(sensitive=(s.Measure("n_personnes"), s.Measure("heures", kind=s.MAGNITUDE)),
                       contributors="n_personnes")
    linked = s.LinkedSet({"territoire": terr, "periode": PERIODE, "categorie": s.Hierarchy(root="TOUTES")},
                         tuple(tables))
    return frames, linked, s.Policy(tables={t.name: tp for t in tables})


def test_synthetic_linked_set_is_protected():
    frames, linked, policy = _synthetic()
    assert not s.audit(frames, _naive(frames), linked, policy)["ok"].all()
    protection = s.protect(frames, linked, policy)
    report = s.audit(frames, protection.frames, linked, policy)
    assert report["ok"].all() and (report["status"] == s.PRIMARY).any()
    assert (s.summary(report, protection.frames, policy)["failed"] == 0).all()


# --- Views, unpublished tables, per-figure frequency rule, bounds, public rows ---------------------------

def _policy(tmp_path, text: str) -> s.Policy:
    path = tmp_path / "p.yaml"
    path.write_text(text, encoding="utf-8")
    return s.load_policy(path)


def test_views_of_a_long_table(tmp_path):
    # One table holds two breakdowns of the same 20 persons: by sex (F 3, H 17) and by age (-26: 8, 26+: 12).
    policy = _policy(tmp_path, """
tables:
  benef:
    keys: [annee, dimension, valeur]
    contributors: n
    sensitive: {n: {kind: count, additive: [sexe, age]}}
""")
    df = pd.DataFrame({"annee": 2024, "dimension": ["ensemble", "sexe", "sexe", "age", "age"],
                       "valeur": ["TOTAL", "F", "H", "-26", "26+"], "n": [20, 3, 17, 8, 12]})
    root = s.Hierarchy(root="TOTAL")
    views = [s.Table("benef", {"periode": "annee"}, where={"dimension": ("ensemble",)}),
             *[s.Table("benef", {"periode": "annee", d: "valeur"}, where={"dimension": (d,)}) for d in ("sexe", "age")]]
    linked = s.LinkedSet({"periode": None, "sexe": root, "age": root}, tuple(views))
    naive = df.assign(n=df["n"].where(df["valeur"] != "F"))
    # F = 20 - 17: given back exactly.
    row = _row(s.audit({"benef": df}, {"benef": naive}, linked, policy), (2024, "sexe", "F"), "n")
    assert (row["lower"], row["upper"], row["ok"]) == (3.0, 3.0, False)
    published = s.protect({"benef": df}, linked, policy).frames["benef"]
    # H (17) is cheaper to hide than the total (20); then F + H = 20: F anywhere in [0, 20], 8 wide needed.
    assert published["secret_n"].tolist() == [False, True, True, False, False]
    assert s.audit({"benef": df}, {"benef": published}, linked, policy)["ok"].all()
    # A row no view covers would be published unprotected: refused.
    with pytest.raises(ValueError, match="no view of the linked set covers"):
        s.build({"benef": pd.concat([df, df.tail(1).assign(dimension="diplome")])}, linked, policy)


STRADDLE_YAML = """
tables:
  dep: &t
    keys: [departement]
    contributors: n
    sensitive: {n: {kind: count}}
  ept:
    <<: *t
    keys: [ept]
  dep_ept:
    <<: *t
    keys: [departement, ept]
"""


def test_an_unpublished_crossing_is_protected_and_never_published(tmp_path):
    # EPT T12 straddles départements 91 and 94. Published: persons by département (91: 43, 94: 55) and by
    # EPT (HORS_EPT: 40, T12: 33, T10: 25). Not published, but computable: 91 ∩ T12 = 91 - HORS_EPT = 43 - 40 = 3
    # (HORS_EPT lies in 91 only here).
    policy = _policy(tmp_path, STRADDLE_YAML)
    cross = pd.DataFrame({"departement": ["91", "91", "94", "94"], "ept": ["HORS_EPT", "T12", "T12", "T10"],
                          "n": [40, 3, 30, 25]})
    frames = {"dep": cross.groupby("departement", as_index=False)["n"].sum(),
              "ept": cross.groupby("ept", as_index=False)["n"].sum(), "dep_ept": cross}
    root = s.Hierarchy(root="TOTAL")
    linked = s.LinkedSet({"departement": root, "ept": root}, (
        s.Table("dep", {"departement": "departement"}), s.Table("ept", {"ept": "ept"}),
        s.Table("dep_ept", {"departement": "departement", "ept": "ept"}, published=False)))
    shown = {k: frames[k] for k in ("dep", "ept")}
    row = _row(s.audit(frames, shown, linked, policy), ("91", "T12"), "n")
    assert (row["status"], row["lower"], row["upper"], row["ok"]) == (s.PRIMARY, 3.0, 3.0, False)
    protection = s.protect(frames, linked, policy)
    assert set(protection.frames) == {"dep", "ept"}  # the crossing is never published
    # Moving 91 ∩ T12 by 5 with the départements fixed: HORS_EPT moves against it (cost 41 per unit) and
    # 94 ∩ T12 against it, so T10 too (cost 26): 335 for 5, cheaper than any change of 91, 94 or T12.
    ept = protection.frames["ept"].set_index("ept")
    assert ept.index[ept["secret_n"]].tolist() == ["HORS_EPT", "T10"]
    assert not protection.frames["dep"]["secret"].any()
    report = s.audit(frames, protection.frames, linked, policy)
    assert report["ok"].all()
    # x = 91 ∩ T12: HORS_EPT = 43 - x >= 0, 94 ∩ T12 = 33 - x >= 0, T10 = 55 - (33 - x) >= 0: x in [0, 33].
    assert tuple(_row(report, ("91", "T12"), "n")[["lower", "upper"]]) == (0.0, 33.0)


def test_outcomes_counted_on_their_own_and_bounded_by_their_total(tmp_path):
    # 20 exits: 2 to a durable job (a figure about 2 persons), 10 transition jobs, 5 positive exits; the 3
    # others are not published, so the total only bounds the outcomes.
    policy = _policy(tmp_path, """
tables:
  sorties:
    keys: [annee]
    contributors: n_sorties
    sensitive:
      n_sorties: {kind: count}
      durable: {kind: count, frequency: true}
      transition: {kind: count, frequency: true}
      positive: {kind: count, frequency: true}
    bounds: {n_sorties: [durable, transition, positive]}
    derived: {taux_durable: [durable, n_sorties], taux_dynamique: [durable, transition, positive, n_sorties]}
""")
    df = pd.DataFrame({"annee": [2024], "n_sorties": [20], "durable": [2], "transition": [10], "positive": [5]})
    df = df.assign(taux_durable=df["durable"] / 20, taux_dynamique=17 / 20)
    linked = s.LinkedSet({"periode": None}, (s.Table("sorties", {"periode": "annee"}),))
    naive = df.assign(durable=[None], taux_durable=[None], taux_dynamique=[None])
    # durable <= 20 - 10 - 5 = 5, but it must stay compatible with 2 + 5 = 7.
    row = _row(s.audit({"sorties": df}, {"sorties": naive}, linked, policy), (2024,), "durable")
    assert (row["lower"], row["upper"], row["need_upper"], row["ok"]) == (0.0, 5.0, 7.0, False)
    published = s.protect({"sorties": df}, linked, policy).frames["sorties"].iloc[0]
    # Hiding the positive exits (5, the cheapest) leaves durable + positive <= 10: durable up to 10.
    hidden = [c for c in ("n_sorties", "durable", "transition", "positive", "taux_durable", "taux_dynamique")
              if published[f"secret_{c}"]]
    assert hidden == ["durable", "positive", "taux_durable", "taux_dynamique"]
    assert published["n_sorties"] == 20 and published["transition"] == 10


def test_public_rows_and_unpublished_columns(tmp_path):
    policy = _policy(tmp_path, """
tables:
  structures:
    keys: [indicateur, annee]
    contributors: population
    public_rows: {indicateur: [presence]}
    sensitive: {population: {kind: count}}
    derived: {valeur: [population]}
    unpublished: [brouillon]
""")
    df = pd.DataFrame({"indicateur": ["presence", "part_heures", "part_heures"], "annee": [2024, 2024, 2025],
                       "population": [3, 3, 40], "valeur": [3.0, 0.4, 0.5], "brouillon": 1})
    linked = s.LinkedSet({"periode": None}, (s.Table("structures", {"periode": "annee"},
                                                     where={"indicateur": ("part_heures",)}),))
    published = s.protect({"structures": df}, linked, policy).frames["structures"]
    # 3 registered structures (a public register) stay; 3 persons do not, nor the share computed on them.
    assert published["population"].tolist()[0] == 3 and pd.isna(published["population"][1])
    assert published["valeur"].isna().tolist() == [False, True, False]
    assert "brouillon" not in published.columns


def test_a_quantity_is_declared_one_way(tmp_path):
    with pytest.raises(ValueError, match="declared differently"):
        _policy(tmp_path, """
tables:
  a: {keys: [k], sensitive: {n: {kind: count}}}
  b: {keys: [k], sensitive: {n: {kind: count, additive: false}}}
""")


def test_components_link_the_columns_a_relation_holds_and_scale_with_the_relations_size():
    from scipy import sparse

    # rows: a + b = total (0, 1, 2); c alone (3); d - e = 0 (4, 5); an empty row; column 6 in no relation
    a = sparse.csr_array(np.array([[1.0, 1.0, -1.0, 0, 0, 0, 0], [0, 0, 0, 2.0, 0, 0, 0],
                                   [0, 0, 0, 0, 1.0, -1.0, 0], [0, 0, 0, 0, 0, 0, 0]]))
    assert s._components(a, 7).tolist() == [0, 0, 0, 1, 2, 2, 3]
    # one total over 200,000 cells: the column-by-column product would need ~320 GB (at 1M it asked for 29.3 GiB)
    n = 200_000
    total = sparse.csr_array((np.ones(n), (np.zeros(n, dtype=int), np.arange(n))), shape=(1, n))
    labels = s._components(total, n)
    assert len(labels) == n and set(labels.tolist()) == {0}


def test_joint_witnesses_for_components_with_many_needs(policy):
    # ``joint_above`` = 0: every component goes the joint way (the extended DECP at 1M contracts has 136,629
    # primary cells in two components; one LP per need did not finish). One table moving both primaries up
    # (T2 Q2 and T3 Q3 by 5 persons) and one moving both down (-3 and -2) need the same cells as one LP per
    # need (test above): the down move is not a rectangle (-3 and -2), so a third quarter (Q4, cheapest).
    joint = dataclasses.replace(policy, joint_above=0)
    frames, linked = _frames(), _linked("ept", "dep", "region")
    one_by_one = s.protect(frames, linked, policy).figures
    together = s.protect(frames, linked, joint).figures
    hidden = lambda f: set(f.dropna(subset=["status"])[["table", "column", "key", "status"]].itertuples(index=False))  # noqa: E731
    assert hidden(together) == hidden(one_by_one) and len(hidden(together)) == 10
    # The audit's joint path: both tables exist, so every primary reaches its needs (T2 Q2 persons: 3 - 3 and
    # 3 + 5 = 8), inside the exact interval [0, 12] of the per-target LPs.
    report = s.audit(frames, s.protect(frames, linked, joint).frames, linked, joint)
    assert report["ok"].all()
    lower, upper = _row(report, ("T2", "2024-T2"))[["lower", "upper"]]
    assert 0.0 <= lower <= 1e-5 and 8.0 - 1e-5 <= upper <= 12.0 + 1e-5  # (within the audit's tolerance)
    # Primary suppression only: no table reaches the needs jointly, the per-target LPs say why (T2 Q2 = 3).
    naive = s.audit(frames, _naive(frames), linked, joint)
    assert not naive["ok"].all()
    assert tuple(_row(naive, ("T2", "2024-T2"))[["lower", "upper"]]) == pytest.approx((3.0, 3.0))


def test_intervals_when_rounded_totals_cannot_meet_exactly():
    # A latent region total R = EPT A + EPT B = modality M1 + modality M2 (all four published, rounded to
    # 6 decimals as gold does): 10.000001 + 20 = 30.000001 but 15 + 15.000002 = 30.000002, so no table meets
    # both exactly (at 1M contracts: 209,854,098.42 vs 209,854,098.419998 h; every LP was infeasible). A hidden
    # cell C <= R is then bounded within the relations' rounding bands: [0, ~30], not unknown (NaN).
    cells = pd.DataFrame({"value": [np.nan, 10.000001, 20.0, 15.0, 15.000002, 4.0],
                          "latent": [True, False, False, False, False, False]})
    eq = s.sparse.csr_array(np.array([[-1.0, 1, 1, 0, 0, 0], [-1.0, 0, 0, 1, 1, 0]]))
    ub = s.sparse.csr_array(np.array([[-1.0, 0, 0, 0, 0, 1]]))
    model = s.Model(cells, pd.DataFrame(), eq, ub)
    unknown = np.array([True, False, False, False, False, True])
    lower, upper = s.intervals(model, unknown, [5])[5]
    assert lower == pytest.approx(0.0, abs=1e-9) and upper == pytest.approx(30.0, abs=1e-5)
