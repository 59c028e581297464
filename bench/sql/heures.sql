-- Baseline, facilitators' hours family: insertion hours realised per month (gold/heures_insertion summed
-- over its other dimensions) straight from the facilitators' CSV exports.
-- Parameters: {facilitateurs} the inbox folder of the exports, {today} the run date.
-- Each facilitator writes its own dialect (schemas/sources/facilitateurs.yaml): encoding, separator,
-- header labels, date and decimal style; columns come in the contract's order, so they are read by position.
-- Rules (schemas/rules.py): a contract needs an id, a participant, a valid employer SIRET and an ordered
-- start date; an operation an id, a valid buyer SIRET, a market type and a legal modality the referential knows
-- (labels matched by the referential's own matcher, registered as the UDF code_of), an ordered start date and
-- an objective; hour lines a valid contract of a valid operation, a month not in the future and inside both the
-- contract and the operation, 0-300 h. Lines of one contract-month in one export are summed (sum <= 300 h), and
-- the latest export (file name) holding a contract-month replaces the earlier ones.

CREATE OR REPLACE MACRO txt(x) AS CASE WHEN trim(x) = '' THEN NULL ELSE trim(x) END;
CREATE OR REPLACE MACRO fr_or_iso_date(x) AS
    coalesce(try_strptime(trim(x), '%d/%m/%Y'), try_strptime(trim(x), '%Y-%m-%d'))::DATE;
CREATE OR REPLACE MACRO month_of(x) AS
    coalesce(try_strptime('01/' || trim(x), '%d/%m/%Y'), try_strptime(trim(x) || '-01', '%Y-%m-%d'),
             date_trunc('month', fr_or_iso_date(x)))::DATE;
CREATE OR REPLACE MACRO decimal_of(x) AS
    TRY_CAST(replace(regexp_replace(x, '[\s\xa0\x{202f}]', '', 'g'), ',', '.') AS DOUBLE);
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

-- One read per dialect group (encoding and separator are per call); facilitator = the file name's prefix.
CREATE OR REPLACE TEMP TABLE contrats_raw AS
SELECT regexp_extract(filename, '(clause\d+)_contrats', 1) AS facilitateur, * EXCLUDE (filename) FROM (
    SELECT * FROM read_csv(['{facilitateurs}/clause75_contrats_*.csv'], delim = ';', encoding = 'utf-8', header = true,
                           all_varchar = true, filename = true, auto_detect = false,
                           columns = {'contrat_id': 'VARCHAR', 'participant_id': 'VARCHAR', 'marche_id': 'VARCHAR', 'entreprise_siret': 'VARCHAR', 'realisation': 'VARCHAR', 'type_contrat': 'VARCHAR', 'date_debut': 'VARCHAR', 'date_fin': 'VARCHAR'})
    UNION ALL
    SELECT * FROM read_csv(['{facilitateurs}/clause77_contrats_*.csv', '{facilitateurs}/clause92_contrats_*.csv', '{facilitateurs}/clause93_contrats_*.csv'], delim = ';', encoding = 'latin-1', header = true,
                           all_varchar = true, filename = true, auto_detect = false,
                           columns = {'contrat_id': 'VARCHAR', 'participant_id': 'VARCHAR', 'marche_id': 'VARCHAR', 'entreprise_siret': 'VARCHAR', 'realisation': 'VARCHAR', 'type_contrat': 'VARCHAR', 'date_debut': 'VARCHAR', 'date_fin': 'VARCHAR'})
    UNION ALL
    SELECT * FROM read_csv(['{facilitateurs}/clause78_contrats_*.csv', '{facilitateurs}/clause91_contrats_*.csv'], delim = ',', encoding = 'utf-8', header = true,
                           all_varchar = true, filename = true, auto_detect = false,
                           columns = {'contrat_id': 'VARCHAR', 'participant_id': 'VARCHAR', 'marche_id': 'VARCHAR', 'entreprise_siret': 'VARCHAR', 'realisation': 'VARCHAR', 'type_contrat': 'VARCHAR', 'date_debut': 'VARCHAR', 'date_fin': 'VARCHAR'})
    UNION ALL
    SELECT * FROM read_csv(['{facilitateurs}/clause94_contrats_*.csv'], delim = '\t', encoding = 'utf-8', header = true,
                           all_varchar = true, filename = true, auto_detect = false,
                           columns = {'contrat_id': 'VARCHAR', 'participant_id': 'VARCHAR', 'marche_id': 'VARCHAR', 'entreprise_siret': 'VARCHAR', 'realisation': 'VARCHAR', 'type_contrat': 'VARCHAR', 'date_debut': 'VARCHAR', 'date_fin': 'VARCHAR'})
    UNION ALL
    SELECT * FROM read_csv(['{facilitateurs}/clause95_contrats_*.csv'], delim = '|', encoding = 'utf-8', header = true,
                           all_varchar = true, filename = true, auto_detect = false,
                           columns = {'contrat_id': 'VARCHAR', 'participant_id': 'VARCHAR', 'marche_id': 'VARCHAR', 'entreprise_siret': 'VARCHAR', 'realisation': 'VARCHAR', 'type_contrat': 'VARCHAR', 'date_debut': 'VARCHAR', 'date_fin': 'VARCHAR'})
);
CREATE OR REPLACE TEMP TABLE operations_raw AS
SELECT regexp_extract(filename, '(clause\d+)_operations', 1) AS facilitateur, filename AS fichier, * EXCLUDE (filename) FROM (
    SELECT * FROM read_csv(['{facilitateurs}/clause75_operations_*.csv'], delim = ';', encoding = 'utf-8', header = true,
                           all_varchar = true, filename = true, auto_detect = false,
                           columns = {'operation_id': 'VARCHAR', 'siret': 'VARCHAR', 'nom': 'VARCHAR', 'decp_id': 'VARCHAR', 'objet': 'VARCHAR', 'type_marche': 'VARCHAR', 'modalite': 'VARCHAR', 'date_notification': 'VARCHAR', 'date_debut': 'VARCHAR', 'date_fin': 'VARCHAR', 'heures_objectif': 'VARCHAR', 'commune': 'VARCHAR', 'grand_projet': 'VARCHAR', 'structure': 'VARCHAR'})
    UNION ALL
    SELECT * FROM read_csv(['{facilitateurs}/clause77_operations_*.csv', '{facilitateurs}/clause92_operations_*.csv', '{facilitateurs}/clause93_operations_*.csv'], delim = ';', encoding = 'latin-1', header = true,
                           all_varchar = true, filename = true, auto_detect = false,
                           columns = {'operation_id': 'VARCHAR', 'siret': 'VARCHAR', 'nom': 'VARCHAR', 'decp_id': 'VARCHAR', 'objet': 'VARCHAR', 'type_marche': 'VARCHAR', 'modalite': 'VARCHAR', 'date_notification': 'VARCHAR', 'date_debut': 'VARCHAR', 'date_fin': 'VARCHAR', 'heures_objectif': 'VARCHAR', 'commune': 'VARCHAR', 'grand_projet': 'VARCHAR', 'structure': 'VARCHAR'})
    UNION ALL
    SELECT * FROM read_csv(['{facilitateurs}/clause78_operations_*.csv', '{facilitateurs}/clause91_operations_*.csv'], delim = ',', encoding = 'utf-8', header = true,
                           all_varchar = true, filename = true, auto_detect = false,
                           columns = {'operation_id': 'VARCHAR', 'siret': 'VARCHAR', 'nom': 'VARCHAR', 'decp_id': 'VARCHAR', 'objet': 'VARCHAR', 'type_marche': 'VARCHAR', 'modalite': 'VARCHAR', 'date_notification': 'VARCHAR', 'date_debut': 'VARCHAR', 'date_fin': 'VARCHAR', 'heures_objectif': 'VARCHAR', 'commune': 'VARCHAR', 'grand_projet': 'VARCHAR', 'structure': 'VARCHAR'})
    UNION ALL
    SELECT * FROM read_csv(['{facilitateurs}/clause94_operations_*.csv'], delim = '\t', encoding = 'utf-8', header = true,
                           all_varchar = true, filename = true, auto_detect = false,
                           columns = {'operation_id': 'VARCHAR', 'siret': 'VARCHAR', 'nom': 'VARCHAR', 'decp_id': 'VARCHAR', 'objet': 'VARCHAR', 'type_marche': 'VARCHAR', 'modalite': 'VARCHAR', 'date_notification': 'VARCHAR', 'date_debut': 'VARCHAR', 'date_fin': 'VARCHAR', 'heures_objectif': 'VARCHAR', 'commune': 'VARCHAR', 'grand_projet': 'VARCHAR', 'structure': 'VARCHAR'})
    UNION ALL
    SELECT * FROM read_csv(['{facilitateurs}/clause95_operations_*.csv'], delim = '|', encoding = 'utf-8', header = true,
                           all_varchar = true, filename = true, auto_detect = false,
                           columns = {'operation_id': 'VARCHAR', 'siret': 'VARCHAR', 'nom': 'VARCHAR', 'decp_id': 'VARCHAR', 'objet': 'VARCHAR', 'type_marche': 'VARCHAR', 'modalite': 'VARCHAR', 'date_notification': 'VARCHAR', 'date_debut': 'VARCHAR', 'date_fin': 'VARCHAR', 'heures_objectif': 'VARCHAR', 'commune': 'VARCHAR', 'grand_projet': 'VARCHAR', 'structure': 'VARCHAR'})
);
CREATE OR REPLACE TEMP TABLE heures_raw AS
SELECT regexp_extract(filename, '(clause\d+)_heures', 1) AS facilitateur, filename AS fichier, * EXCLUDE (filename) FROM (
    SELECT * FROM read_csv(['{facilitateurs}/clause75_heures_*.csv'], delim = ';', encoding = 'utf-8', header = true,
                           all_varchar = true, filename = true, auto_detect = false,
                           columns = {'contrat_id': 'VARCHAR', 'mois': 'VARCHAR', 'heures_realisees': 'VARCHAR'})
    UNION ALL
    SELECT * FROM read_csv(['{facilitateurs}/clause77_heures_*.csv', '{facilitateurs}/clause92_heures_*.csv', '{facilitateurs}/clause93_heures_*.csv'], delim = ';', encoding = 'latin-1', header = true,
                           all_varchar = true, filename = true, auto_detect = false,
                           columns = {'contrat_id': 'VARCHAR', 'mois': 'VARCHAR', 'heures_realisees': 'VARCHAR'})
    UNION ALL
    SELECT * FROM read_csv(['{facilitateurs}/clause78_heures_*.csv', '{facilitateurs}/clause91_heures_*.csv'], delim = ',', encoding = 'utf-8', header = true,
                           all_varchar = true, filename = true, auto_detect = false,
                           columns = {'contrat_id': 'VARCHAR', 'mois': 'VARCHAR', 'heures_realisees': 'VARCHAR'})
    UNION ALL
    SELECT * FROM read_csv(['{facilitateurs}/clause94_heures_*.csv'], delim = '\t', encoding = 'utf-8', header = true,
                           all_varchar = true, filename = true, auto_detect = false,
                           columns = {'contrat_id': 'VARCHAR', 'mois': 'VARCHAR', 'heures_realisees': 'VARCHAR'})
    UNION ALL
    SELECT * FROM read_csv(['{facilitateurs}/clause95_heures_*.csv'], delim = '|', encoding = 'utf-8', header = true,
                           all_varchar = true, filename = true, auto_detect = false,
                           columns = {'contrat_id': 'VARCHAR', 'mois': 'VARCHAR', 'heures_realisees': 'VARCHAR'})
);

-- silver/operations: valid operations, the latest export of each.
CREATE OR REPLACE TEMP TABLE operations AS
SELECT facilitateur || ':' || txt(operation_id) AS operation_key,
       date_trunc('month', fr_or_iso_date(date_debut))::DATE AS debut_mois,
       date_trunc('month', fr_or_iso_date(date_fin))::DATE AS fin_mois
FROM operations_raw
WHERE txt(operation_id) IS NOT NULL AND siret_ok(regexp_replace(siret, '[\s.]', '', 'g'))
  AND (txt(type_marche) IS NULL OR code_of('market_types', type_marche) IS NOT NULL)
  AND (txt(modalite) IS NULL OR code_of('legal_modalities', modalite) IS NOT NULL)
  AND fr_or_iso_date(date_debut) BETWEEN DATE '1990-01-01' AND DATE '{today}' + INTERVAL 3660 DAY
  AND (fr_or_iso_date(date_fin) IS NULL OR fr_or_iso_date(date_fin) >= fr_or_iso_date(date_debut))
  AND decimal_of(heures_objectif) BETWEEN 0 AND 10000000
QUALIFY row_number() OVER (PARTITION BY operation_key ORDER BY regexp_extract(fichier, '[^/]*$') DESC) = 1;

-- silver/contrats_insertion: valid contracts, one per key (exports do not repeat a contract here).
CREATE OR REPLACE TEMP TABLE contrats AS
SELECT facilitateur || ':' || txt(contrat_id) AS contrat_key, facilitateur || ':' || txt(marche_id) AS operation_key,
       date_trunc('month', fr_or_iso_date(date_debut))::DATE AS debut_mois,
       date_trunc('month', fr_or_iso_date(date_fin))::DATE AS fin_mois
FROM contrats_raw
WHERE txt(contrat_id) IS NOT NULL AND txt(participant_id) IS NOT NULL
  AND siret_ok(regexp_replace(entreprise_siret, '[\s.]', '', 'g'))
  AND fr_or_iso_date(date_debut) BETWEEN DATE '1990-01-01' AND DATE '{today}' + INTERVAL 366 DAY
  AND (fr_or_iso_date(date_fin) IS NULL OR fr_or_iso_date(date_fin) >= fr_or_iso_date(date_debut))
QUALIFY row_number() OVER (PARTITION BY contrat_key) = 1;

-- valid hour lines: a known contract of a known operation, inside both, 0-300 h.
CREATE OR REPLACE TEMP TABLE lignes AS
SELECT h.facilitateur || ':' || h.contrat_id AS contrat_key, month_of(h.mois) AS mois,
       decimal_of(h.heures_realisees) AS heures, regexp_extract(h.fichier, '[^/]*$') AS fichier
FROM heures_raw h JOIN contrats c ON c.contrat_key = h.facilitateur || ':' || h.contrat_id
JOIN operations o ON o.operation_key = c.operation_key
WHERE month_of(h.mois) BETWEEN DATE '1990-01-01' AND DATE '{today}'
  AND decimal_of(h.heures_realisees) BETWEEN 0 AND 300
  AND month_of(h.mois) >= c.debut_mois AND (c.fin_mois IS NULL OR month_of(h.mois) <= c.fin_mois)
  AND month_of(h.mois) >= o.debut_mois AND (o.fin_mois IS NULL OR month_of(h.mois) <= o.fin_mois);

-- silver/heures_insertion: lines of a contract-month summed per export (at most 300 h), the latest export kept.
CREATE OR REPLACE TEMP TABLE heures AS
SELECT contrat_key, mois, sum(heures) AS heures, fichier FROM lignes GROUP BY contrat_key, mois, fichier
HAVING sum(heures) <= 300
QUALIFY row_number() OVER (PARTITION BY contrat_key, mois ORDER BY fichier DESC) = 1;

CREATE OR REPLACE TEMP TABLE result_heures_insertion_par_mois AS
SELECT mois, round(sum(heures), 6) AS heures_realisees FROM heures GROUP BY mois;
