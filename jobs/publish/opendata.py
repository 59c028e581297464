"""Open data: the gold indicators and the extended DECP as CSV, Parquet and JSON with Table Schemas.

``write_opendata`` writes the tables as protected by the publication (``jobs/publish/publication.py``: one
protection for every published table, ``jobs/publish/secrecy.py``) and a Frictionless ``datapackage.json`` into
``<output>/opendata/``; ``publish_to_public_zone`` copies them, once the disclosure audit has passed, to the
public zone of the lake (``<lake>/public/opendata/``), the only zone open to anonymous readers.

The extended DECP holds the contracts as published (official 2022 schema, ``schemas/schema_decp_v2.0.3.json``:
the JSON file validates against it) plus the observatory's enrichment, kept apart: ``observatoire_*`` columns
in CSV and Parquet, a top-level ``observatoire`` object in JSON.
"""

from __future__ import annotations

import copy
import json
import math
import time
from collections.abc import Iterable
from datetime import UTC, date, datetime
from functools import cache
from pathlib import Path
from typing import Any

import pandas as pd
from pyspark.sql import functions as F

from jobs.core.settings import PROJECT_ROOT, Settings
from jobs.core.storage import ObjectStore
from jobs.gold import indicators as gi
from jobs.gold import published as gp
from jobs.gold.marches import GOLD_TABLE as MARCHES_MOIS
from jobs.gold.marches import consideration_categories
from jobs.publish import secrecy
from jobs.silver.decp_normalize import unflatten
from schemas import referential as ref

OFFICIAL_SCHEMA = PROJECT_ROOT / "schemas" / "schema_decp_v2.0.3.json"
OFFICIAL_SCHEMA_URL = ("https://schema.data.gouv.fr/schemas/139bercy/format-commun-DECP/2.0.3/"
                       "marches.json")
DECP_NAME = "decp_etendu"
LICENCE = {"name": "etalab-2.0", "path": "https://www.etalab.gouv.fr/licence-ouverte-open-licence/",
           "title": "Licence Ouverte / Open Licence version 2.0"}
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")
SOCIAL = ref.social_considerations()
# DECP code lists of the referential whose variants take the official spelling in the extended DECP.
DECP_CODE_LISTS = ("nature", "procedure", "lieuExecution.typeCode", "considerationSociale",
                   "considerationEnvironnementale", "typeIdentifiant", "formePrix")

# The gold tables published as open data (each with its entry in schemas/disclosure.yaml). Not published: the
# fine gold/heures_insertion (month × département × EPT × modality × market type × buyer category × Grand
# Paris: most cells hold 1 to 4 persons) and gold/heures_insertion_ept (by year: half secret on the demo);
# their figures are published at the grains of jobs/gold/published.py.
TABLES = (MARCHES_MOIS, gi.MARCHES_CLAUSES, gi.PART_CLAUSES, gi.FICHES_ACHETEURS, gi.FICHES_TERRITOIRES, gi.CHARTE_GP,
          gi.BENEFICIAIRES, gi.CONTRATS_TYPE, gi.SORTIES, gi.STRUCTURES, *gp.PUBLISHED)
SECRET = secrecy.SECRET


# --- CSV safety ------------------------------------------------------------------------------------------

def neutralize(value: Any) -> Any:
    """A text value a spreadsheet would run as a formula gets a leading apostrophe (OWASP CSV injection);
    anything that is not text (numbers, including negative ones) is returned unchanged."""
    if isinstance(value, str) and value.startswith(FORMULA_PREFIXES):
        return "'" + value
    return value


def neutralize_frame(df: pd.DataFrame) -> pd.DataFrame:
    """Every text column neutralised; numeric, boolean and date columns untouched."""
    out = df.copy()
    for c in out.columns:
        if out[c].dtype == object:
            out[c] = out[c].map(neutralize)
    return out


# --- Table Schema -----------------------------------------------------------------------------------------

def _field_type(series: pd.Series) -> str:
    if pd.api.types.is_bool_dtype(series):
        return "boolean"
    if pd.api.types.is_integer_dtype(series):
        return "integer"
    if pd.api.types.is_float_dtype(series):
        return "number"
    values = [v for v in series if v is not None and not (isinstance(v, float) and math.isnan(v))]
    if values and all(isinstance(v, bool) for v in values):
        return "boolean"
    if values and all(isinstance(v, date) and not isinstance(v, datetime) for v in values):
        return "date"
    if values and all(isinstance(v, int) and not isinstance(v, bool) for v in values):
        return "integer"
    return "string"


