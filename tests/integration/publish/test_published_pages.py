"""The published pages, after a real run: opened in headless Chromium (no missing-value text, every rate with its
n, labels readable), their numbers checked against the gold Delta tables (computed here with Spark SQL,
independently of the page code), PDFs rendered, small cells absent."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pandas as pd
import pytest
from pypdf import PdfReader

from dashboards.page import SECRET, fmt
from dashboards.render import CHROMIUM_ARGS, chromium_path
from jobs.core.settings import PROJECT_ROOT
from tests.integration.conftest import AS_OF_YEAR, RUN_ID

pytestmark = [pytest.mark.slow, pytest.mark.browser]

ARTIFACTS = PROJECT_ROOT / "test-artifacts"
IDF = "('75','77','78','91','92','93','94','95')"


def figures_data(page: Path) -> dict:
    """The page's figures (pages of the run itself, like qualite.html and ops.html, have none)."""
    found = re.search(r'id="figures-data">(.*?)</script>', page.read_text(encoding="utf-8"), re.S)
    return json.loads(found.group(1)) if found else {}


def sql_one(spark, settings, query: str, **tables):
    for name, table in tables.items():
        spark.read.format("delta").load(settings.table_uri(table)).createOrReplaceTempView(name)
    return spark.sql(query).collect()


@pytest.fixture(scope="module")
def pages(pipeline_run):
    settings, _, _ = pipeline_run
    out = Path(settings.output_dir)
    html = sorted((out / "dashboards").glob("*.html")) + sorted((out / "sheets").glob("*.html")) + sorted(
        (out / "reports").glob("*.html"))
    return settings, out, html


# The text a reader sees, SVG included (chart labels, legends, maps), scripts and styles excluded.
VISIBLE_TEXT = """() => {
  const out = [];
  const walk = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT, {acceptNode: n =>
    n.parentElement.closest('script,style') ? NodeFilter.FILTER_REJECT : NodeFilter.FILTER_ACCEPT});
  while (walk.nextNode()) out.push(walk.currentNode.textContent);
  return out.join(' ');
}"""
# Every table cell or key figure showing a percentage shows it as a rate with its n.
RATES_WITHOUT_N = """() => [...document.querySelectorAll('td, .kpi .value')]
  .filter(e => /\\d\\s?%/.test(e.textContent))
  .filter(e => !e.querySelector('.rate .n') || !/n = (\\d|s)/.test(e.querySelector('.rate .n').textContent))
  .map(e => e.textContent)"""
MISSING = re.compile(r"(?<![\w-])(NaN|nan|None|<NA>|NaT|undefined|null)(?![\w-])")


def test_every_page_renders_offline_without_console_errors(pages):
    """Each page in a real browser: no console error, no request leaving the local files, every chart drawn,
    no missing value printed as text, every rate with the count it is computed on (n)."""
    from playwright.sync_api import sync_playwright

    settings, _, html = pages
    site = [p for p in html if p.parent.name == "dashboards"]
    assert {p.name for p in site} >= {"index.html", "acheteurs.html", "grand_paris.html", "elus.html",
                                      "coordinations.html", "partenaires.html", "prescripteurs.html", "qualite.html"}
    # All site pages and report, plus a sample of sheets (they share one template).
    sheets = [p for p in html if p.parent.name == "sheets"]
    opened = site + [p for p in html if p.parent.name == "reports"] + sheets[:3] + sheets[-3:]
    ARTIFACTS.mkdir(exist_ok=True)
    problems, charts, rates = [], {}, {}
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium_path(settings.chromium), args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1200, "height": 900})
        page.on("console", lambda m: problems.append(f"{page.url}: console {m.type}: {m.text}")
                if m.type in ("error", "warning") else None)
        page.on("pageerror", lambda e: problems.append(f"{page.url}: {e}"))
        page.on("request", lambda r: problems.append(f"request outside local files: {r.url}")
                if not r.url.startswith(("file://", "data:", "blob:")) else None)
        for path in opened:
            page.goto(path.as_uri(), wait_until="load")
            page.wait_for_function("() => [...document.querySelectorAll('.plotly-graph-div')]"
                                   ".every(d => d.querySelector('.main-svg'))", timeout=60_000)
            expected = page.locator(".plotly-graph-div").count()
            drawn = page.locator(".plotly-graph-div .main-svg").count()
            charts[path.name] = expected
            assert drawn >= expected, f"{path.name}: {drawn} drawn of {expected} charts"
            # Every displayed figure is the one in the page's data (what tests below compare with gold).
            data = page.evaluate("() => JSON.parse(document.getElementById('figures-data')?.textContent || '{}')")
            for element in page.locator("[data-key]").all():
                key = element.get_attribute("data-key")
                assert key in data, f"{path.name}: {key} shown but not in figures-data"
            text = page.evaluate(VISIBLE_TEXT)
            assert not MISSING.search(text), f"{path.name}: {MISSING.findall(text)[:5]} printed"
            assert page.evaluate(RATES_WITHOUT_N) == [], f"{path.name}: rates without their n"
            rates[path.name] = page.locator(".rate .n").count()
            if path.parent.name != "sheets" or path == opened[-1]:
                page.screenshot(path=str(ARTIFACTS / f"{path.parent.name}-{path.stem}.png"), full_page=True)
        browser.close()
    assert not problems, "\n".join(problems)
    assert all(charts[name] >= 2 for name in ("index.html", "elus.html", "partenaires.html", "coordinations.html"))
    assert all(rates[name] >= 5 for name in ("grand_paris.html", "prescripteurs.html", "coordinations.html"))


