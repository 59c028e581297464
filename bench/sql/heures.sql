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

CREATE OR REPLACE TEMP TABLE participants_raw AS
SELECT regexp_extract(filename, '(clause\d+)_participants', 1) AS facilitateur, filename AS fichier, * EXCLUDE (filename) FROM (
    SELECT * FROM read_csv(['{facilitateurs}/clause75_participants_*.csv'], delim = ';', encoding = 'utf-8', header = true,
                           all_varchar = true, filename = true, auto_detect = false,
                           columns = {'participant_id': 'VARCHAR', 'nom': 'VARCHAR', 'prenom': 'VARCHAR', 'sexe': 'VARCHAR', 'date_naissance': 'VARCHAR', 'niveau_diplome': 'VARCHAR', 'criteres_eligibilite': 'VARCHAR', 'commune_residence_insee': 'VARCHAR', 'qpv': 'VARCHAR', 'prescripteur': 'VARCHAR', 'date_entree': 'VARCHAR', 'telephone': 'VARCHAR'})
    UNION ALL
    SELECT * FROM read_csv(['{facilitateurs}/clause77_participants_*.csv', '{facilitateurs}/clause92_participants_*.csv', '{facilitateurs}/clause93_participants_*.csv'], delim = ';', encoding = 'latin-1', header = true,
                           all_varchar = true, filename = true, auto_detect = false,
                           columns = {'participant_id': 'VARCHAR', 'nom': 'VARCHAR', 'prenom': 'VARCHAR', 'sexe': 'VARCHAR', 'date_naissance': 'VARCHAR', 'niveau_diplome': 'VARCHAR', 'criteres_eligibilite': 'VARCHAR', 'commune_residence_insee': 'VARCHAR', 'qpv': 'VARCHAR', 'prescripteur': 'VARCHAR', 'date_entree': 'VARCHAR', 'telephone': 'VARCHAR'})
    UNION ALL
    SELECT * FROM read_csv(['{facilitateurs}/clause78_participants_*.csv', '{facilitateurs}/clause91_participants_*.csv'], delim = ',', encoding = 'utf-8', header = true,
                           all_varchar = true, filename = true, auto_detect = false,
                           columns = {'participant_id': 'VARCHAR', 'nom': 'VARCHAR', 'prenom': 'VARCHAR', 'sexe': 'VARCHAR', 'date_naissance': 'VARCHAR', 'niveau_diplome': 'VARCHAR', 'criteres_eligibilite': 'VARCHAR', 'commune_residence_insee': 'VARCHAR', 'qpv': 'VARCHAR', 'prescripteur': 'VARCHAR', 'date_entree': 'VARCHAR', 'telephone': 'VARCHAR'})
    UNION ALL
    SELECT * FROM read_csv(['{facilitateurs}/clause94_participants_*.csv'], delim = '\t', encoding = 'utf-8', header = true,
                           all_varchar = true, filename = true, auto_detect = false,
                           columns = {'participant_id': 'VARCHAR', 'nom': 'VARCHAR', 'prenom': 'VARCHAR', 'sexe': 'VARCHAR', 'date_naissance': 'VARCHAR', 'niveau_diplome': 'VARCHAR', 'criteres_eligibilite': 'VARCHAR', 'commune_residence_insee': 'VARCHAR', 'qpv': 'VARCHAR', 'prescripteur': 'VARCHAR', 'date_entree': 'VARCHAR', 'telephone': 'VARCHAR'})
    UNION ALL
    SELECT * FROM read_csv(['{facilitateurs}/clause95_participants_*.csv'], delim = '|', encoding = 'utf-8', header = true,
                           all_varchar = true, filename = true, auto_detect = false,
                           columns = {'participant_id': 'VARCHAR', 'nom': 'VARCHAR', 'prenom': 'VARCHAR', 'sexe': 'VARCHAR', 'date_naissance': 'VARCHAR', 'niveau_diplome': 'VARCHAR', 'criteres_eligibilite': 'VARCHAR', 'commune_residence_insee': 'VARCHAR', 'qpv': 'VARCHAR', 'prescripteur': 'VARCHAR', 'date_entree': 'VARCHAR', 'telephone': 'VARCHAR'})
);
CREATE OR REPLACE TEMP TABLE sorties_raw AS
SELECT regexp_extract(filename, '(clause\d+)_sorties', 1) AS facilitateur, filename AS fichier, * EXCLUDE (filename) FROM (
    SELECT * FROM read_csv(['{facilitateurs}/clause75_sorties_*.csv'], delim = ';', encoding = 'utf-8', header = true,
                           all_varchar = true, filename = true, auto_detect = false,
                           columns = {'participant_id': 'VARCHAR', 'contrat_id': 'VARCHAR', 'date_situation': 'VARCHAR', 'situation': 'VARCHAR', 'precision': 'VARCHAR'})
    UNION ALL
    SELECT * FROM read_csv(['{facilitateurs}/clause77_sorties_*.csv', '{facilitateurs}/clause92_sorties_*.csv', '{facilitateurs}/clause93_sorties_*.csv'], delim = ';', encoding = 'latin-1', header = true,
                           all_varchar = true, filename = true, auto_detect = false,
                           columns = {'participant_id': 'VARCHAR', 'contrat_id': 'VARCHAR', 'date_situation': 'VARCHAR', 'situation': 'VARCHAR', 'precision': 'VARCHAR'})
    UNION ALL
    SELECT * FROM read_csv(['{facilitateurs}/clause78_sorties_*.csv', '{facilitateurs}/clause91_sorties_*.csv'], delim = ',', encoding = 'utf-8', header = true,
                           all_varchar = true, filename = true, auto_detect = false,
                           columns = {'participant_id': 'VARCHAR', 'contrat_id': 'VARCHAR', 'date_situation': 'VARCHAR', 'situation': 'VARCHAR', 'precision': 'VARCHAR'})
    UNION ALL
    SELECT * FROM read_csv(['{facilitateurs}/clause94_sorties_*.csv'], delim = '\t', encoding = 'utf-8', header = true,
                           all_varchar = true, filename = true, auto_detect = false,
                           columns = {'participant_id': 'VARCHAR', 'contrat_id': 'VARCHAR', 'date_situation': 'VARCHAR', 'situation': 'VARCHAR', 'precision': 'VARCHAR'})
    UNION ALL
    SELECT * FROM read_csv(['{facilitateurs}/clause95_sorties_*.csv'], delim = '|', encoding = 'utf-8', header = true,
                           all_varchar = true, filename = true, auto_detect = false,
                           columns = {'participant_id': 'VARCHAR', 'contrat_id': 'VARCHAR', 'date_situation': 'VARCHAR', 'situation': 'VARCHAR', 'precision': 'VARCHAR'})
);