def table_schema(df: pd.DataFrame, dims: Iterable[str] = (), descriptions: dict[str, str] | None = None,
                 types: dict[str, str] | None = None) -> dict:
    """A Table Schema for a frame: types from the data; dimensions without nulls form the primary key."""
    descriptions, types = descriptions or {}, types or {}
    fields = []
    for c in df.columns:
        f = {"name": c, "type": types.get(c) or _field_type(df[c])}
        if c in descriptions:
            f["description"] = descriptions[c]
        if (c in dims and not df[c].isna().any()) or c == SECRET or c.startswith(f"{SECRET}_"):
            f["constraints"] = {"required": True}
        fields.append(f)
    schema = {"fields": fields, "missingValues": [""]}
    keys = [d for d in dims if d in df.columns]
    if keys and not df[keys].isna().any().any() and not df.duplicated(keys).any():
        schema["primaryKey"] = keys
    return schema


def _jsonable(v: Any) -> Any:
    if v is None or v is pd.NA or (isinstance(v, float) and math.isnan(v)):
        return None
    if isinstance(v, datetime):
        return v.isoformat()
    if isinstance(v, date):
        return v.isoformat()
    if hasattr(v, "item"):  # numpy scalars
        return v.item()
    return v


def records(df: pd.DataFrame) -> list[dict]:
    return [{k: _jsonable(v) for k, v in row.items()} for row in df.to_dict("records")]


def write_table_files(df: pd.DataFrame, folder: Path, name: str) -> dict[str, Path]:
    """``name``.csv (UTF-8, formulas neutralised), .parquet and .json (array of objects) of one table."""
    folder.mkdir(parents=True, exist_ok=True)
    paths = {"csv": folder / f"{name}.csv", "parquet": folder / f"{name}.parquet", "json": folder / f"{name}.json"}
    flat = df.copy()
    for c in flat.columns:  # dates as ISO text; numeric dtypes kept (nullable integers stay integers)
        if flat[c].dtype == object:
            flat[c] = flat[c].map(_jsonable)
    neutralize_frame(flat).to_csv(paths["csv"], index=False, encoding="utf-8", lineterminator="\n")
    df.to_parquet(paths["parquet"], index=False)
    paths["json"].write_text(json.dumps(records(df), ensure_ascii=False), encoding="utf-8")
    return paths


# --- Extended DECP ------------------------------------------------------------------------------------------

@cache
def official_schema() -> dict:
    return json.loads(OFFICIAL_SCHEMA.read_text(encoding="utf-8"))


def _resolve(node: dict) -> dict:
    root = official_schema()
    while "$ref" in node:
        target = root
        for part in node["$ref"].lstrip("#/").split("/"):
            target = target[part]
        node = {**{k: v for k, v in node.items() if k != "$ref"}, **target}
    return node


_TRUE, _FALSE = {"true", "1", "oui", "vrai"}, {"false", "0", "non", "faux"}


def _fold(text: str) -> str:
    import unicodedata

    return " ".join(unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode().casefold().split())


def _wrapper(node: dict) -> str | None:
    """The key of a one-key wrapper object of the 2022 format (``{"titulaire": {...}}``), if ``node`` is one."""
    props, required = node.get("properties", {}), node.get("required", [])
    return required[0] if len(props) == 1 and required == list(props) else None


