"""A national-size SIRENE establishment stock: ``python -m generator.sirene --gb 5 --out DIR``.

The file has the official ``StockEtablissement`` layout (INSEE's 54 columns, UTF-8, ``,``, one header line,
quoted fields where a comma appears) and realistic values (Luhn-valid SIREN and SIRET, NAF codes, IDF and
other communes, addresses, dates), seeded: same arguments, same bytes. It is written line by line until it
reaches the requested size, so memory stays flat whatever the size (a few MiB).
"""

from __future__ import annotations

import argparse
import json
import random
import resource
import time
from pathlib import Path

from schemas import referential as ref

# INSEE's StockEtablissement (data.gouv.fr, "Base Sirene des entreprises et de leurs établissements"), 2025.
HEADER = (
    "siren,nic,siret,statutDiffusionEtablissement,dateCreationEtablissement,trancheEffectifsEtablissement,"
    "anneeEffectifsEtablissement,activitePrincipaleRegistreMetiersEtablissement,dateDernierTraitementEtablissement,"
    "etablissementSiege,nombrePeriodesEtablissement,complementAdresseEtablissement,numeroVoieEtablissement,"
    "indiceRepetitionEtablissement,dernierNumeroVoieEtablissement,indiceRepetitionDernierNumeroVoieEtablissement,"
    "typeVoieEtablissement,libelleVoieEtablissement,codePostalEtablissement,libelleCommuneEtablissement,"
    "libelleCommuneEtrangerEtablissement,distributionSpecialeEtablissement,codeCommuneEtablissement,"
    "codeCedexEtablissement,libelleCedexEtablissement,codePaysEtrangerEtablissement,"
    "libellePaysEtrangerEtablissement,identifiantAdresseEtablissement,coordonneeLambertAbscisseEtablissement,"
    "coordonneeLambertOrdonneeEtablissement,complementAdresse2Etablissement,numeroVoie2Etablissement,"
    "indiceRepetition2Etablissement,typeVoie2Etablissement,libelleVoie2Etablissement,codePostal2Etablissement,"
    "libelleCommune2Etablissement,libelleCommuneEtranger2Etablissement,distributionSpeciale2Etablissement,"
    "codeCommune2Etablissement,codeCedex2Etablissement,libelleCedex2Etablissement,codePaysEtranger2Etablissement,"
    "libellePaysEtranger2Etablissement,dateDebut,etatAdministratifEtablissement,enseigne1Etablissement,"
    "enseigne2Etablissement,enseigne3Etablissement,denominationUsuelleEtablissement,"
    "activitePrincipaleEtablissement,nomenclatureActivitePrincipaleEtablissement,caractereEmployeurEtablissement,"
    "activitePrincipaleNAF25Etablissement"
)
COLUMNS = HEADER.split(",")
NAF = ["41.20A", "43.21A", "43.99C", "81.21Z", "42.11Z", "71.12B", "81.30Z", "49.41A", "56.10A", "47.11F",
       "62.01Z", "68.20B", "86.21Z", "85.59A", "88.99B", "94.99Z", "46.90Z", "70.22Z", "45.20A", "96.02A"]
TRANCHES = ["NN", "00", "01", "02", "03", "11", "12", "21", "22", "31", "32", "41", "42", "51", "52", "53"]
VOIES = ["RUE", "AV", "BD", "PL", "CHE", "ALL", "IMP", "RTE", "QUAI", "SQ"]
STREETS = ["DE LA REPUBLIQUE", "JEAN JAURES", "VICTOR HUGO", "DU GENERAL DE GAULLE", "PASTEUR", "DES LILAS",
           "DE PARIS", "GAMBETTA", "DU MARECHAL FOCH", "DE LA GARE", "DES ECOLES", "CARNOT", "DU MOULIN"]
ENSEIGNES = ["", "", "", "", "BOULANGERIE DU CENTRE", "GARAGE DE LA GARE", "CAFE DES SPORTS", "PHARMACIE, CENTRALE",
             "LE BON COIN", "AU PETIT MARCHE"]


_DOUBLED = str.maketrans("0123456789", "0246813579")  # 2d, digits summed (Luhn)


