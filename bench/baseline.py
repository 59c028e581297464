"""The single-node baseline: DuckDB computes gold indicators straight from the generated raw files.

One SQL script per indicator family (``bench/sql/<family>.sql``); each leaves ``result_<gold table>``
tables that ``compare`` checks against the pipeline's gold tables.
"""

from __future__ import annotations

import json
import shutil
import time
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import duckdb
import pandas as pd
from duckdb.sqltypes import VARCHAR

from jobs.core.privacy import birth_date_iso, person_link_key
from jobs.core.settings import Settings
from jobs.gold.indicators import GP_OBJECTIVE_TOLERANCE_HOURS, OUTCOME_CODES
from jobs.ingest.decp_records import parse_document
from jobs.publish.secrecy import key_text
from jobs.silver.decp_normalize import normalize_titulaires
from schemas import rules
from schemas.referential import REFERENTIAL_DIR, mapping

SQL_DIR = Path(__file__).parent / "sql"
# gold table -> (key columns, value columns) compared; doubles within 1e-9 relative (Spark and DuckDB
# add in different orders; both round to 6 decimals).
COMPARED = {
    "marches_par_mois_departement": (["mois", "departement", "consideration_sociale"],
                                     ["nb_marches", "montant_total", "nb_marches_montant_exclu"]),
    "part_marches_consideration_sociale": (["annee"], ["n_marches", "n_marches_consideration_sociale", "montant",
                                                       "montant_consideration_sociale"]),
    "heures_insertion_par_mois": (["mois"], ["heures_realisees"]),
    "heures_insertion": (["mois", "departement", "ept", "modalite_code", "type_marche_code", "categorie_acheteur",
                          "grand_projet"], ["heures_realisees", "n_personnes", "n_contrats", "heures_objectif",
                                            "n_operations"]),
    "charte_grand_paris": (["maitre_ouvrage", "operation", "programme"],
                           ["n_marches", "montant_ht", "heures_travaillees_prevues", "heures_insertion_objectif",
                            "heures_insertion_objectif_charte", "heures_insertion_objectif_declare",
                            "n_marches_objectif_ecart", "n_marches_objectif_sous_charte",
                            "n_marches_objectif_declare_seul", "n_marches_sans_objectif", "heures_realisees",
                            "n_personnes", "montant_tpe_pme"]),
    "contrats_insertion_par_type": (["annee", "type_contrat", "modalite_realisation"], ["n_contrats", "n_personnes"]),
    "structures_inclusion": (["indicateur", "annee", "departement", "famille", "type_structure"],
                             ["valeur", "population"]),
    "sorties_6_mois": (["annee"], ["n_sorties", "n_reponses", "non_reponse", *(o.lower() for o in OUTCOME_CODES)]),
    "beneficiaires": (["annee", "dimension", "valeur"], ["n_personnes"]),
    "marches_clauses": (["annee", "type_marche", "procedure", "categorie_acheteur", "departement",
                         "consideration_sociale"], ["n_marches", "montant", "n_marches_montant_exclu"]),
}
FAMILIES = {"marches": ["marches_par_mois_departement", "part_marches_consideration_sociale", "marches_clauses"],
            "heures": ["heures_insertion_par_mois", "heures_insertion", "charte_grand_paris",
                       "contrats_insertion_par_type", "structures_inclusion", "sorties_6_mois",
                       "beneficiaires"]}


@dataclass
class BaselineResult:
    seconds: float
    seconds_per_family: dict[str, float]
    tables: dict[str, pd.DataFrame]


def xml_to_jsonl(inbox: Path, out: Path) -> int:
    """DuckDB reads no XML: the XML DECP files' records as JSON lines, by the pipeline's own parser."""
    n = 0
    with out.open("w", encoding="utf-8") as f:
        for path in sorted((inbox / "decp").glob("*.xml")):
            for rec in parse_document(path.read_bytes()):
                f.write(json.dumps({"decp_format": rec.decp_format, "rec": rec.record_json}, ensure_ascii=False) + "\n")
                n += 1
    return n


GRAND_PARIS_COLUMNS = ("maitre_ouvrage", "operation", "programme", "acheteur_siret", "marche_id",
                       "titulaire_siret", "montant_ht", "date_notification", "heures_travaillees_prevues",
                       "heures_insertion_objectif", "montant_tpe_pme")
