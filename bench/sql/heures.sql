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
SELECT regexp_extract(filename, '(clause\d+)_contrats', 1) AS facilitateur, filename AS fichier, * EXCLUDE (filename) FROM (
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

-- One row per INSEE code (the referential lists a commune déléguée under its commune's code too; both rows agree).
CREATE OR REPLACE TEMP TABLE commune_attrs AS
SELECT code_insee, max(departement_code) AS departement_code, max(ept_code) AS ept_code FROM communes GROUP BY ALL;

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
FROM o LEFT JOIN commune_attrs c ON c.code_insee = o.insee;

-- Persons (silver person_links): each participant's latest export links it to a person by the project's own
-- key of (last name, first name, full birth date), registered as the UDF person_of; else it stands for itself.
CREATE OR REPLACE TEMP TABLE liens AS
SELECT facilitateur || ':' || trim(participant_id) AS participant_key,
       coalesce(person_of(nom, prenom, date_naissance), facilitateur || ':' || trim(participant_id)) AS person_key
FROM participants_raw WHERE txt(participant_id) IS NOT NULL
QUALIFY row_number() OVER (PARTITION BY participant_key ORDER BY regexp_extract(fichier, '[^/]*$') DESC) = 1;

-- silver/contrats_insertion: valid contracts, the latest export of each, with their person.
CREATE OR REPLACE TEMP TABLE contrats AS
SELECT facilitateur || ':' || txt(contrat_id) AS contrat_key, facilitateur || ':' || txt(marche_id) AS operation_key,
       coalesce(l.person_key, facilitateur || ':' || trim(participant_id)) AS person_key,
       regexp_replace(entreprise_siret, '[\s.]', '', 'g') AS entreprise_siret,
       fr_or_iso_date(date_debut) AS date_debut, fr_or_iso_date(date_fin) AS date_fin,
       coalesce(code_of('contract_types', type_contrat), 'INCONNU') AS type_contrat,
       coalesce(code_of('realisation_modalities', realisation), 'INCONNU') AS modalite_realisation,
       date_trunc('month', fr_or_iso_date(date_debut))::DATE AS debut_mois,
       date_trunc('month', fr_or_iso_date(date_fin))::DATE AS fin_mois
FROM contrats_raw LEFT JOIN liens l ON l.participant_key = facilitateur || ':' || trim(participant_id)
WHERE txt(contrat_id) IS NOT NULL AND txt(participant_id) IS NOT NULL
  AND siret_ok(regexp_replace(entreprise_siret, '[\s.]', '', 'g'))
  AND fr_or_iso_date(date_debut) BETWEEN DATE '1990-01-01' AND DATE '{today}' + INTERVAL 366 DAY
  AND (fr_or_iso_date(date_fin) IS NULL OR fr_or_iso_date(date_fin) >= fr_or_iso_date(date_debut))
QUALIFY row_number() OVER (PARTITION BY contrat_key ORDER BY regexp_extract(fichier, '[^/]*$') DESC) = 1;

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

-- gold/charte_grand_paris: per Grand Paris contract (silver/grand_paris_contrats: the buyer SIRET and contract
-- id present, a valid SIRET, an amount within bounds, a notification date; the latest file of a contract), the
-- hours and persons of the operations naming it (buyer SIRET + DECP id), the charter's objective (its rate at
-- notification x worked hours planned) against the declared one; then per owner, operation and programme.
CREATE OR REPLACE TEMP TABLE charter_rates AS
SELECT TRY_CAST(date_debut AS DATE) AS date_debut, TRY_CAST(date_fin AS DATE) AS date_fin,
       CAST(taux_heures_insertion AS DOUBLE) AS taux
FROM read_csv('{referential}/grand_paris_charter.csv', all_varchar = true);
CREATE OR REPLACE TEMP TABLE gp AS
WITH g AS (
    SELECT *, regexp_replace(acheteur_siret, '[\s.]', '', 'g') AS siret, trim(marche_id) AS mid,
           decimal_of(montant_ht) AS montant, fr_or_iso_date(date_notification) AS notification
    FROM read_csv('{grand_paris}', all_varchar = true, header = true))
SELECT maitre_ouvrage, operation, programme, siret || mid AS decp_uid, montant AS montant_ht, notification,
       decimal_of(heures_travaillees_prevues) AS heures_travaillees_prevues,
       decimal_of(heures_insertion_objectif) AS declare, decimal_of(montant_tpe_pme) AS montant_tpe_pme
FROM g
WHERE txt(marche_id) IS NOT NULL AND txt(acheteur_siret) IS NOT NULL AND siret_ok(siret)
  AND montant BETWEEN {montant_min} AND {montant_max}
  AND notification BETWEEN DATE '1990-01-01' AND DATE '{today}'
QUALIFY row_number() OVER (PARTITION BY decp_uid ORDER BY fichier DESC, CAST(ligne AS INTEGER) DESC) = 1;
CREATE OR REPLACE TEMP TABLE gp_contrats AS
WITH per_op AS (
    SELECT c.operation_key, sum(h.heures) AS heures, count(DISTINCT c.person_key) AS n_personnes
    FROM heures h JOIN contrats c USING (contrat_key) GROUP BY ALL),
per_uid AS (
    SELECT o.siret || o.decp_id AS decp_uid, sum(p.heures) AS heures_realisees, sum(p.n_personnes) AS n_personnes
    FROM per_op p JOIN operations o USING (operation_key) GROUP BY ALL)
SELECT g.*, coalesce(u.heures_realisees, 0) AS heures_realisees, coalesce(u.n_personnes, 0) AS n_personnes,
       (SELECT taux FROM charter_rates r WHERE g.notification IS NOT NULL
          AND (r.date_debut IS NULL OR g.notification >= r.date_debut)
          AND (r.date_fin IS NULL OR g.notification <= r.date_fin)) * g.heures_travaillees_prevues AS charte
FROM gp g LEFT JOIN per_uid u USING (decp_uid);
CREATE OR REPLACE TEMP TABLE result_charte_grand_paris AS
SELECT maitre_ouvrage, operation, programme, count(*) AS n_marches, round(sum(montant_ht), 6) AS montant_ht,
       round(sum(heures_travaillees_prevues), 6) AS heures_travaillees_prevues,
       round(sum(coalesce(charte, declare)), 6) AS heures_insertion_objectif,
       round(sum(charte), 6) AS heures_insertion_objectif_charte,
       round(sum(declare), 6) AS heures_insertion_objectif_declare,
       count(*) FILTER (WHERE abs(declare - charte) > {objective_tolerance}) AS n_marches_objectif_ecart,
       count(*) FILTER (WHERE declare < charte - {objective_tolerance}) AS n_marches_objectif_sous_charte,
       count(*) FILTER (WHERE charte IS NULL AND declare IS NOT NULL) AS n_marches_objectif_declare_seul,
       count(*) FILTER (WHERE coalesce(charte, declare) IS NULL) AS n_marches_sans_objectif,
       round(sum(heures_realisees), 6) AS heures_realisees, sum(n_personnes) AS n_personnes,
       round(sum(montant_tpe_pme), 6) AS montant_tpe_pme
FROM gp_contrats GROUP BY ALL;

-- gold/contrats_insertion_par_type: insertion contracts and distinct persons by start year x contract type x
-- realisation mode.
CREATE OR REPLACE TEMP TABLE result_contrats_insertion_par_type AS
SELECT year(date_debut) AS annee, type_contrat, modalite_realisation, count(*) AS n_contrats,
       count(DISTINCT person_key) AS n_personnes
FROM contrats GROUP BY ALL;

-- gold/structures_inclusion: structures present by département x family x kind (silver/structures: a valid
-- SIRET, a known kind, the latest listing of a SIRET); per year, the share of the contracts' amounts whose
-- titulaire is a structure (by SIRET, else SIREN; titulaires as the project's normaliser reads them, the UDF
-- titulaire_ids; each titulaire holds amount / number of titulaires) and of the insertion hours whose employer
-- (SIREN) is one.
CREATE OR REPLACE TEMP TABLE kinds AS
SELECT code, family FROM read_csv('{referential}/structure_kinds.csv', all_varchar = true);
CREATE OR REPLACE TEMP TABLE structures AS
SELECT regexp_replace(siret, '[\s.]', '', 'g') AS siret, k.code AS kind, k.family AS famille, txt(departement) AS departement
FROM read_csv('{structures}', all_varchar = true, header = true) r
LEFT JOIN kinds k ON k.code = code_of('structure_kinds', r.type_structure)
WHERE siret_ok(regexp_replace(siret, '[\s.]', '', 'g')) AND (txt(r.type_structure) IS NULL OR k.code IS NOT NULL)
QUALIFY row_number() OVER (PARTITION BY regexp_replace(siret, '[\s.]', '', 'g')
                           ORDER BY fichier DESC, CAST(ligne AS INTEGER) DESC) = 1;
CREATE OR REPLACE TEMP TABLE titulaires AS
SELECT uid, year(date_notification) AS annee, montant / len(ids) AS montant_part, unnest(ids) AS titulaire_id
FROM (SELECT uid, date_notification, montant, from_json(titulaire_ids(CAST(rec -> '$.titulaires' AS VARCHAR)), '["VARCHAR"]') AS ids FROM marches)
WHERE len(ids) > 0;
CREATE OR REPLACE TEMP TABLE result_structures_inclusion AS
SELECT 'presence' AS indicateur, NULL::INTEGER AS annee, coalesce(departement, 'NON_VENTILE') AS departement,
       coalesce(famille, 'INCONNU') AS famille, coalesce(kind, 'INCONNU') AS type_structure,
       count(*)::DOUBLE AS valeur, count(*) AS population
FROM structures GROUP BY ALL
UNION ALL
SELECT 'part_montant_titulaires', annee, 'IDF', 'TOUTES', 'TOUS',
       round(sum(CASE WHEN s THEN montant_part ELSE 0 END) / sum(montant_part), 6),
       count(DISTINCT uid) FILTER (WHERE s)
FROM (SELECT t.*, t.titulaire_id IN (SELECT siret FROM structures)
                  OR t.titulaire_id[1:9] IN (SELECT siret[1:9] FROM structures) AS s FROM titulaires t)
GROUP BY ALL
UNION ALL
SELECT 'part_heures_employeurs', year(h.mois), 'IDF', 'TOUTES', 'TOUS',
       round(sum(CASE WHEN s THEN h.heures ELSE 0 END) / sum(h.heures), 6),
       count(DISTINCT c.person_key) FILTER (WHERE s)
FROM heures h JOIN (SELECT *, entreprise_siret[1:9] IN (SELECT siret[1:9] FROM structures) AS s FROM contrats) c
     USING (contrat_key)
GROUP BY ALL;

-- gold/sorties_6_mois: each ended work contract with valid hours whose observation window ({window_lo}-{window_hi}
-- months after its end) is over gets one situation: the one observed in the window nearest to {target} months
-- (then the latest), else a non-response. Silver sorties: a participant, a known situation, a date up to today;
-- the contract the export names, else the person's contract whose window holds the date (nearest to the
-- target, then the smallest key); the latest export of a (person, contract, date).
CREATE OR REPLACE MACRO months_between(a, b) AS  -- Spark's: whole months on the same day or two month ends
    CASE WHEN day(a) = day(b) OR (a = last_day(a) AND b = last_day(b))
         THEN ((year(a) - year(b)) * 12 + month(a) - month(b))::DOUBLE
         ELSE round((year(a) - year(b)) * 12 + month(a) - month(b) + (day(a) - day(b)) / 31.0, 8) END;
