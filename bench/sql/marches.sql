-- Baseline, DECP contracts family: gold/marches_par_mois_departement and
-- gold/part_marches_consideration_sociale straight from the generated raw files.
-- Parameters (filled by bench/baseline.py): {decp_json} glob of the DECP JSON files, {decp_xml_jsonl}
-- JSON lines of the XML files' records (DuckDB has no XML reader: bench/baseline.py converts them),
-- {referential} the referential folder, {today} the run date, {sirene} the SIRENE folder of the inbox, and the
-- amount bounds of schemas/rules.py ({montant_min}, {montant_max}, {placeholder_prefixes}, {repeated_digits},
-- {repeated_run_above}).
-- The rules are those of schemas/rules.py and jobs/silver/decp_normalize.py that the generated data exercises.

CREATE OR REPLACE MACRO fold(x) AS
    regexp_replace(lower(strip_accents(trim(replace(x, '’', '''')))), '\s+', ' ', 'g');
-- normalize.text(): missing markers are NULL; JSON numbers arrive as their text.
CREATE OR REPLACE MACRO txt(x) AS
    CASE WHEN x IS NULL OR lower(trim(x)) IN ('', 'nc', 'nan', 'null', 'none', 'n/a') THEN NULL ELSE trim(x) END;
CREATE OR REPLACE MACRO num(x) AS
    TRY_CAST(replace(replace(replace(txt(x), chr(160), ''), ' ', ''), ',', '.') AS DOUBLE);
CREATE OR REPLACE MACRO iso_date(x) AS
    CASE WHEN regexp_full_match(txt(x), '\s*(\d{1,4})-(\d{1,2})-(\d{1,2})([T ].*|[+-]\d{2}:\d{2}Z?|Z)?\s*')
         THEN TRY_CAST(printf('%04d-%02d-%02d',
                 CAST(regexp_extract(txt(x), '(\d{1,4})-(\d{1,2})-(\d{1,2})', 1) AS INTEGER),
                 CAST(regexp_extract(txt(x), '(\d{1,4})-(\d{1,2})-(\d{1,2})', 2) AS INTEGER),
                 CAST(regexp_extract(txt(x), '(\d{1,4})-(\d{1,2})-(\d{1,2})', 3) AS INTEGER)) AS DATE) END;
-- Luhn over a string of digits (python-stdnum's SIRET check: Luhn on the SIRET and on its SIREN,
-- La Poste's establishments by the sum of their digits).
CREATE OR REPLACE MACRO luhn_ok(s) AS
    list_sum(list_transform(range(length(s)), i -> (
        CASE WHEN i % 2 = 1
             THEN (CAST(s[length(s) - i] AS INTEGER) * 2) // 10 + (CAST(s[length(s) - i] AS INTEGER) * 2) % 10
             ELSE CAST(s[length(s) - i] AS INTEGER) END))) % 10 = 0;
CREATE OR REPLACE MACRO siret_ok(s) AS
    s IS NOT NULL AND regexp_full_match(s, '\d{14}') AND CASE
        WHEN starts_with(s, '356000000') AND s <> '35600000000048'
            THEN list_sum(list_transform(range(14), i -> CAST(s[i + 1] AS INTEGER))) % 5 = 0
        ELSE luhn_ok(s) AND luhn_ok(s[1:9]) END;

-- Referential: code lists (canonical value of each folded variant), IDF communes, départements.
CREATE OR REPLACE TEMP TABLE code_alias AS
WITH lists AS (SELECT unnest(json_keys(j)) AS list_name, j FROM
                 (SELECT json(content) AS j FROM read_text('{referential}/decp_code_lists.json'))),
     canon AS (SELECT list_name, unnest(json_keys(j -> ('$."' || list_name || '"'))) AS canonical, j FROM lists)
SELECT DISTINCT list_name, fold(v) AS folded, canonical FROM (
    SELECT list_name, canonical, canonical AS v FROM canon
    UNION ALL
    SELECT list_name, canonical,
           unnest(CAST(j -> ('$."' || list_name || '"."' || replace(canonical, '"', '\"') || '"') AS VARCHAR[])) AS v
    FROM canon);
CREATE OR REPLACE TEMP TABLE communes AS
SELECT * FROM read_csv('{referential}/geo/idf_communes_cog2026.csv', all_varchar = true);
CREATE OR REPLACE TEMP TABLE insee_dep AS SELECT DISTINCT code_insee AS code, departement_code AS dep FROM communes;
CREATE OR REPLACE TEMP TABLE postal_dep AS
SELECT cp AS code, min(dep) AS dep FROM (
    SELECT unnest(string_split(codes_postaux, '|')) AS cp, departement_code AS dep FROM communes)
WHERE cp <> '' GROUP BY cp HAVING count(DISTINCT dep) = 1;
CREATE OR REPLACE TEMP TABLE deps AS
SELECT code FROM read_csv('{referential}/departements.csv', all_varchar = true);
-- Why a readable amount is not an amount (decp_normalize.montant_exclusion): out of bounds, digits typed in
-- order, an integer part of one repeated digit, or above the bound a run of one digit (RE2 has no back-references).
CREATE OR REPLACE MACRO montant_exclusion(v) AS
    CASE WHEN v IS NULL THEN NULL
         WHEN NOT (v BETWEEN {montant_min} AND {montant_max}) THEN 'HORS_BORNES'
         WHEN len(list_filter([{placeholder_prefixes}], p -> starts_with(
                  rtrim(replace(printf('%.2f', v), '.', ''), '0'), p))) > 0 THEN 'PLACEHOLDER'
         WHEN length(CAST(CAST(floor(v) AS BIGINT) AS VARCHAR)) >= {repeated_digits}
              AND length(replace(CAST(CAST(floor(v) AS BIGINT) AS VARCHAR),
                                 CAST(CAST(floor(v) AS BIGINT) AS VARCHAR)[1], '')) = 0 THEN 'PLACEHOLDER'
         WHEN v > {repeated_run_above} AND len(list_filter(range(1, 10), d -> contains(
                  CAST(CAST(floor(v) AS BIGINT) AS VARCHAR), repeat(CAST(d AS VARCHAR), {repeated_digits})))) > 0
              THEN 'PLACEHOLDER'
    END;
CREATE OR REPLACE TEMP TABLE idf_deps AS SELECT DISTINCT departement_code AS code FROM communes;
CREATE OR REPLACE TEMP TABLE categories AS
SELECT coalesce(consideration, '') AS consideration, category
FROM read_csv('{referential}/social_consideration_categories.csv', all_varchar = true);

-- Records: 2019 files hold {"marches": [...]}, 2022 files {"marches": {"marche": [...]}}.
CREATE OR REPLACE TEMP TABLE records AS
SELECT row_number() OVER () AS rid, * FROM (
WITH docs AS (SELECT filename, json(content) -> '$.marches' AS m FROM read_text('{decp_json}'))
SELECT CASE WHEN json_type(m) = 'ARRAY' THEN '2019' ELSE '2022' END AS decp_format,
       unnest(CAST(CASE WHEN json_type(m) = 'ARRAY' THEN m ELSE m -> '$.marche' END AS JSON[])) AS rec
FROM docs
UNION ALL
SELECT decp_format, json(rec) AS rec FROM read_json('{decp_xml_jsonl}', columns = {decp_format: 'VARCHAR', rec: 'VARCHAR'}));

-- Social considerations (2022 format): canonical values; a value outside the list quarantines the record.
CREATE OR REPLACE TEMP TABLE considerations AS
WITH raw AS (  -- the string values of the block, whatever its shape (JSON: wrapped list; XML: list of objects)
    SELECT rid, regexp_extract_all(CAST(rec -> '$.considerationsSociales' AS VARCHAR),
                                   '"([^"\\]*)"\s*(?:[,\]}]|$)', 1) AS vs
    FROM records WHERE decp_format = '2022' AND (rec -> '$.considerationsSociales') IS NOT NULL),
items AS (SELECT rid, txt(unnest(vs)) AS v FROM raw)
SELECT rid, bool_or(v IS NOT NULL AND a.canonical IS NULL) AS has_unknown,
       list(DISTINCT a.canonical) FILTER (WHERE a.canonical IS NOT NULL) AS known
FROM raw LEFT JOIN items USING (rid)
LEFT JOIN code_alias a ON a.list_name = 'considerationSociale' AND a.folded = fold(items.v)
GROUP BY rid;

CREATE OR REPLACE TEMP TABLE normalized AS
WITH r AS (
    SELECT rid, decp_format, rec,
           regexp_replace(txt(coalesce(rec ->> '$.acheteur.id', rec ->> '$."acheteur.id"')), '[\s.]', '', 'g') AS acheteur_id,
           txt(rec ->> '$.id') AS id,
           txt(rec ->> '$.nature') AS raw_nature, txt(rec ->> '$.procedure') AS raw_procedure,
           txt(rec ->> '$.codeCPV') AS raw_cpv,
           upper(txt(rec ->> '$.lieuExecution.code')) AS lieu_code,
           txt(rec ->> '$.lieuExecution.typeCode') AS raw_type_code,
           rec ->> '$.montant' AS raw_montant, rec ->> '$.dureeMois' AS raw_duree,
           rec ->> '$.dateNotification' AS raw_notification, rec ->> '$.datePublicationDonnees' AS raw_publication,
           len(regexp_extract_all(CAST(rec -> '$.titulaires' AS VARCHAR), '"(id|denominationSociale)"\s*:\s*"[^"]')) AS n_titulaires
    FROM records
), typed AS (
    SELECT r.*,
           CASE WHEN acheteur_id IS NOT NULL AND id IS NOT NULL THEN acheteur_id || id END AS uid,
           (SELECT canonical FROM code_alias WHERE list_name = 'nature' AND folded = fold(raw_nature)) AS nature,
           (SELECT canonical FROM code_alias WHERE list_name = 'procedure' AND folded = fold(raw_procedure)) AS procedure,
           regexp_extract(raw_cpv, '^(\d{8})(-\d)?$', 1) AS cpv,
           (SELECT canonical FROM code_alias WHERE list_name = 'lieuExecution.typeCode' AND folded = fold(raw_type_code)) AS type_code,
           num(raw_montant) AS montant_publie, ceil(num(raw_duree)) AS duree_mois,
           iso_date(raw_notification) AS date_notification, iso_date(raw_publication) AS date_publication
    FROM r
)
SELECT t.*, montant_exclusion(montant_publie) AS montant_exclu_motif,
       CASE WHEN montant_exclusion(montant_publie) IS NULL THEN montant_publie END AS montant,
       CASE WHEN lieu_code IS NULL THEN NULL
            WHEN type_code = 'Code département' THEN (SELECT code FROM deps WHERE code = CASE
                 WHEN regexp_full_match(lieu_code, '\d') THEN lpad(lieu_code, 2, '0') ELSE lieu_code END)
            WHEN type_code = 'Code commune' AND lieu_code IN (SELECT code FROM insee_dep)
                 THEN (SELECT dep FROM insee_dep WHERE code = lieu_code)
            WHEN type_code = 'Code postal' AND lieu_code IN (SELECT code FROM postal_dep)
                 THEN (SELECT dep FROM postal_dep WHERE code = lieu_code)
            WHEN type_code = 'Code postal' AND lieu_code IN (SELECT code FROM insee_dep)
                 THEN (SELECT dep FROM insee_dep WHERE code = lieu_code)
            WHEN type_code = 'Code commune' AND lieu_code IN (SELECT code FROM postal_dep)
                 THEN (SELECT dep FROM postal_dep WHERE code = lieu_code)
            WHEN type_code IN ('Code région', 'Code pays') THEN NULL
            -- outside IDF only: an IDF code the referential does not hold is unknown, never IDF
            WHEN regexp_full_match(lieu_code, '\d{4,5}') THEN (SELECT code FROM deps WHERE code <> '20' AND code =
                 CASE WHEN starts_with(lpad(lieu_code, 5, '0'), '97') THEN lpad(lieu_code, 5, '0')[1:3]
                      ELSE lpad(lieu_code, 5, '0')[1:2] END AND code NOT IN (SELECT code FROM idf_deps))
            WHEN regexp_full_match(lieu_code, '2[AB]\d{3}') THEN lieu_code[1:2]
       END AS departement_execution,
       coalesce(c.has_unknown, false) AS cs_unknown, c.known AS considerations_sociales
FROM typed t LEFT JOIN considerations c USING (rid);

-- The rules: a record passes when none fails (schemas/rules.py, table "marches").
CREATE OR REPLACE TEMP TABLE valid AS
SELECT * FROM normalized
WHERE uid IS NOT NULL
  AND siret_ok(acheteur_id)
  AND nature IS NOT NULL
  AND NOT (raw_procedure IS NOT NULL AND procedure IS NULL)
  AND cpv IS NOT NULL AND cpv <> ''
  AND date_notification BETWEEN DATE '1990-01-01' AND DATE '{today}'
  AND NOT (txt(raw_publication) IS NOT NULL AND date_publication IS NULL)
  AND (date_publication IS NULL OR date_publication BETWEEN DATE '1990-01-01' AND DATE '{today}')
  AND (date_publication IS NULL OR date_publication >= date_notification)
  AND montant_publie IS NOT NULL  -- a missing or unreadable amount refuses the record; an implausible one does not
  AND duree_mois BETWEEN 1 AND 180
  AND n_titulaires >= 1
  AND NOT cs_unknown
  AND NOT coalesce(list_contains(considerations_sociales, 'Pas de considération sociale')
                  AND len(considerations_sociales) > 1, false);

-- One row per uid: the latest publication wins (republished copies are identical in the generated data).
CREATE OR REPLACE TEMP TABLE marches AS
SELECT * FROM valid QUALIFY row_number() OVER (PARTITION BY uid ORDER BY date_publication DESC NULLS LAST) = 1;

-- Each contract under the category of each of its considerations (unknown when none), and under TOUTES.
CREATE OR REPLACE TEMP TABLE marches_par_mois_departement AS
WITH m AS (
    SELECT uid, montant, montant_exclu_motif, CAST(date_trunc('month', date_notification) AS DATE) AS mois,
           coalesce(departement_execution, 'NON_VENTILE') AS departement,
           CASE WHEN len(considerations_sociales) > 0 THEN considerations_sociales ELSE [''] END AS cs
    FROM marches),
items AS (SELECT uid, montant, montant_exclu_motif, mois, departement, unnest(cs) AS v FROM m),
unknown AS (SELECT category FROM categories WHERE consideration = '')
SELECT DISTINCT mois, departement, coalesce(c.category, (SELECT category FROM unknown)) AS consideration_sociale,
       uid, montant, montant_exclu_motif
FROM items LEFT JOIN categories c ON c.consideration = items.v
UNION ALL
SELECT mois, departement, 'TOUTES', uid, montant, montant_exclu_motif FROM m;

-- Sums of the valid amounts only (0 when a cell has none); excluded amounts are counted apart.
CREATE OR REPLACE TEMP TABLE result_marches_par_mois_departement AS
SELECT mois, departement, consideration_sociale, count(DISTINCT uid) AS nb_marches,
       round(coalesce(sum(montant), 0), 6) AS montant_total,
       count(DISTINCT uid) FILTER (WHERE montant_exclu_motif IS NOT NULL) AS nb_marches_montant_exclu,
       year(mois) AS annee
FROM marches_par_mois_departement GROUP BY ALL;

-- Share of contracts with a social consideration on its scope (jobs/gold/indicators.part_consideration_sociale):
-- 2022-format records with the field, of buyers whose SIRENE establishment is in an IDF commune, with a valid
-- amount at least the DECP threshold at notification; by number and by amount.
CREATE OR REPLACE TEMP TABLE idf_buyers AS
SELECT DISTINCT siret AS acheteur_id
FROM read_csv('{sirene}/StockEtablissement*.csv', all_varchar = true)
WHERE codeCommuneEtablissement IN (SELECT code_insee FROM communes);
CREATE OR REPLACE TEMP TABLE thresholds AS
SELECT TRY_CAST(date_debut AS DATE) AS date_debut, TRY_CAST(date_fin AS DATE) AS date_fin,
       CAST(seuil_eur_ht AS DOUBLE) AS seuil
FROM read_csv('{referential}/decp_thresholds.csv', all_varchar = true);
CREATE OR REPLACE TEMP TABLE result_part_marches_consideration_sociale AS
WITH m AS (
    SELECT year(date_notification) AS annee, montant,
           coalesce(list_has_any(considerations_sociales, ['Clause sociale', 'Critère social', 'Marché réservé']),
                    false) AS social,
           (SELECT seuil FROM thresholds WHERE (date_debut IS NULL OR date_notification >= date_debut)
                                           AND (date_fin IS NULL OR date_notification <= date_fin)) AS seuil,
           considerations_sociales IS NOT NULL AND acheteur_id IN (SELECT acheteur_id FROM idf_buyers)
               AND montant IS NOT NULL AS known
    FROM marches WHERE decp_format = '2022'),
s AS (SELECT *, known AND montant >= seuil AS in_scope FROM m)
SELECT annee, count(*) FILTER (WHERE in_scope) AS n_marches,
       count(*) FILTER (WHERE in_scope AND social) AS n_marches_consideration_sociale,
       round(coalesce(sum(montant) FILTER (WHERE in_scope), 0), 6) AS montant,
       round(coalesce(sum(montant) FILTER (WHERE in_scope AND social), 0), 6) AS montant_consideration_sociale
FROM s GROUP BY ALL;

-- Contracts and amounts by year x market type (CPV division) x procedure x buyer category (SIRENE catégorie
-- juridique, longest prefix of the referential) x département x social consideration (jobs/gold/indicators
-- .marches_clauses): each contract once per category, and once under TOUTES.
CREATE OR REPLACE TEMP TABLE cpv_types AS
SELECT division, market_type FROM read_csv('{referential}/cpv_divisions.csv', all_varchar = true);
CREATE OR REPLACE TEMP TABLE buyer_cats AS
SELECT prefix, code FROM read_csv('{referential}/buyer_categories.csv', all_varchar = true);
CREATE OR REPLACE TEMP TABLE acheteurs AS
WITH e AS (SELECT DISTINCT siret, siren FROM read_csv('{sirene}/StockEtablissement*.csv', all_varchar = true)),
     u AS (SELECT siren, any_value(categorieJuridiqueUniteLegale) AS cj
           FROM read_csv('{sirene}/StockUniteLegale*.csv', all_varchar = true) GROUP BY siren)
SELECT e.siret AS acheteur_id,
       CASE WHEN u.cj IS NULL THEN 'INCONNU'
            ELSE coalesce((SELECT arg_max(code, length(prefix)) FROM buyer_cats WHERE starts_with(u.cj, prefix)),
                          'AUTRE') END AS categorie_acheteur
FROM e LEFT JOIN u USING (siren);
-- silver/acheteurs: the buyers of the contracts, categorised from SIRENE (heures.sql reads it too).
CREATE OR REPLACE TEMP TABLE silver_acheteurs AS
SELECT acheteur_id, coalesce(a.categorie_acheteur, 'INCONNU') AS categorie_acheteur
FROM (SELECT DISTINCT acheteur_id FROM marches) LEFT JOIN acheteurs a USING (acheteur_id);
CREATE OR REPLACE TEMP TABLE result_marches_clauses AS
WITH m AS (
    SELECT DISTINCT year(date_notification) AS annee, coalesce(t.market_type, 'INCONNU') AS type_marche,
           coalesce(procedure, 'INCONNU') AS procedure, coalesce(a.categorie_acheteur, 'INCONNU') AS categorie_acheteur,
           d.departement, d.consideration_sociale, uid, d.montant, d.montant_exclu_motif
    FROM marches_par_mois_departement d JOIN marches USING (uid)
    LEFT JOIN cpv_types t ON t.division = marches.cpv[1:2]
    LEFT JOIN silver_acheteurs a USING (acheteur_id))
SELECT annee, type_marche, procedure, categorie_acheteur, departement, consideration_sociale,
       count(DISTINCT uid) AS n_marches, round(coalesce(sum(montant), 0), 6) AS montant,
       count(DISTINCT uid) FILTER (WHERE montant_exclu_motif IS NOT NULL) AS n_marches_montant_exclu
FROM m GROUP BY ALL;
