"""The layout holds: no import cycle, the DAGs reach the jobs through the registry only, every stage
documents what it reads and writes."""

from __future__ import annotations

import ast
import importlib

import grimp
import pytest

from jobs import pipeline
from jobs.core.settings import PROJECT_ROOT

PACKAGES = ("jobs", "dashboards", "schemas")


def _cycles(graph: grimp.ImportGraph) -> list[list[str]]:
    """Import cycles between modules (depth-first search over the graph)."""
    found, state = [], {}

    def visit(module: str, path: list[str]) -> None:
        state[module] = "open"
        for nxt in sorted(graph.find_modules_directly_imported_by(module)):
            if state.get(nxt) == "open":
                found.append([*path[path.index(nxt):], nxt] if nxt in path else [module, nxt])
            elif nxt not in state:
                visit(nxt, [*path, nxt])
        state[module] = "done"

    for module in sorted(graph.modules):
        if module not in state:
            visit(module, [module])
    return found


def test_no_import_cycle():
    graph = grimp.build_graph(*PACKAGES)
    assert _cycles(graph) == []


def test_the_cycle_finder_finds_a_cycle():
    graph = grimp.ImportGraph()
    for a, b in (("x.a", "x.b"), ("x.b", "x.c"), ("x.c", "x.a")):
        graph.add_import(importer=a, imported=b)
    assert _cycles(graph) == [["x.a", "x.b", "x.c", "x.a"]]


def test_dags_import_only_the_registry():
    for path in (PROJECT_ROOT / "dags").glob("*.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        modules = {n.module for n in ast.walk(tree) if isinstance(n, ast.ImportFrom) and n.module}
        modules |= {a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}
        ours = {m for m in modules if m.split(".")[0] in ("jobs", "dashboards", "generator", "bench")}
        names = {a.name for n in ast.walk(tree) if isinstance(n, ast.ImportFrom) and n.module == "jobs"
                 for a in n.names}
        assert ours <= {"jobs"} and names <= {"pipeline"}, f"{path.name} imports {ours} {names}"


@pytest.mark.parametrize("stage", sorted(set(pipeline.JOBS) - {"run_report", "monitoring", "maintenance",
                                                                  "rotate_key", "locks"}))
def test_each_stage_documents_what_it_reads_and_writes(stage):
    run = importlib.import_module(pipeline.JOBS[stage]).run
    doc = run.__doc__ or ""
    assert "Reads" in doc and "write" in doc.lower(), f"{pipeline.JOBS[stage]}.run: {doc!r}"