def conform(value: Any, node: dict) -> Any:
    """A published value in the official schema's shapes and types, without inventing anything: numbers and
    booleans published as text (XML, some platforms) are typed, an enum value differing only by case or
    accents takes the official spelling, a lone item of a list is wrapped, XML-style lists of wrappers are
    merged, empty blocks dropped, keys outside the schema dropped. A value that cannot be typed is kept as
    is (and fails validation)."""
    node = _resolve(node)
    # The 2022 schema's wrappers (``TitulaireArray``: {"titulaire": ...}) declare properties but no type:
    # they are objects, and what they wrap is conformed too.
    kind = node.get("type") or ("object" if "properties" in node else None)
    if kind == "object" and isinstance(value, list):  # XML: [{"technique": a}, {"technique": b}]
        key = _wrapper(node)
        if key and all(isinstance(v, dict) and set(v) == {key} for v in value):
            value = {key: [x for v in value for x in (v[key] if isinstance(v[key], list) else [v[key]])]}
    if kind == "object" and isinstance(value, dict):
        props = node.get("properties", {})
        return {k: conform(v, props[k]) for k, v in value.items() if k in props and v is not None}
    if kind == "array":
        item_node = _resolve(node.get("items", {}))
        items, stack = [], list(reversed(value)) if isinstance(value, list) else [value]
        while stack:  # lists of objects nested in lists (up to 4 levels in real files) are one list
            v = stack.pop()
            if isinstance(v, list) and "properties" in item_node:
                stack.extend(reversed(v))
            elif v != {}:
                items.append(v)
        key = _wrapper(item_node)
        if key:  # a titulaire published without its wrapper
            items = [{key: v} if isinstance(v, dict) and key not in v else v for v in items]
        return [conform(v, item_node) for v in items]
    if isinstance(value, str) and "enum" in node and value not in node["enum"]:
        match = [e for e in node["enum"] if isinstance(e, str) and _fold(e) == _fold(value)]
        if len(match) == 1:
            return match[0]
        # A variant the referential knows (``TVA-intracommunautaire`` -> ``TVA``, ``HORS_UE`` -> ``HORS-UE``):
        # without this, a contract held by a foreign company was left out of the extended DECP.
        known = {c for name in DECP_CODE_LISTS if (c := ref.code_list(name).canonical(value)) in node["enum"]}
        return known.pop() if len(known) == 1 else value
    if kind == "boolean" and isinstance(value, str) and value.strip().lower() in _TRUE | _FALSE:
        return value.strip().lower() in _TRUE
    if kind in ("integer", "number") and isinstance(value, str):
        try:
            value = float(value.strip().replace(",", "."))
        except ValueError:
            return value
    if kind == "integer" and isinstance(value, float) and value.is_integer():
        return int(value)
    if kind == "number" and isinstance(value, float) and value.is_integer():
        return int(value) if abs(value) < 2**53 else value
    if kind == "string" and isinstance(value, int | float) and not isinstance(value, bool):
        return str(int(value)) if float(value).is_integer() else str(value)
    return value


def official_record(record_json: str) -> dict:
    """The record as published, in the shape and types of the official 2022 schema."""
    raw = unflatten(json.loads(record_json))
    return conform(raw, official_schema()["definitions"]["marche"])


@cache
def marche_validator():
    from jsonschema import Draft7Validator

    schema = official_schema()
    Draft7Validator.check_schema(schema)
    return Draft7Validator({**schema, "$ref": "#/definitions/marche"})


@cache
def _compiled(ref: str) -> Any:
    """The official schema compiled to Python by fastjsonschema (about 15× faster than jsonschema here:
    at 1M contracts validation was most of the publish stage; bench, issue 8). Same rules as ``jsonschema``
    without a format checker: no format checks, no defaults written into the data."""
    import fastjsonschema

    schema = copy.deepcopy(official_schema())  # the compiler rewrites the references of what it is given
    return fastjsonschema.compile({**schema, "$ref": ref} if ref else schema, use_formats=False, use_default=False,
                                  detailed_exceptions=False)


def _passes(ref: str, value: Any) -> bool:
    from fastjsonschema import JsonSchemaException

    try:
        _compiled(ref)(value)
    except JsonSchemaException:
        return False
    return True


def record_errors(record: dict) -> list[str]:
    """Readable errors of a record; the fast validator clears the valid ones, jsonschema words the others."""
    if _passes("#/definitions/marche", record):
        return []
    return [f"{'/'.join(map(str, e.absolute_path)) or '(marché)'}: {e.message}"[:300]
            for e in marche_validator().iter_errors(record)]


def validate_decp_document(doc: dict) -> list[str]:
    """Errors of a whole ``{"marches": {"marche": [...]}}`` document against the official schema."""
    from jsonschema import Draft7Validator

    if _passes("", doc):
        return []
    return [e.message[:300] for e in Draft7Validator(official_schema()).iter_errors(doc)]


def _items(value: Any, wrapper: str) -> list:
    if not value:
        return []
    return [v[wrapper] if isinstance(v, dict) and wrapper in v else v for v in value]