STRUCTURES_COLUMNS = ("siret", "type_structure", "departement")


def source_csv(folder: Path, source: str, entity: str, columns: tuple[str, ...], out: Path) -> int:
    """DuckDB reads no XLSX: a source's files (CSV or XLSX, each its own dialect and headers) as one UTF-8 CSV
    with the file's name and line, rows read by the pipeline's own reader and columns found by the source
    contract's header mapping (synonyms), as bronze finds them."""
    import csv

    from jobs.ingest.tabular import TabularFile
    from schemas.sources import source_contract

    contract = source_contract(source)
    n = 0
    with out.open("w", encoding="utf-8", newline="") as f:
        w = csv.writer(f)
        w.writerow(["fichier", "ligne", *columns])
        for path in sorted(folder.glob("*")):
            rows = TabularFile(lambda path=path: path.open("rb")).rows()
            headers = [h or "" for h in next(rows, [])]
            at = {c.name: i for i, c in contract.header_map(contract.entities[entity], headers, None)[0].items()}
            for line, row in enumerate(rows):
                w.writerow([path.name, line, *(row[at[c]] if c in at and at[c] < len(row) else None for c in columns)])
                n += 1
    return n


def facilitators_view(inbox: Path, work: Path) -> Path:
    """The facilitators' exports as DuckDB reads them: links to every file, plus a header-only file for each
    (facilitator, entity) the SQL reads that has none (a glob matching nothing is an error in DuckDB)."""
    from generator.core import DIALECTS

    view = work / "facilitateurs"
    shutil.rmtree(view, ignore_errors=True)
    view.mkdir(parents=True)
    for f in sorted((inbox / "facilitateurs").glob("*.csv")):
        (view / f.name).symlink_to(f.resolve())
    for fac, (_, delimiter, *_rest) in DIALECTS.items():
        for entity in ("operations", "contrats", "heures", "participants", "sorties"):
            if not list(view.glob(f"{fac}_{entity}_*.csv")):
                (view / f"{fac}_{entity}_vide.csv").write_text(delimiter.join(["x", "y"]) + "\n", encoding="utf-8")
    return view


def sql_params() -> dict[str, str]:
    settings = Settings.from_env()
    """Parameters of the SQL that come from the project itself: the referential folder and the amount rules
    (``schemas/rules.py``), so the baseline re-implements the rules without copying their values."""
    return {"referential": str(REFERENTIAL_DIR),
            "montant_min": repr(rules.MONTANT_MIN_EUR), "montant_max": repr(rules.MONTANT_MAX_EUR),
            "placeholder_prefixes": ", ".join(f"'{p}'" for p in rules.MONTANT_PLACEHOLDER_PREFIXES),
            "repeated_digits": str(rules.MONTANT_REPEATED_DIGITS),
            "repeated_run_above": repr(rules.MONTANT_REPEATED_RUN_ABOVE_EUR),
            "objective_tolerance": repr(GP_OBJECTIVE_TOLERANCE_HOURS),
            "window_lo": str(settings.outcome_window_months[0]), "window_hi": str(settings.outcome_window_months[1]),
            "target": str(settings.outcome_months),
            "outcome_counts": ",\n       ".join(f"count(*) FILTER (WHERE sortie = '{o}') AS {o.lower()}"
                                               for o in OUTCOME_CODES)}


