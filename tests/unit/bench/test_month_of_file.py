"""Which delivery a generated file belongs to, when the benchmark splits the history from month M+1."""

from bench.run import month_of_file


def test_a_correction_comes_with_its_month():
    assert month_of_file("decp_2026-11.json") == "2026-11"
    assert month_of_file("clause91_heures_2026-11.csv") == "2026-11"
    # Loaded with the history (as before), it was replaced by the month's own export delivered after it:
    # at 1M, 151 contract-months of 2026-11 differed from the DuckDB baseline.
    assert month_of_file("clause91_heures_2026-11_rectificatif.csv") == "2026-11"
    assert month_of_file("structures_inclusion_idf.csv") is None
    assert month_of_file("clause75_operations_2024.csv") is None  # a yearly list
