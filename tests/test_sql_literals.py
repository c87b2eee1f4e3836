"""Text reaches SQL as bound parameters, and where DuckDB takes none (views, macros) through the one literal
builder, store.quote_literal: hostile text comes back byte for byte either way."""

from __future__ import annotations

import pytest

from opsdash import contract
from opsdash.ingest import validate
from opsdash.ingest.mapping import load_mapping
from opsdash.ingest.params import Params
from opsdash.ingest.plan import plan_columns
from opsdash.store import Store, quote_literal

HOSTILE = [
    "'); DROP TABLE claims; --", "it's", "''", "'", "\\", "back\\slash\\'", "\\x00\\'", "a\x00b", "\x00",
    "line\nbreak\r\n", "tab\t\x7f\x1b[31mred", "é漢字🙂\u202eevil\u200b", "$1 ? %s {x} :name", '"quoted" identifier',
    "E'\\n'", "/* comment */ --", "x" * 10_000, "",
]


@pytest.fixture
def tx(tmp_path):
    s = Store(tmp_path / "lit.duckdb")
    with s.transaction() as t:
        yield t
    s.close()


@pytest.mark.parametrize("text", HOSTILE, ids=range(len(HOSTILE)))
def test_quote_literal_round_trips_hostile_text_through_real_statements(tx, text):
    lit = quote_literal(text)
    assert tx.fetchone(f"SELECT {lit}")[0] == text
    # Where the literal builder is meant for: statements that take no parameters.
    tx.execute(f"CREATE OR REPLACE TEMP VIEW _lit AS SELECT {lit} AS v")
    assert tx.fetchone("SELECT v FROM _lit")[0] == text
    tx.execute(f"CREATE OR REPLACE TEMP MACRO _lit_m(v) AS {lit} || v")
    assert tx.fetchone("SELECT _lit_m('!')")[0] == text + "!"
    assert tx.fetchone(f"SELECT list_contains([{lit}, 'other'], ?)", [text])[0] is True
    assert tx.fetchone("SELECT count(*) FROM duckdb_tables() WHERE table_name = 'claims'")[0] == 1


def test_params_bind_each_value_once_and_hostile_text_round_trips(tx):
    p = Params()
    marks = [p(t) for t in HOSTILE]
    assert p(HOSTILE[0]) == marks[0] and len(p.values) == len(HOSTILE)
    assert p({"c0": "VARCHAR"}) != p({"c0": "VARCHAR"})  # unhashable values are bound as they are
    p.values = p.values[:len(HOSTILE)]
    assert list(tx.fetchone(f"SELECT {', '.join(marks)}", p.values)) == HOSTILE


def test_the_staging_select_binds_mapping_values_and_headers(tmp_path, tx):
    """Mapping constants, templates, value codes, null tokens, defaults, skip values, formats and the file's
    headers travel as parameters: none of them is written into the statement's text."""
    evil = "x'); DROP TABLE claims; --"
    m = tmp_path / "m.toml"
    m.write_text(f"""
table = "claims"
null_tokens = ["{evil}N/A"]
[columns]
claim_id = "Ref {evil}"
vendor = {{ const = "Vendor {evil}" }}
facility = {{ template = "F-{{Site {evil}}}-{evil}" }}
[values.initial_outcome]
"{evil}ok" = "paid"
[[skip]]
column = "Ref {evil}"
in = ["{evil}skip"]
""".replace("\\", "\\\\"), encoding="utf-8")
    mapping = load_mapping(m)
    headers = [c.name for c in contract.TABLES["claims"].columns if c.name not in ("claim_id", "vendor", "facility")]
    headers += [f"Ref {evil}", f"Site {evil}"]
    plan = plan_columns("f.csv", headers, None, mapping)
    p = Params()
    src = f"SELECT {', '.join(f'c{i}' for i in range(len(headers)))} FROM (SELECT " + ", ".join(
        f"{p(v)}::VARCHAR AS c{i}" for i, v in enumerate(_values(headers, evil))) + ")"
    sql = validate.stage_select(p, plan.table, plan.bindings, headers, plan.phi_indexes, mapping, "UTC", src,
                                plan.skip_indexes, plan.order_index)
    assert "DROP TABLE" not in sql and evil not in sql and "Ref " not in sql
    for sql_text in validate.phi_macros():
        tx.execute(sql_text)
    got = tx.query(f"SELECT * FROM ({sql})", p.values)
    assert got.loc[0, "claim_id"] == "C1" + evil
    assert got.loc[0, "vendor"] == "Vendor " + evil
    assert got.loc[0, "facility"] == f"F-S{evil}-{evil}"
    assert got.loc[0, "initial_outcome"] == "paid"
    assert got.loc[0, "_reason"] is None or "claim_id" not in got.loc[0, "_reason"]
    assert f'"Ref {evil}"' in _json_keys(tx, f"Ref {evil}")


def _values(headers: list[str], evil: str) -> list[str]:
    from tests.helpers import row

    r = row("claims", initial_outcome=evil + "ok")
    out = []
    for h in headers:
        if h.startswith("Ref "):
            out.append("C1" + evil)
        elif h.startswith("Site "):
            out.append("S" + evil)
        else:
            out.append(str(r.get(h, "")))
    return out


def _json_keys(tx, header: str) -> str:
    """How a header is written as a key of a rejected row's raw values (bound, then JSON-escaped)."""
    return tx.fetchone("SELECT CAST(json_object(?, 1) AS VARCHAR)", [header])[0]