DECP_ARRAY_COLUMNS = ("techniques", "modalitesExecution", "typesPrix", "considerationsSociales",
                      "considerationsEnvironnementales", "titulaires", "actesSousTraitance",
                      "modificationsActesSousTraitance", "modifications", "observatoire_categories_consideration")
DECP_SCALARS = ("id", "nature", "objet", "codeCPV", "idAccordCadre", "marcheInnovant", "ccag", "offresRecues",
                "attributionAvance", "tauxAvance", "typeGroupementOperateurs", "sousTraitanceDeclaree", "procedure",
                "dureeMois", "dateNotification", "datePublicationDonnees", "montant", "formePrix", "origineUE",
                "origineFrance")


def flatten_record(rec: dict) -> dict:
    """One official record as one flat row: nested objects as ``parent_child``, lists as JSON text."""
    row: dict[str, Any] = {"id": rec.get("id"), "acheteur_id": (rec.get("acheteur") or {}).get("id")}
    for k in DECP_SCALARS[1:]:
        row[k] = rec.get(k)
    lieu = rec.get("lieuExecution") or {}
    row["lieuExecution_code"], row["lieuExecution_typeCode"] = lieu.get("code"), lieu.get("typeCode")
    lists = {"techniques": ("techniques", "technique"), "modalitesExecution": ("modalitesExecution",
             "modaliteExecution"), "typesPrix": ("typesPrix", "typePrix"),
             "considerationsSociales": ("considerationsSociales", "considerationSociale"),
             "considerationsEnvironnementales": ("considerationsEnvironnementales", "considerationEnvironnementale")}
    for col, (key, inner) in lists.items():
        v = (rec.get(key) or {}).get(inner)
        row[col] = json.dumps(v, ensure_ascii=False) if v is not None else None
    for col, wrapper in (("titulaires", "titulaire"), ("actesSousTraitance", "acteSousTraitance"),
                         ("modificationsActesSousTraitance", "modificationActeSousTraitance"),
                         ("modifications", "modification")):
        v = rec.get(col)
        row[col] = json.dumps(_items(v, wrapper), ensure_ascii=False) if v is not None else None
    return row


ENRICHMENT_DESCRIPTIONS = {
    "observatoire_uid": "identifiant unique du marché (SIRET de l'acheteur + id), clé de l'observatoire",
    "observatoire_departement": "département d'exécution résolu par l'observatoire (COG 2026), NON_VENTILE sinon",
    "observatoire_departement_methode": "comment le département a été trouvé (code commune, code postal, préfixe...)",
    "observatoire_categorie_acheteur": "catégorie de l'acheteur d'après la catégorie juridique SIRENE",
    "observatoire_type_marche": "travaux / services / fournitures, d'après la division CPV",
    "observatoire_categories_consideration": "catégories de considération sociale du référentiel",
    "observatoire_consideration_sociale": "le marché déclare une clause sociale, un critère social ou est réservé",
    "observatoire_montant_actuel": "montant après application des modifications (euros HT) ; vide quand le montant "
                                   "publié n'est pas un montant (voir observatoire_montant_exclu_motif)",
    "observatoire_montant_exclu_motif": "pourquoi le montant publié est exclu des sommes : PLACEHOLDER (123456789, "
                                        "chiffres répétés) ou HORS_BORNES (hors [1 €, 15 Md€]) ; vide sinon",
    "observatoire_duree_mois_actuelle": "durée après application des modifications (mois)",
    "observatoire_n_modifications": "nombre de modifications publiées",
    "observatoire_n_titulaires_structures_inclusion": "titulaires reconnus comme SIAE, EA, ESAT ou GEIQ",
    "observatoire_heures_insertion": "heures d'insertion réalisées suivies par les facilitateurs (vide si secret)",
    "observatoire_n_personnes_insertion": "personnes en insertion sur le marché (vide si secret)",
    "secret_observatoire_heures_insertion": "vrai quand les heures d'insertion sont masquées (secret statistique)",
    "secret_observatoire_n_personnes_insertion": "vrai quand le nombre de personnes est masqué (secret statistique)",
    "secret": "vrai quand une donnée de la ligne est masquée (secret statistique, docs/disclosure.md)",
}