CREATE OR REPLACE TEMP TABLE sorties AS
WITH s AS (
    SELECT row_number() OVER () AS rid, r.fichier, coalesce(l.person_key, r.facilitateur || ':' || trim(r.participant_id)) AS person_key,
           CASE WHEN txt(r.contrat_id) IS NOT NULL THEN r.facilitateur || ':' || txt(r.contrat_id) END AS contrat_nomme,
           fr_or_iso_date(r.date_situation) AS date_situation, code_of('outcomes', r.situation) AS sortie
    FROM sorties_raw r LEFT JOIN liens l ON l.participant_key = r.facilitateur || ':' || trim(r.participant_id)
    WHERE txt(r.participant_id) IS NOT NULL
      AND (txt(r.situation) IS NULL OR code_of('outcomes', r.situation) IS NOT NULL)
      AND fr_or_iso_date(r.date_situation) BETWEEN DATE '1990-01-01' AND DATE '{today}'),
deduit AS (
    SELECT s.rid, c.contrat_key FROM s JOIN contrats c
      ON s.contrat_nomme IS NULL AND c.person_key = s.person_key AND c.date_fin IS NOT NULL
     AND months_between(s.date_situation, c.date_fin) BETWEEN {window_lo} AND {window_hi}
    QUALIFY row_number() OVER (PARTITION BY s.rid ORDER BY abs(months_between(s.date_situation, c.date_fin) - {target}),
                               c.contrat_key) = 1),