def run_baseline(inbox: Path, work: Path, today: date, families: tuple[str, ...] = tuple(FAMILIES),
                 threads: int = 2) -> BaselineResult:
    work.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    per_family: dict[str, float] = {}
    t0 = time.perf_counter()
    xml_jsonl = work / "decp_xml.jsonl"
    xml_to_jsonl(inbox, xml_jsonl)
    per_family["xml_to_json"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    grand_paris, structures = work / "grand_paris.csv", work / "structures.csv"
    source_csv(inbox / "grand_paris", "grand_paris", "contrats", GRAND_PARIS_COLUMNS, grand_paris)
    source_csv(inbox / "structures", "structures", "structures", STRUCTURES_COLUMNS, structures)
    per_family["xlsx_to_csv"] = time.perf_counter() - t0
    con = duckdb.connect(config={"threads": threads})
    con.execute("SET enable_progress_bar = false")
    # Labels are matched by the referential's own matcher (one normaliser, decision 121), not re-implemented.
    con.create_function("code_of", lambda name, label: mapping(name).canonical(label), [VARCHAR, VARCHAR], VARCHAR,
                        null_handling="special")
    con.create_function("birth_iso", lambda born: birth_date_iso(born, today), [VARCHAR], VARCHAR,
                        null_handling="special")
    # Titulaires (many shapes) as the project's normaliser reads them: their identifiers, in order.
    con.create_function("titulaire_ids", lambda block: json.dumps(
        [t["id"] for t in normalize_titulaires(json.loads(block))[0]] if block else []), [VARCHAR], VARCHAR,
                        null_handling="special")
    # Persons are linked across facilitators by the project's own key; which persons are one does not depend
    # on the HMAC key (zeros here).
    con.create_function("person_of", lambda last, first, born: person_link_key(bytes(32), last, first,
                                                                               birth_date_iso(born, today)),
                        [VARCHAR, VARCHAR, VARCHAR], VARCHAR, null_handling="special")
    exports = facilitators_view(inbox, work) if "heures" in families else inbox / "facilitateurs"
    params = {"decp_json": str(inbox / "decp" / "*.json"), "decp_xml_jsonl": str(xml_jsonl),
              "today": today.isoformat(), "facilitateurs": str(exports), "sirene": str(inbox / "sirene"),
              "grand_paris": str(grand_paris), "structures": str(structures),
              **sql_params()}
    tables: dict[str, pd.DataFrame] = {}
    for family in families:
        t0 = time.perf_counter()
        sql = (SQL_DIR / f"{family}.sql").read_text(encoding="utf-8")
        for key, value in params.items():
            sql = sql.replace("{" + key + "}", value)
        con.execute(sql)
        for table in FAMILIES[family]:
            tables[table] = con.execute(f"SELECT * FROM result_{table}").df()
        per_family[family] = time.perf_counter() - t0
    con.close()
    return BaselineResult(time.perf_counter() - started, per_family, tables)


def _normalise(df: pd.DataFrame, keys: list[str], values: list[str]) -> pd.DataFrame:
    out = df[keys + values].copy()
    for k in keys:
        out[k] = out[k].map(key_text)  # the audit's: 2023 = 2023.0, a date = its timestamp
    return out.sort_values(keys).reset_index(drop=True)


def compare(baseline: pd.DataFrame, gold: pd.DataFrame, table: str) -> dict:
    """Cells missing on either side and cells whose values differ (empty lists = equal)."""
    keys, values = COMPARED[table]
    b, g = _normalise(baseline, keys, values), _normalise(gold, keys, values)
    merged = b.merge(g, on=keys, how="outer", suffixes=("_baseline", "_gold"), indicator=True)
    only_baseline = merged[merged["_merge"] == "left_only"][keys].to_dict("records")
    only_gold = merged[merged["_merge"] == "right_only"][keys].to_dict("records")
    both = merged[merged["_merge"] == "both"]
    differ = []
    for v in values:
        x, y = both[f"{v}_baseline"].astype(float), both[f"{v}_gold"].astype(float)
        bad = (x - y).abs() > 1e-9 * y.abs().clip(lower=1.0)
        differ += both[bad][[*keys, f"{v}_baseline", f"{v}_gold"]].to_dict("records")
    return {"table": table, "cells_baseline": len(b), "cells_gold": len(g), "only_baseline": only_baseline[:20],
            "only_gold": only_gold[:20], "differ": differ[:20],
            "equal": not only_baseline and not only_gold and not differ}


def gold_frames(spark, settings, tables: list[str]) -> dict[str, pd.DataFrame]:
    """The pipeline's gold tables (Delta, read by the run's Spark session), in the baseline's shapes."""
    from pyspark.sql import functions as F

    read = lambda name: spark.read.format("delta").load(settings.table_uri(f"gold/{name}"))  # noqa: E731
    out = {}
    for table in tables:
        if table == "heures_insertion_par_mois":
            # Gold cells summed over every dimension but the month; months with targeted hours only
            # (objectives spread into the future) have no realised hours and no baseline row.
            out[table] = read("heures_insertion").groupBy("mois").agg(
                F.round(F.sum("heures_realisees"), 6).alias("heures_realisees")).filter(
                F.col("heures_realisees") != 0).toPandas()
        else:
            out[table] = read(table).toPandas()
    return out