def decp_frame(spark, settings: Settings):
    """Spark: current 2022-format contracts with their published record and the observatory's enrichment,
    and the share of each contract's insertion hours made by its largest person (dominance rule; the
    contract's companies are its public titulaires)."""
    read = lambda name: spark.read.format("delta").load(settings.table_uri(name))  # noqa: E731
    marches = read("silver/marches").filter(F.col("decp_format") == "2022")
    bronze = read("bronze/decp_marches").select("source_sha256", "record_index", "record_json")
    buyers = read("silver/acheteurs").select(F.col("siret").alias("acheteur_id"), "categorie_acheteur")
    ops = read("silver/operations").select("operation_key", F.concat("donneur_ordre_siret", "decp_id").alias("uid"))
    rows = read("silver/heures_insertion").join(ops, "operation_key")
    hours = gp.cells(rows, ["uid"], ("person_key",)).select(
        "uid", F.col("heures_realisees").alias("observatoire_heures_insertion"),
        F.col("n_personnes").alias("observatoire_n_personnes_insertion"),
        F.col(gp.SHARE).alias(DECP_SHARE))
    structures = read("silver/resolution_entreprises").filter(
        (F.col("source") == "decp_titulaire") & (F.col("structure_match") != "aucun")).groupBy(
        F.col("source_key").alias("uid")).agg(
        F.countDistinct("siret").alias("observatoire_n_titulaires_structures_inclusion"))
    social = F.exists(F.coalesce("considerations_sociales", F.array()), lambda v: v.isin(*SOCIAL))
    m = consideration_categories(marches).select(
        "uid", "source_sha256", "record_index", "acheteur_id",
        F.coalesce("departement_execution", F.lit(gi.NOT_ALLOCATED)).alias("observatoire_departement"),
        F.col("departement_method").alias("observatoire_departement_methode"),
        gi.market_type(F.col("code_cpv")).alias("observatoire_type_marche"),
        F.filter("categories", lambda c: c != ref.ALL).alias("observatoire_categories_consideration"),
        social.alias("observatoire_consideration_sociale"),
        F.col("montant").alias("observatoire_montant_actuel"),
        F.col("montant_exclu_motif").alias("observatoire_montant_exclu_motif"),
        F.col("duree_mois").alias("observatoire_duree_mois_actuelle"),
        F.col("n_modifications").alias("observatoire_n_modifications"))
    return (m.join(bronze, ["source_sha256", "record_index"], "left")
             .join(buyers, "acheteur_id", "left")
             .withColumn("observatoire_categorie_acheteur", F.coalesce("categorie_acheteur", F.lit(ref.UNKNOWN)))
             .join(structures, "uid", "left").join(hours, "uid", "left")
             .fillna({"observatoire_n_titulaires_structures_inclusion": 0, "observatoire_heures_insertion": 0.0,
                      "observatoire_n_personnes_insertion": 0})
             .withColumnRenamed("uid", "observatoire_uid")
             .drop("source_sha256", "record_index", "acheteur_id", "categorie_acheteur")
             .orderBy("observatoire_uid"))


DECP_SHARE = "observatoire_part_principal_contributeur"  # dominance share: for the protection, never published
DECP_PERSONS = ("observatoire_heures_insertion", "observatoire_n_personnes_insertion")
ENRICHMENT = ("observatoire_uid", "observatoire_departement", "observatoire_departement_methode",
              "observatoire_categorie_acheteur", "observatoire_type_marche", "observatoire_categories_consideration",
              "observatoire_consideration_sociale", "observatoire_montant_actuel", "observatoire_montant_exclu_motif",
              "observatoire_duree_mois_actuelle",
              "observatoire_n_modifications", "observatoire_n_titulaires_structures_inclusion",
              "observatoire_heures_insertion", "observatoire_n_personnes_insertion")