def luhn_digit(digits: str) -> str:
    """The digit that makes ``digits`` + it pass the Luhn check (SIREN, SIRET)."""
    total = sum(map(int, digits[-1::-2].translate(_DOUBLED))) + sum(map(int, digits[-2::-2]))
    return str(-total % 10)


def _tails(rng: random.Random, communes: list[dict], n: int) -> list[str]:
    """``n`` distinct ends of lines (everything after siren, nic, siret): the values that make a line
    realistic, computed once and combined with fresh identifiers."""
    out = []
    for _ in range(n):
        c = rng.choice(communes)
        naf = rng.choice(NAF)
        created = f"{rng.randint(1950, 2025)}-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}"
        active = rng.random() < 0.55
        tranche = rng.choice(TRANCHES)
        enseigne = rng.choice(ENSEIGNES)
        values = [
            "O" if rng.random() < 0.97 else "P", created, tranche, "2022" if tranche != "NN" else "", "",
            f"{created}T00:00:00", "true" if rng.random() < 0.4 else "false", str(rng.randint(1, 6)),
            "BAT A" if rng.random() < 0.05 else "", str(rng.randint(1, 180)), "B" if rng.random() < 0.03 else "",
            "", "", rng.choice(VOIES), rng.choice(STREETS), c["codes_postaux"].split("|")[0], c["nom"].upper(),
            "", "", c["code_insee"], "", "", "", "",
            f"{c['code_insee']}_{rng.randint(1000, 9999)}_{rng.randint(1, 200):05d}",
            f"{rng.uniform(600000, 700000):.1f}", f"{rng.uniform(6800000, 6900000):.1f}", "", "", "", "", "", "", "",
            "", "", "", "", "", "", "", created, "A" if active else "F",
            f'"{enseigne}"' if "," in enseigne else enseigne, "", "", "", naf, "NAFRev2",
            "O" if tranche not in ("NN", "00") else "N", naf.replace(".", "") + "0",
        ]
        out.append(",".join(values))
    return out


def write_stock(path: Path, size_bytes: int, seed: int = 42, progress: bool = False) -> dict:
    """Write a StockEtablissement file of about ``size_bytes`` (whole lines); returns what was written."""
    rng = random.Random(seed)
    communes = [c for c in ref.idf_communes() if c["type"] == "commune-actuelle"]
    tails = _tails(rng, communes, 10_000)
    path.parent.mkdir(parents=True, exist_ok=True)
    started, written, lines = time.perf_counter(), 0, 0
    siren_base = rng.randrange(10_000_000, 20_000_000)
    with path.open("w", encoding="utf-8", newline="") as f:
        header = ",".join(COLUMNS) + "\r\n"
        f.write(header)
        written += len(header)
        block: list[str] = []
        unit = 0
        while written < size_bytes:
            siren8 = str(siren_base + unit)
            siren = siren8 + luhn_digit(siren8)
            unit += 1
            for k in range(1 + (unit % 3 == 0) + (unit % 7 == 0) * 2):  # a few units have several sites
                nic4 = f"{k + 1:04d}"
                siret = siren + nic4 + luhn_digit(siren + nic4)
                line = f"{siren},{siret[9:]},{siret},{tails[rng.getrandbits(30) % len(tails)]}\r\n"
                block.append(line)
                written += len(line.encode("utf-8")) if not line.isascii() else len(line)
                lines += 1
            if len(block) >= 10_000:
                f.write("".join(block))
                block.clear()
                if progress:
                    print(f"\r{written / 2**30:.2f} GiB, {lines:,} lines", end="", flush=True)
        f.write("".join(block))
    if progress:
        print()
    return {"path": str(path), "bytes": path.stat().st_size, "lines": lines, "units": unit, "seed": seed,
            "seconds": round(time.perf_counter() - started, 1),
            "peak_rss_mib": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--gb", type=float, default=5.0, help="size of the file, in GB (10^9 bytes)")
    parser.add_argument("--out", default="data/inbox/sirene", help="folder of the file")
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--progress", action="store_true")
    args = parser.parse_args()
    out = Path(args.out) / "StockEtablissement_utf8.csv"
    print(json.dumps(write_stock(out, int(args.gb * 1e9), args.seed, args.progress), indent=1))


if __name__ == "__main__":
    main()