k AS (SELECT s.*, coalesce(s.contrat_nomme, d.contrat_key) AS contrat_key FROM s LEFT JOIN deduit d USING (rid))
SELECT k.*, round(months_between(k.date_situation, c.date_fin), 2) AS mois_apres_fin,
       coalesce(months_between(k.date_situation, c.date_fin) BETWEEN {window_lo} AND {window_hi}, false) AS dans_fenetre
FROM k LEFT JOIN contrats c USING (contrat_key)
QUALIFY row_number() OVER (PARTITION BY k.person_key, coalesce(k.contrat_key, ''), k.date_situation
                           ORDER BY regexp_extract(k.fichier, '[^/]*$') DESC, k.rid DESC) = 1;
CREATE OR REPLACE TEMP TABLE result_sorties_6_mois AS
WITH exits AS (
    SELECT contrat_key, person_key, date_fin FROM contrats
    WHERE date_fin IS NOT NULL AND date_fin + INTERVAL {window_hi} MONTH < DATE '{today}'
      AND contrat_key IN (SELECT contrat_key FROM heures)),
observed AS (
    SELECT contrat_key, person_key, sortie FROM sorties WHERE dans_fenetre AND contrat_key IS NOT NULL
    QUALIFY row_number() OVER (PARTITION BY contrat_key, person_key
                               ORDER BY abs(mois_apres_fin - {target}), date_situation DESC,
                                        regexp_extract(fichier, '[^/]*$') DESC) = 1),