def build_decp(contracts: pd.DataFrame) -> tuple[pd.DataFrame, list[dict], list[dict]]:
    """Pure: contracts (``record_json`` + enrichment) -> (flat table, official records, excluded records). The
    flat table holds true person figures and the dominance share: protect it (``decp_persons``,
    ``with_protected``) before it is written.

    A record that does not validate against the official schema even once typed is excluded (listed with
    its errors in the run report), never altered into something the buyer did not publish.
    """
    rows, officials, excluded = [], [], []
    for c in contracts.to_dict("records"):
        rec = official_record(c["record_json"]) if c.get("record_json") else {}
        errors = record_errors(rec) if rec else ["record not found in bronze"]
        if errors:
            excluded.append({"uid": c["observatoire_uid"], "errors": errors[:5]})
            continue
        officials.append(rec)
        row = flatten_record(rec)
        for k in (*ENRICHMENT, DECP_SHARE):
            v = c.get(k)
            row[k] = json.dumps(list(v), ensure_ascii=False) if k == "observatoire_categories_consideration" else v
        rows.append(row)
    columns = [*flatten_record({}).keys(), *ENRICHMENT, DECP_SHARE]
    flat = pd.DataFrame(rows, columns=columns)
    for k in ("observatoire_n_modifications", "observatoire_n_titulaires_structures_inclusion",
              "observatoire_n_personnes_insertion", "observatoire_duree_mois_actuelle", "dureeMois", "offresRecues"):
        flat[k] = flat[k].astype("Int64")
    flat["observatoire_heures_insertion"] = flat["observatoire_heures_insertion"].astype(float)
    flat[DECP_SHARE] = flat[DECP_SHARE].astype(float)
    return flat, officials, excluded


def decp_persons(flat: pd.DataFrame) -> pd.DataFrame:
    """The person figures of the extended DECP, as the linked set sees them (``decp_etendu`` in the policy)."""
    return flat[["observatoire_uid", "acheteur_id", *DECP_PERSONS, DECP_SHARE]].reset_index(drop=True)


def with_protected(flat: pd.DataFrame, protected: pd.DataFrame) -> pd.DataFrame:
    """The flat table with its person figures as protected (hidden ones empty, ``secret_<column>`` and
    ``secret`` beside them) and without the dominance share. ``protected``: ``decp_persons`` as published."""
    out = flat.drop(columns=[DECP_SHARE]).reset_index(drop=True)
    protected = protected.set_index("observatoire_uid").reindex(out["observatoire_uid"]).reset_index(drop=True)
    for k in DECP_PERSONS:
        out[k] = protected[k]
        out[f"{SECRET}_{k}"] = protected[f"{SECRET}_{k}"].fillna(False).astype(bool)
    out[SECRET] = protected[SECRET].fillna(False).astype(bool)
    return out


def decp_document(flat: pd.DataFrame, officials: list[dict]) -> dict:
    """The official JSON document of the published contracts, with the observatory's enrichment (as
    published: protected) in a top-level ``observatoire`` object, one entry per contract in the same order."""
    official_columns = set(flatten_record({}))
    enrichment = [{k: _jsonable(v) for k, v in row.items() if k not in official_columns}
                  | {"id": row["id"], "acheteur_id": row["acheteur_id"]} for row in flat.to_dict("records")]
    for e in enrichment:
        e["observatoire_categories_consideration"] = json.loads(e["observatoire_categories_consideration"])
    return {"marches": {"marche": officials},
            "observatoire": {"description": "Enrichissement de l'observatoire, une entrée par marché, dans l'ordre "
                                            "de marches.marche (clé : acheteur_id + id)",
                             "marches": enrichment}}


def decp_table_schema(flat: pd.DataFrame) -> dict:
    types = {c: "array" for c in DECP_ARRAY_COLUMNS}
    # Dates stay text: the official pattern accepts suffixes (time zone) that a Table Schema date refuses.
    types.update({"dateNotification": "string", "datePublicationDonnees": "string", "montant": "number",
                  "tauxAvance": "number", "origineUE": "number", "origineFrance": "number",
                  "observatoire_montant_actuel": "number", "observatoire_montant_exclu_motif": "string",
                  "observatoire_heures_insertion": "number",
                  "marcheInnovant": "boolean", "attributionAvance": "boolean", "sousTraitanceDeclaree": "boolean",
                  "observatoire_consideration_sociale": "boolean", "secret": "boolean",
                  **{f"{SECRET}_{k}": "boolean" for k in DECP_PERSONS}})
    for c in flat.columns:
        if c not in types and str(flat[c].dtype) == "Int64":
            types[c] = "integer"
    schema = table_schema(flat, dims=("acheteur_id", "id"), descriptions=ENRICHMENT_DESCRIPTIONS, types=types)
    schema["description"] = ("Champs DECP 2022 tels que publiés (listes en JSON) puis enrichissement de "
                             "l'observatoire (colonnes observatoire_*)")
    return schema


# --- Writing ---------------------------------------------------------------------------------------------