def shown(page: Path) -> dict[str, str]:
    """``data-key`` -> the text displayed on the page."""
    return dict(re.findall(r'data-key="([^"]+)">([^<]*)</span>', page.read_text(encoding="utf-8")))


def test_home_page_figures_equal_gold(spark, pages):
    settings, out, _ = pages
    (row,) = sql_one(spark, settings, f"""
        SELECT sum(nb_marches) n, sum(montant_total) m FROM m
        WHERE consideration_sociale = 'TOUTES' AND mois >= DATE'2018-10-01'
          AND departement IN {IDF}""", m="gold/marches_par_mois_departement")
    (apart,) = sql_one(spark, settings, """SELECT sum(nb_marches) n FROM m WHERE consideration_sociale = 'TOUTES'
        AND mois >= DATE'2018-10-01' AND departement = 'NON_VENTILE'""", m="gold/marches_par_mois_departement")
    # The year's hours from the fine gold table (an independent sum), persons from beneficiaires.
    (hours,) = sql_one(spark, settings, f"SELECT sum(heures_realisees) h FROM h WHERE annee = {AS_OF_YEAR}",
                       h="gold/heures_insertion")
    (persons,) = sql_one(spark, settings, f"""SELECT n_personnes FROM b
        WHERE dimension = 'ensemble' AND annee = {AS_OF_YEAR}""", b="gold/beneficiaires")
    assert row.n > 100 and hours.h > 1000 and persons.n_personnes > 5  # a real run, not empty tables
    text = shown(out / "dashboards" / "index.html")
    assert text["nb_marches_total"] == fmt(row.n)  # the eight IDF départements only
    assert text["nb_marches_non_ventiles"] == fmt(apart.n or 0)  # shown apart, never inside the IDF total
    assert text["montant_total"] == fmt(round(row.m))
    assert text[f"heures_realisees_{AS_OF_YEAR}"] == fmt(round(hours.h))  # the region's year: never small
    assert text[f"beneficiaires_{AS_OF_YEAR}"] == fmt(persons.n_personnes)