one AS (SELECT e.date_fin, coalesce(o.sortie, 'NON_REPONSE') AS sortie FROM exits e LEFT JOIN observed o USING (contrat_key, person_key))
SELECT year(date_fin) AS annee, count(*) AS n_sorties, count(*) FILTER (WHERE sortie <> 'NON_REPONSE') AS n_reponses,
       count(*) FILTER (WHERE sortie = 'NON_REPONSE') AS non_reponse,
       {outcome_counts}  -- one count per outcome code of the referential
FROM one GROUP BY ALL;

-- gold/beneficiaires: distinct persons with valid hours in the year, by each profile dimension (the profile of
-- the person's earliest entry, then facilitator and participant key) and by eligibility criterion. Silver
-- participants: one per participant (its latest export), labels coded on the referential; the age band from
-- the birth date (the project's parser, the UDF birth_iso) on the start of the person's first contract with
-- valid hours.
CREATE OR REPLACE TEMP TABLE age_bands AS
SELECT code, CAST(min_age AS INTEGER) AS lo, CAST(max_age AS INTEGER) AS hi
FROM read_csv('{referential}/age_bands.csv', all_varchar = true);
CREATE OR REPLACE TEMP TABLE participants AS
SELECT r.facilitateur, r.facilitateur || ':' || trim(r.participant_id) AS participant_key,
       coalesce(l.person_key, r.facilitateur || ':' || trim(r.participant_id)) AS person_key,
       coalesce(code_of('sexes', r.sexe), 'INCONNU') AS sexe,
       coalesce(code_of('diploma_levels', r.niveau_diplome), 'INCONNU') AS niveau_diplome,
       coalesce(c.departement_code, CASE WHEN regexp_full_match(trim(r.commune_residence_insee), '\d[\dAB]\d{3}')
                THEN CASE WHEN starts_with(trim(r.commune_residence_insee), '97') THEN trim(r.commune_residence_insee)[1:3]
                          ELSE trim(r.commune_residence_insee)[1:2] END END) AS departement_residence,
       code_of('booleans', r.qpv) AS qpv, coalesce(code_of('prescribers', r.prescripteur), 'INCONNU') AS prescripteur,
       fr_or_iso_date(r.date_entree) AS date_entree, CAST(birth_iso(r.date_naissance) AS DATE) AS born,
       list_distinct(list_transform(list_filter(regexp_split_to_array(coalesce(r.criteres_eligibilite, ''), '\s*[|;,/]\s*'),
                                                x -> x <> ''), x -> coalesce(code_of('eligibility_criteria', x), 'INCONNU'))) AS criteres
FROM participants_raw r LEFT JOIN liens l ON l.participant_key = r.facilitateur || ':' || trim(r.participant_id)
LEFT JOIN commune_attrs c ON c.code_insee = trim(r.commune_residence_insee)
WHERE txt(r.participant_id) IS NOT NULL
QUALIFY row_number() OVER (PARTITION BY participant_key ORDER BY regexp_extract(r.fichier, '[^/]*$') DESC) = 1;
CREATE OR REPLACE TEMP TABLE person_age AS
WITH first AS (SELECT person_key, min(date_debut) AS premier FROM contrats
               WHERE contrat_key IN (SELECT contrat_key FROM heures) GROUP BY ALL),
births AS (SELECT person_key, max(born) AS born FROM participants GROUP BY ALL),
ages AS (SELECT f.person_key, year(premier) - year(born)
                - CASE WHEN month(premier) < month(born) OR (month(premier) = month(born) AND day(premier) < day(born))
                       THEN 1 ELSE 0 END AS age
         FROM first f LEFT JOIN births b USING (person_key))
SELECT person_key, coalesce((SELECT code FROM age_bands WHERE age BETWEEN lo AND hi), 'INCONNU') AS tranche_age
FROM ages;
CREATE OR REPLACE TEMP TABLE result_beneficiaires AS
WITH active AS (SELECT DISTINCT c.person_key, year(h.mois) AS annee FROM heures h JOIN contrats c USING (contrat_key)),
profile AS (
    SELECT p.*, coalesce(a.tranche_age, 'INCONNU') AS tranche_age FROM participants p LEFT JOIN person_age a USING (person_key)
    QUALIFY row_number() OVER (PARTITION BY person_key ORDER BY date_entree ASC NULLS LAST, facilitateur, participant_key) = 1),
j AS (SELECT * FROM active LEFT JOIN profile USING (person_key)),
long AS (
    SELECT annee, person_key, 'ensemble' AS dimension, 'TOTAL' AS valeur FROM j
    UNION ALL SELECT annee, person_key, 'sexe', coalesce(sexe, 'INCONNU') FROM j
    UNION ALL SELECT annee, person_key, 'tranche_age', coalesce(tranche_age, 'INCONNU') FROM j
    UNION ALL SELECT annee, person_key, 'niveau_diplome', coalesce(niveau_diplome, 'INCONNU') FROM j
    UNION ALL SELECT annee, person_key, 'departement_residence', coalesce(departement_residence, 'INCONNU') FROM j
    UNION ALL SELECT annee, person_key, 'qpv', coalesce(qpv, 'INCONNU') FROM j
    UNION ALL SELECT annee, person_key, 'prescripteur', coalesce(prescripteur, 'INCONNU') FROM j
    UNION ALL SELECT annee, person_key, 'critere', coalesce(unnest(CASE WHEN len(criteres) > 0 THEN criteres ELSE [NULL] END), 'INCONNU') FROM j)
SELECT annee, dimension, valeur, count(DISTINCT person_key) AS n_personnes FROM long GROUP BY ALL;
