"""The cross-facilitator person key: which names and birth dates make one person, and which make none."""

from __future__ import annotations

from datetime import date

import pytest

from jobs.core.privacy import birth_date_iso, name_key, person_link_key, pseudonymize

KEY = b"k"


@pytest.mark.parametrize(("written", "iso"), [
    ("20/08/1998", "1998-08-20"), ("1998-08-20", "1998-08-20"), ("20-08-1998", "1998-08-20"),
    ("20.08.1998", "1998-08-20"), ("5/4/1988", "1988-04-05"), ("1998-08-20T00:00:00", "1998-08-20"),
    ("1998", None), ("20/08/98", None), ("31/02/1990", None), ("", None), (None, None), ("01/01/1890", None),
    ("01/01/2030", None),  # after today (2026-01-15 here)
])
def test_birth_dates(written, iso):
    assert birth_date_iso(written, today=date(2026, 1, 15)) == iso


def test_names_fold_to_letters():
    assert name_key("Jean-Pierre") == name_key("JEAN PIERRE") == name_key(" jean pierre ") == "jeanpierre"
    assert name_key("N'Diaye") == name_key("NDIAYE") == "ndiaye"
    assert name_key("Éloïse") == "eloise" and name_key("Lætitia") == "laetitia"


def test_the_key_needs_all_three_and_is_keyed():
    expected = pseudonymize(KEY, "personne", "diallo|fatou|1998-08-20")
    assert person_link_key(KEY, "DIALLO", "Fatou", "1998-08-20") == expected
    assert person_link_key(b"other", "DIALLO", "Fatou", "1998-08-20") != expected
    assert person_link_key(KEY, "Diallo", "Fatou", "1998-08-21") != expected
    assert person_link_key(KEY, "Diallo", "", "1998-08-20") is None
    assert person_link_key(KEY, None, "Fatou", "1998-08-20") is None
    assert person_link_key(KEY, "Diallo", "Fatou", None) is None
