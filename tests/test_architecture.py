"""The shape of the house, checked from the source: which module may import which, and where SQL is written.

Imports are read from the syntax tree, inside functions too, so a lazy import counts like any other.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src"
PAGES = Path(__file__).resolve().parents[1] / "pages"


def _modules() -> dict[str, Path]:
    out = {}
    for p in SRC.rglob("*.py"):
        parts = p.relative_to(SRC).with_suffix("").parts
        out[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = p
    return out


MODULES = _modules()


def imports_of(name: str, path: Path, known: dict[str, Path] = MODULES) -> set[str]:
    """The modules of `known` that `path` imports, anywhere in it (``from a import b`` counts a.b when b is one)."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                up = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join(up + ([base] if base else []))
            for a in node.names:
                found.add(f"{base}.{a.name}" if f"{base}.{a.name}" in known else base)
    return {m for m in found if m in known and m != name}


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The groups of modules that reach each other (Tarjan's strongly connected components of two or more)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    out: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        for w in sorted(graph[v]):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            group = []
            while True:
                w = stack.pop()
                group.append(w)
                if w == v:
                    break
            if len(group) > 1:
                out.append(sorted(group))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return out


GRAPH = {name: imports_of(name, path) for name, path in MODULES.items()}


def test_the_cycle_finder_finds_a_loop_through_a_lazy_import(tmp_path):
    """The checker itself: a loop closed by an import inside a function is found, a chain is not."""
    pkg = tmp_path / "p"
    pkg.mkdir()
    (pkg / "__init__.py").write_text("")
    (pkg / "a.py").write_text("from p import b\n")
    (pkg / "b.py").write_text("def f():\n    from p.c import x\n")
    (pkg / "c.py").write_text("import p.a\nx = 1\n")
    (pkg / "d.py").write_text("from p import a\n")
    known = {f"p.{n}": pkg / f"{n}.py" for n in "abcd"} | {"p": pkg / "__init__.py"}
    graph = {n: imports_of(n, p, known) for n, p in known.items()}
    assert cycles(graph) == [["p.a", "p.b", "p.c"]]


def test_no_module_imports_one_that_imports_it_back():
    assert cycles(GRAPH) == []


def _under(name: str, package: str) -> bool:
    return name == package or name.startswith(package + ".")


#: (who, what it must not import, except): the contract declares the data and stands on periods and PHI words
#: alone (the catalogue reads it, never the reverse); the gateway sits on the contract alone; ingest never climbs to the
#: command line or the dashboard; Streamlit code (ui/) is reached only from itself; the sample-data generator
#: only from the command line.
RULES: list = [
    ("opsdash.contract", "opsdash", ("opsdash.contract", "opsdash.periods", "opsdash.phi")),
    ("opsdash.store", "opsdash", ("opsdash.contract",)),
    ("opsdash.ingest", "opsdash.cli", ()),
    ("opsdash.ingest", "opsdash.ui", ()),
    ("opsdash", "opsdash.ui", ("opsdash.ui",)),
    ("opsdash", "opsdash.sample", ("opsdash.sample", "opsdash.cli")),
    ("opsdash", "opsdash.spark", ("opsdash.spark", "opsdash.cli")),
]


@pytest.mark.parametrize("who, what, but", RULES)
def test_lower_modules_never_reach_up(who, what, but):
    for name, deps in GRAPH.items():
        if not _under(name, who) or any(_under(name, b) for b in but):
            continue
        wrong = sorted(d for d in deps if _under(d, what) and not any(_under(d, b) for b in but))
        assert not wrong, f"{name} imports {wrong}"


def test_only_the_store_imports_duckdb_only_ui_streamlit_and_only_spark_pyspark():
    for name, path in MODULES.items():
        tree = ast.parse(path.read_text(encoding="utf-8"))
        roots = {a.name.split(".")[0] for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}
        roots |= {n.module.split(".")[0] for n in ast.walk(tree) if isinstance(n, ast.ImportFrom) and n.module}
        if "duckdb" in roots:
            assert name == "opsdash.store", f"{name} imports duckdb"
        if "streamlit" in roots:
            assert name.startswith("opsdash.ui"), f"{name} imports streamlit"
        if "pyspark" in roots:  # an optional extra: the rest of opsdash runs without it
            assert name.startswith("opsdash.spark"), f"{name} imports pyspark"


#: The modules that write SQL: the gateway, the named queries, the KPI compiler and its roll-ups, the catalogue's
#: declarations, ingest's staging, and the Spark engine's own SQL (run on Spark, never on the store).
SQL_MODULES = ("opsdash.store", "opsdash.queries", "opsdash.metrics", "opsdash.rollups", "opsdash.catalog",
               "opsdash.ingest", "opsdash.spark")
_STATEMENT = re.compile(r"\b(SELECT\b.*\bFROM|INSERT\s+(OR\s+\w+\s+)?INTO|DELETE\s+FROM|UPDATE\s+\w+\s+SET|"
                        r"(CREATE|DROP)\s+(OR\s+REPLACE\s+)?(TEMP\s+)?(TABLE|VIEW|SEQUENCE)|read_csv|read_parquet)",
                        re.S)  # opsdash writes SQL keywords in capitals; words for people are not
_RUNS_SQL = {"query", "fetchone", "fetchall", "execute"}


def sql_written_in(path: Path) -> list[str]:
    """Where a file writes a SQL statement (a string or f-string shaped like one) or runs one on a store."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.JoinedStr):
            text = "".join(v.value if isinstance(v, ast.Constant) else "{}" for v in node.values)
        elif isinstance(node, ast.Constant) and isinstance(node.value, str):
            text = node.value
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr in _RUNS_SQL:
            text = f"SELECT … FROM (.{node.func.attr} call)"
        else:
            continue
        if _STATEMENT.search(text):
            found.append(f"{path.name}:{node.lineno}")
    return sorted(set(found), key=lambda hit: int(hit.rpartition(":")[2]))


def test_the_sql_finder_sees_statements_and_store_calls(tmp_path):
    page = tmp_path / "page.py"
    page.write_text('x = f"SELECT a FROM {t}"\nstore.fetchone(q)\nwords = "select a colour from the list"\n'
                    'ok = "initial_outcome = \'denied\'"\n', encoding="utf-8")
    assert sql_written_in(page) == ["page.py:1", "page.py:2"]


def test_sql_is_written_only_in_the_store_facing_modules():
    """Pages, ui/, views, the CLI, sla, the review pack and the rest call queries' named functions."""
    outside = [p for name, p in MODULES.items() if not any(_under(name, m) for m in SQL_MODULES)]
    outside += [*PAGES.glob("*.py"), PAGES.parent / "app.py"]
    written = [hit for p in outside for hit in sql_written_in(p)]
    assert written == []


def test_a_store_whose_preparation_fails_is_closed(tmp_path, monkeypatch):
    """lifecycle.open_store never leaves the file locked by a store its caller never got."""
    from opsdash import audit, lifecycle
    from opsdash.store import Store

    db = tmp_path / "s.duckdb"
    Store(db).close()

    def broken(store: Store) -> int:
        raise OSError("the spool is unreadable")

    monkeypatch.setattr(audit, "flush", broken)
    with pytest.raises(OSError, match="spool") as failed:
        lifecycle.open_store(db)
    # The traceback (kept, as a caller's error handler may keep it) still reaches the store: only closing it
    # lets another connection of this process in.
    with Store(db, read_only=True) as reader:
        assert reader.fetchone("SELECT count(*) FROM loads") == (0,)
    assert failed.value