def _resources(name: str, schema_path: str, title: str, description: str) -> list[dict]:
    return [{"name": f"{name}_{fmt}" if fmt != "csv" else name, "type": "table", "path": f"{name}.{fmt}",
             "format": fmt, "mediatype": media, "encoding": "utf-8", "schema": schema_path, "title": title,
             "description": description, "licenses": [LICENCE]}
            for fmt, media in (("csv", "text/csv"), ("parquet", "application/vnd.apache.parquet"),
                               ("json", "application/json"))]


SECRECY_NOTE = ("Secret statistique (docs/disclosure.md) : une donnée sur moins de {threshold} personnes, ou dont "
                "une personne ou un employeur fait l'essentiel, est masquée (valeur vide, secret_<colonne> = vrai), "
                "ainsi que les données qui permettraient de la retrouver à partir de l'ensemble des tableaux publiés ; "
                "secret = vrai quand une donnée de la ligne est masquée. Les nombres et montants de marchés (DECP) "
                "ne sont jamais masqués.")


def write_package(gold: dict[str, pd.DataFrame], decp_flat: pd.DataFrame, decp_doc: dict, folder: Path,
                  run_id: str, threshold: int, keys: dict[str, tuple[str, ...]] | None = None) -> list[Path]:
    """Pure I/O on a local folder: every table (as published: protected) in three formats, their schemas
    (``keys``: each table's primary key, from the disclosure policy), the datapackage."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "schemas").mkdir(exist_ok=True)
    keys = keys or {}
    written, resources = [], []
    for table, df in gold.items():
        name = table.split("/", 1)[1]
        written += write_table_files(df, folder, name).values()
        schema_path = f"schemas/{name}.json"
        schema = table_schema(df, keys.get(table, ()))
        (folder / schema_path).write_text(json.dumps(schema, ensure_ascii=False, indent=1), encoding="utf-8")
        written.append(folder / schema_path)
        resources += _resources(name, schema_path, name.replace("_", " "),
                                f"Indicateur gold/{name} (définition : docs/indicators.md). "
                                + SECRECY_NOTE.format(threshold=threshold))
    paths = write_table_files(decp_flat, folder, DECP_NAME)
    # The JSON of the extended DECP is the official document, not the flat table.
    paths["json"].write_text(json.dumps(decp_doc, ensure_ascii=False), encoding="utf-8")
    written += paths.values()
    schema_path = f"schemas/{DECP_NAME}.json"
    (folder / schema_path).write_text(json.dumps(decp_table_schema(decp_flat), ensure_ascii=False, indent=1),
                                      encoding="utf-8")
    written.append(folder / schema_path)
    decp_res = _resources(DECP_NAME, schema_path, "DECP étendues",
                          "Marchés publics (format DECP 2022) avec les données de clauses sociales de l'observatoire")
    decp_res[2] = {"name": f"{DECP_NAME}_json", "type": "json", "path": f"{DECP_NAME}.json", "format": "json",
                   "mediatype": "application/json", "encoding": "utf-8", "jsonSchema": OFFICIAL_SCHEMA_URL,
                   "title": "DECP étendues (JSON réglementaire)", "licenses": [LICENCE],
                   "description": "Document {\"marches\": {\"marche\": [...]}} valide selon le schéma officiel "
                                  "DECP 2.0.3 ; l'enrichissement est dans l'objet de premier niveau "
                                  "\"observatoire\" (une entrée par marché, même ordre)"}
    resources += decp_res
    package = {
        "name": "observatoire-clauses-sociales-idf",
        "title": "Observatoire des clauses sociales d'Île-de-France — données ouvertes",
        "description": "Indicateurs de l'observatoire et DECP étendues. " + SECRECY_NOTE.format(threshold=threshold),
        "version": run_id, "created": datetime.now(UTC).replace(microsecond=0).isoformat(),
        "licenses": [LICENCE],
        "sources": [{"title": "Données essentielles de la commande publique (DECP)",
                     "path": "https://www.data.gouv.fr/fr/datasets/donnees-essentielles-de-la-commande-publique/"},
                    {"title": "Exports des facilitateurs des clauses sociales d'Île-de-France"},
                    {"title": "Base SIRENE (INSEE)", "path": "https://www.sirene.fr/"},
                    {"title": "Structures de l'inclusion (SIAE, EA, ESAT, GEIQ)"}],
        "resources": resources,
    }
    (folder / "datapackage.json").write_text(json.dumps(package, ensure_ascii=False, indent=1), encoding="utf-8")
    return [*written, folder / "datapackage.json"]


def publish_files(files: Iterable[Path], folder: Path, settings: Settings) -> list[str]:
    """Copy the files to the public zone of the lake: ``<lake>/public/opendata/<relative path>``."""

    store, root, uris = ObjectStore(settings), settings.zone_uri("public") + "/opendata", []
    for f in files:
        uri = f"{root}/{f.relative_to(folder).as_posix()}"
        store.put_file(f, uri)
        uris.append(uri)
    return uris


def prepared(table: str, df: pd.DataFrame, keys: Iterable[str]) -> pd.DataFrame:
    """A gold table (whole, as read from the lake) in its published shape, before protection: a
    ``trimestre`` beside ``mois`` in the monthly contract table (quarterly totals are published), rows
    sorted by their key."""
    df = df.copy()
    if table == MARCHES_MOIS:
        df["trimestre"] = pd.to_datetime(df["mois"]).dt.quarter.astype("Int64")
    order = [c for c in keys if c in df.columns]
    return df.sort_values(order, na_position="first").reset_index(drop=True) if order else df


def read_gold(spark, settings: Settings, names: Iterable[str]) -> dict[str, pd.DataFrame]:
    """Gold tables as pandas frames (small aggregates); integers stay integers when a column has nulls."""
    out = {}
    for table in names:
        sdf = spark.read.format("delta").load(settings.table_uri(table))
        df = sdf.toPandas()
        for f in sdf.schema.fields:
            if f.dataType.typeName() in ("integer", "long", "short"):
                df[f.name] = df[f.name].astype("Int64")
        out[table] = df
    return out


def read_decp(spark, settings: Settings) -> tuple[pd.DataFrame, list[dict], list[dict], int]:
    """The extended DECP before protection: (flat table, official records, excluded, contracts read)."""
    contracts = decp_frame(spark, settings).toPandas()
    flat, officials, excluded = build_decp(contracts)
    return flat, officials, excluded, len(contracts)


def write_opendata(settings: Settings, run_id: str, published: dict[str, pd.DataFrame], decp_flat: pd.DataFrame,
                   officials: list[dict], excluded: list[dict], n_contracts: int,
                   keys: dict[str, tuple[str, ...]], threshold: int) -> dict:
    """The protected tables -> ``<output>/opendata/`` (local files only: ``publish_to_public_zone`` copies
    them once the disclosure audit has passed). ``published``: every open data table as published
    (``TABLES``); ``decp_flat``: the extended DECP with its person figures protected (``with_protected``)."""
    started = time.perf_counter()
    folder = Path(settings.output_dir) / "opendata"
    doc = decp_document(decp_flat, officials)
    errors = validate_decp_document(doc)
    if errors:  # never publish a DECP document that the official schema refuses
        raise RuntimeError(f"extended DECP does not validate against the official schema: {errors[:3]}")
    gold = {t: published[t] for t in TABLES}
    files = write_package(gold, decp_flat, doc, folder, run_id, threshold, keys)
    tables = {t.split("/", 1)[1]: {"rows": len(df), "rows_secret": int(df[SECRET].sum())} for t, df in gold.items()}
    tables[DECP_NAME] = {"rows": len(decp_flat), "rows_secret": int(decp_flat[SECRET].sum()),
                         "contracts_2022_format": n_contracts, "excluded_not_schema_valid": len(excluded)}
    return {"stage": "opendata", "folder": str(folder), "written": files, "files": len(files),
            "bytes": sum(f.stat().st_size for f in files), "tables": tables, "excluded": excluded[:20],
            "seconds": round(time.perf_counter() - started, 1)}


def publish_to_public_zone(settings: Settings, written: dict) -> dict:
    """Copy the files ``write_opendata`` wrote to ``<lake>/public/opendata/``; returns its report, completed."""
    started = time.perf_counter()
    files = written["written"]
    uris = publish_files(files, Path(written["folder"]), settings)
    report = {k: v for k, v in written.items() if k != "written"}
    return {**report, "public_uri": settings.zone_uri("public") + "/opendata", "objects_published": len(uris),
            "seconds": round(report["seconds"] + time.perf_counter() - started, 1)}