def test_elected_officials_map_and_department_sheet_equal_gold(spark, pages):
    """Hours and persons by département and year from gold, « s » exactly where the published open data says
    the figure is secret; the sheets' contract figures (public) always shown."""
    settings, out, _ = pages
    rows = sql_one(spark, settings, f"""SELECT h.departement, h.heures_realisees, h.n_personnes, f.n_marches, f.montant
        FROM h LEFT JOIN f ON f.departement = h.departement AND f.annee = {AS_OF_YEAR} AND f.trimestre = 0
        WHERE h.periode = '{AS_OF_YEAR}' AND h.departement IN {IDF}""", h="gold/heures_departement",
                   f="gold/fiches_territoires")
    assert len(rows) >= 4
    published = pd.read_parquet(out / "opendata" / "heures_departement.parquet")
    published = published[published.periode == str(AS_OF_YEAR)].set_index("departement")
    secret = published["secret_heures_realisees"].to_dict()
    secret_persons = published["secret_n_personnes"].to_dict()
    expected = {r.departement: None if secret[r.departement] else r.heures_realisees for r in rows}
    data = figures_data(out / "dashboards" / "elus.html")
    assert {d: v for d, v in data["heures_par_departement"].items() if d in expected} == expected
    assert sum(v is not None for v in expected.values()) >= 3  # not an all-secret page
    for r in rows:
        sheet = shown(out / "sheets" / f"departement-{r.departement}-{AS_OF_YEAR}.html")
        assert sheet["n_marches"] == fmt(r.n_marches or 0) and sheet["montant"] == fmt(round(r.montant or 0))
        assert sheet["heures_realisees"] == (SECRET if secret[r.departement] else fmt(round(r.heures_realisees)))
        assert sheet["n_personnes"] == (SECRET if secret_persons[r.departement] else fmt(r.n_personnes))


def test_report_figures_equal_gold(spark, pages):
    settings, out, _ = pages
    (row,) = sql_one(spark, settings, f"""SELECT sum(nb_marches) n FROM m WHERE consideration_sociale = 'TOUTES'
        AND year(mois) = {AS_OF_YEAR} AND departement IN {IDF}""",
                     m="gold/marches_par_mois_departement")
    (hours,) = sql_one(spark, settings, f"SELECT sum(heures_realisees) h FROM h WHERE annee = {AS_OF_YEAR}",
                       h="gold/heures_insertion")
    text = shown(out / "reports" / f"rapport-annuel-{AS_OF_YEAR}.html")
    assert text["nb_marches"] == fmt(row.n) and text["heures_realisees"] == fmt(round(hours.h))
    assert f"Chargement de référence : {RUN_ID}" in (
        out / "reports" / f"rapport-annuel-{AS_OF_YEAR}.html").read_text(encoding="utf-8")


def test_pdfs_render_with_pages(pages):
    _, out, html = pages
    for path in [p for p in html if p.parent.name in ("sheets", "reports")]:
        pdf = path.with_suffix(".pdf")
        assert pdf.exists(), f"{pdf.name} was not rendered"
        reader = PdfReader(pdf)
        assert len(reader.pages) >= 1
        assert "clauses sociales" in reader.pages[0].extract_text()
    report = out / "reports" / f"rapport-annuel-{AS_OF_YEAR}.pdf"
    assert len(PdfReader(report).pages) >= 4  # key figures, evolution, maps, methodology and quality
    ARTIFACTS.mkdir(exist_ok=True)
    shutil.copyfile(report, ARTIFACTS / report.name)


def test_no_published_page_shows_a_small_cell(spark, pages):
    """Every person count a page shows (its ``cellules``, and any key naming persons) is 0, at least the
    threshold, or secret (that each matches the open data is the disclosure audit's check: test_opendata)."""
    settings, _, html = pages
    threshold = settings.small_cell_threshold

    def walk(value, path=""):
        if isinstance(value, dict):
            for k, v in value.items():
                yield from walk(v, f"{path}.{k}")
        elif isinstance(value, list):
            for i, v in enumerate(value):
                yield from walk(v, f"{path}[{i}]")
        else:
            yield path, value

    counted = 0
    for page in html:
        data = figures_data(page)
        for cell in data.get("cellules", []):
            if "personnes" in cell["mesure"] or cell["mesure"] in ("n_sorties", "population", "n_contrats"):
                counted += 1
                assert cell["valeur"] is None or cell["valeur"] == 0 or cell["valeur"] >= threshold, (page.name, cell)
        for path, value in walk({k: v for k, v in data.items() if k != "cellules"}):
            if "personnes" in path or "beneficiaires" in path:
                assert value is None or value == 0 or value >= threshold, f"{page.name}{path} = {value}"
    assert counted > 20