-- silver/operations: valid operations, the latest export of each, with their dimensions: buyer, codes,
-- territory of execution (the commune's département, else the INSEE code's prefix; its EPT), grand project.
CREATE OR REPLACE TEMP TABLE operations AS
WITH o AS (
    SELECT facilitateur || ':' || txt(operation_id) AS operation_key, fichier,
           regexp_replace(siret, '[\s.]', '', 'g') AS siret, code_of('market_types', type_marche) AS type_marche_code,
           code_of('legal_modalities', modalite) AS modalite_code, trim(commune) AS insee, txt(grand_projet) AS gp,
           decimal_of(heures_objectif) AS heures_objectif, fr_or_iso_date(date_debut) AS date_debut,
           fr_or_iso_date(date_fin) AS date_fin, txt(decp_id) AS decp_id
    FROM operations_raw
    WHERE txt(operation_id) IS NOT NULL AND siret_ok(regexp_replace(siret, '[\s.]', '', 'g'))
      AND (txt(type_marche) IS NULL OR code_of('market_types', type_marche) IS NOT NULL)
      AND (txt(modalite) IS NULL OR code_of('legal_modalities', modalite) IS NOT NULL)
      AND fr_or_iso_date(date_debut) BETWEEN DATE '1990-01-01' AND DATE '{today}' + INTERVAL 3660 DAY
      AND (fr_or_iso_date(date_fin) IS NULL OR fr_or_iso_date(date_fin) >= fr_or_iso_date(date_debut))
      AND decimal_of(heures_objectif) BETWEEN 0 AND 10000000
    QUALIFY row_number() OVER (PARTITION BY operation_key ORDER BY regexp_extract(fichier, '[^/]*$') DESC) = 1)
SELECT o.*, date_trunc('month', date_debut)::DATE AS debut_mois, date_trunc('month', date_fin)::DATE AS fin_mois,
       coalesce(c.departement_code, CASE WHEN regexp_full_match(insee, '\d[\dAB]\d{3}')
                                         THEN CASE WHEN starts_with(insee, '97') THEN insee[1:3] ELSE insee[1:2] END
                                    END) AS departement,
       nullif(c.ept_code, '') AS ept,
       CASE WHEN gp IS NULL THEN 'AUCUN' ELSE coalesce(code_of('grand_projects', gp), 'INCONNU') END AS grand_projet
