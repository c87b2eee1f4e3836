"""The plan stage on its own: from a file's header (and a mapping) to the table, the source of each column,
the PHI columns never read and the columns ignored; refusals that say what to change."""

from __future__ import annotations

import pytest

from opsdash import contract
from opsdash.ingest import readers
from opsdash.ingest.errors import FileRefused
from opsdash.ingest.mapping import load_mapping
from opsdash.ingest.plan import Binding, plan_columns, read_source
from opsdash.store import Store

CLAIMS = ["claim_id", "vendor", "received_date", "submitted_date", "adjudicated_date", "initial_outcome",
          "billed_amount", "paid_amount"]


def test_the_table_is_told_from_the_headers_in_any_spelling():
    headers = ["Claim ID", "VENDOR", "received-date", *CLAIMS[3:], "Patient SSN", "Notes"]
    plan = plan_columns("c.csv", headers, None, None)
    assert plan.table.name == "claims"
    assert plan.bindings["claim_id"] == Binding("source", index=0)
    assert plan.bindings["vendor"] == Binding("source", index=1)
    assert plan.bindings["received_date"] == Binding("source", index=2)
    assert plan.phi_indexes == {len(CLAIMS)} and plan.phi_columns == ["Patient SSN"]
    assert plan.ignored == ["Notes"]
    assert set(plan.bindings) <= set(contract.TABLES["claims"].column_names)


def test_a_mapping_gives_constants_templates_skip_and_order(tmp_path):
    m = tmp_path / "m.toml"
    m.write_text('table = "claims"\norder_by = "Updated"\n[columns]\nclaim_id = "Ref"\n'
                 'vendor = { const = "Acme" }\nfacility = { template = "{Site}-{Unit}" }\n'
                 '[[skip]]\ncolumn = "Kind"\nequals = "test"\n')
    headers = ["Ref", "Site", "Unit", "Kind", "Updated", *CLAIMS[2:]]
    plan = plan_columns("c.csv", headers, None, load_mapping(m))
    assert plan.bindings["claim_id"] == Binding("source", index=0)
    assert plan.bindings["vendor"] == Binding("const", value="Acme")
    assert plan.bindings["facility"] == Binding("template", value="{Site}-{Unit}", fields=(("Site", 1), ("Unit", 2)))
    assert plan.skip_indexes == {3: ("test",)} and plan.order_index == 4
    assert plan.ignored == []
    # Constants and templates are SQL only through a binder: the text is never written into the statement.
    bound: list[str] = []
    assert plan.bindings["vendor"].sql(lambda v: bound.append(v) or "$1") == "$1" and bound == ["Acme"]


@pytest.mark.parametrize("headers, table, words", [
    (["claim_id", "vendor", "submitted_date", "billed_amount"], None, "looks like claims; missing required column(s) received_date"),
    (["a;b;c"], None, "cannot tell which table this file holds"),
    (["a~b~c"], None, "Only one column was found"),
    ([*CLAIMS, "Claim_ID"], None, "column 'claim_id' appears 2 times (columns 1, 9)"),
    (CLAIMS, "nope", "unknown table 'nope'"),
    (CLAIMS[1:], "claims", "missing required column(s) claim_id for table claims"),
])
def test_a_file_that_cannot_be_planned_is_refused_saying_why(headers, table, words):
    with pytest.raises(FileRefused) as err:
        plan_columns("f.csv", headers, table, None)
    assert words in str(err.value) and str(err.value).startswith("f.csv: ")


def test_a_mapping_may_not_read_a_patient_identifier(tmp_path):
    m = tmp_path / "m.toml"
    m.write_text('table = "claims"\n[columns]\nclaim_id = "SSN"\n')
    with pytest.raises(FileRefused, match="names a patient identifier; such columns are never stored"):
        plan_columns("f.csv", ["SSN", *CLAIMS[1:]], None, load_mapping(m))


def test_read_source_reads_a_csv_header_and_its_delimiter(tmp_path):
    p = tmp_path / "c.csv"
    p.write_text(";".join(CLAIMS) + "\n" + ";".join("x" * len(CLAIMS)) + "\n")
    info = readers.sniff_file(p, None)
    with Store(tmp_path / "s.duckdb") as s:
        src = read_source(s, info, None, tmp_path, readers.limits())
    assert (src.headers, src.delimiter, info.delimiter) == (CLAIMS, ";", "semicolon")


def test_read_source_refuses_a_parquet_file_that_is_not_one(tmp_path):
    p = tmp_path / "c.parquet"
    p.write_bytes(b"PAR1" + b"\0" * 64 + b"PAR1")
    with Store(tmp_path / "s.duckdb") as s, pytest.raises(FileRefused, match="not a readable Parquet file"):
        read_source(s, readers.sniff_file(p, None), None, tmp_path, readers.limits())