FROM o LEFT JOIN communes c ON c.code_insee = o.insee;

-- Persons (silver person_links): each participant's latest export links it to a person by the project's own
-- key of (last name, first name, full birth date), registered as the UDF person_of; else it stands for itself.
CREATE OR REPLACE TEMP TABLE liens AS
SELECT facilitateur || ':' || trim(participant_id) AS participant_key,
       coalesce(person_of(nom, prenom, date_naissance), facilitateur || ':' || trim(participant_id)) AS person_key
FROM participants_raw WHERE txt(participant_id) IS NOT NULL
QUALIFY row_number() OVER (PARTITION BY participant_key ORDER BY regexp_extract(fichier, '[^/]*$') DESC) = 1;

-- silver/contrats_insertion: valid contracts, one per key (exports do not repeat a contract here).
CREATE OR REPLACE TEMP TABLE contrats AS
SELECT facilitateur || ':' || txt(contrat_id) AS contrat_key, facilitateur || ':' || txt(marche_id) AS operation_key,
       coalesce(l.person_key, facilitateur || ':' || trim(participant_id)) AS person_key,
       regexp_replace(entreprise_siret, '[\s.]', '', 'g') AS entreprise_siret,
       fr_or_iso_date(date_debut) AS date_debut, fr_or_iso_date(date_fin) AS date_fin,
       date_trunc('month', fr_or_iso_date(date_debut))::DATE AS debut_mois,
       date_trunc('month', fr_or_iso_date(date_fin))::DATE AS fin_mois
FROM contrats_raw LEFT JOIN liens l ON l.participant_key = facilitateur || ':' || trim(participant_id)
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

-- gold/heures_insertion: hours realised (the monthly hours) and targeted (each operation's objective spread
-- evenly over its months, start + 11 months when open-ended) by month x territory x legal modality x market
-- type x buyer category (silver/acheteurs: the DECP buyers, marches.sql) x grand project.
CREATE OR REPLACE TEMP TABLE ops_dims AS
SELECT o.*, coalesce(o.departement, 'NON_VENTILE') AS dep, coalesce(o.ept, 'HORS_EPT') AS ept_code,
       coalesce(a.categorie_acheteur, 'INCONNU') AS categorie_acheteur
FROM operations o LEFT JOIN silver_acheteurs a ON a.acheteur_id = o.siret;
CREATE OR REPLACE TEMP TABLE realises AS
SELECT h.mois, o.dep AS departement, o.ept_code AS ept, coalesce(o.modalite_code, 'INCONNU') AS modalite_code,
       coalesce(o.type_marche_code, 'INCONNU') AS type_marche_code, o.categorie_acheteur, o.grand_projet,
       sum(h.heures) AS heures_realisees, count(DISTINCT c.person_key) AS n_personnes,
       count(DISTINCT h.contrat_key) AS n_contrats
FROM heures h JOIN contrats c USING (contrat_key) JOIN ops_dims o ON o.operation_key = c.operation_key
GROUP BY ALL;
CREATE OR REPLACE TEMP TABLE cibles AS
WITH s AS (
    SELECT *, date_trunc('month', date_debut)::DATE AS m0,
           greatest(date_trunc('month', date_debut), date_trunc('month', coalesce(date_fin, date_debut + INTERVAL 11 MONTH)))::DATE AS m1
    FROM ops_dims),
spread AS (
    SELECT *, unnest(generate_series(m0, m1, INTERVAL 1 MONTH))::DATE AS mois,
           datediff('month', m0, m1) + 1 AS n_mois FROM s)
SELECT mois, dep AS departement, ept_code AS ept, modalite_code, type_marche_code, categorie_acheteur, grand_projet,
       sum(heures_objectif / n_mois) AS heures_objectif, count(DISTINCT operation_key) AS n_operations
FROM spread GROUP BY ALL;
CREATE OR REPLACE TEMP TABLE result_heures_insertion AS
SELECT mois, departement, ept, modalite_code, type_marche_code, categorie_acheteur, grand_projet,
       round(coalesce(heures_realisees, 0), 6) AS heures_realisees, coalesce(n_personnes, 0) AS n_personnes,
       coalesce(n_contrats, 0) AS n_contrats, round(coalesce(heures_objectif, 0), 6) AS heures_objectif,
       coalesce(n_operations, 0) AS n_operations
FROM realises FULL OUTER JOIN cibles
     USING (mois, departement, ept, modalite_code, type_marche_code, categorie_acheteur, grand_projet);
