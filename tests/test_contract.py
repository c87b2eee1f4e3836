"""The contract as declarations: header matching, PHI detection and table inference."""

import pytest

from opsdash import contract


@pytest.mark.parametrize("raw, expected", [
    ("Claim ID", "claim_id"), ("  claim-id ", "claim_id"), ("CLAIM__ID", "claim_id"),
    ("Received  Date", "received_date"), ("first_contact-resolved", "first_contact_resolved"),
])
def test_headers_match_ignoring_case_spaces_dashes_and_underscores(raw, expected):
    assert contract.normalise_header(raw) == expected


@pytest.mark.parametrize("header", [
    "Patient Name", "patient_name", "First Name", "LAST-NAME", "MRN", "Patient MRN", "Medical Record Number",
    "patient id", "Member ID", "SSN", "Social Security Number", "Date of Birth", "DOB", "Birth Date",
    "Address", "Home Address", "Phone", "Phone Number", "Email", "E-mail", "Patient Email Address",
])
def test_patient_identifier_headers_are_phi(header):
    assert contract.is_phi_header(header)


@pytest.mark.parametrize("header", ["claim_id", "payer", "facility", "patient_access_queue", "member_count",
                                    "vendor_name", "process", "Nº Llamada", "Notes", "denial_reason"])
def test_ordinary_headers_are_not_phi(header):
    assert not contract.is_phi_header(header)


def test_no_contract_column_is_mistaken_for_phi():
    cols = [c.name for t in contract.TABLES.values() for c in t.columns]
    assert [c for c in cols if contract.is_phi_header(c)] == []


@pytest.mark.parametrize("headers, table", [
    (["Claim ID", "Vendor", "Received Date", "Payer"], "claims"),
    (["audit_id", "vendor", "process", "audit_date", "opportunities", "errors"], "qa_audits"),
    (["item_id", "vendor", "process", "opened_at"], "work_items"),
    (["call_id", "vendor", "offered_at"], "calls"),
    (["vendor", "kpi", "target", "effective_from", "level"], "sla_targets"),
    (["vendor", "kpi", "period_start", "period_end", "value"], "reported_kpis"),
])
def test_table_is_inferred_from_required_headers(headers, table):
    assert contract.table_for_headers(headers)[0] == table


def test_no_table_when_required_headers_are_missing_and_missing_ones_are_named():
    table, missing = contract.table_for_headers(["claim_id", "vendor"])
    assert table is None
    assert missing["claims"] == ["received_date"]


def test_every_column_and_table_is_documented():
    for t in contract.TABLES.values():
        assert t.description, t.name
        for c in t.columns:
            assert c.meaning, f"{t.name}.{c.name} has no meaning"
        for k in t.key:
            assert k in t.column_names
        for r in t.rules:
            assert r.column in t.column_names and r.describe()


def test_the_closest_table_names_the_missing_columns_and_the_likely_headers():
    from opsdash.contract import closest_table

    got = closest_table(["Claim Number", "Vendor", "Date Received", "payer", "facility", "notes"])
    assert got is not None and got.table == "claims"
    assert got.missing == ("claim_id", "received_date")
    assert got.likely == {"claim_id": "Claim Number", "received_date": "Date Received"}  # words, then spelling
    # A header already matching a column is never offered, nor one unlike the missing column.
    assert closest_table(["claim_id", "vendor", "payer", "service_date"]).likely == {}
    assert closest_table(["claim_id", "vendor", "payer", "colour"]).likely == {}
    # Too few of a table's columns to say which it is: no hint.
    assert closest_table(["ticket", "owner", "state"]) is None
    assert closest_table(["vendor", "payer", "a", "b", "c"]) is None


def test_event_columns_are_declared_once_in_the_contract():
    from opsdash import catalog, metrics

    # The catalogue reads the declaration: the tables it computes KPIs over are the tables with events.
    assert catalog.EVENT_TIMES == contract.EVENT_COLUMNS and set(catalog.EVENT_TIMES) == set(catalog.DIMENSIONS)
    for name, cols in contract.EVENT_COLUMNS.items():
        table = contract.TABLES[name]
        assert "due_at" not in cols  # a due time is no event
        for e in table.events:
            assert {e.column, *e.carries} <= set(table.column_names)
            assert table.event_kind(e.column) in (contract.ColType.DATE, contract.ColType.TIMESTAMP)
        # The generated as-of view compares each event the way its kind says.
        view = metrics.AS_OF_VIEWS[name]
        for col in cols:
            cast = "CAST($as_of AS DATE)" if table.column(col).type == contract.ColType.DATE else "$as_of"
            assert f'"{col}" <= {cast}' in view
    with pytest.raises(KeyError, match="no date or time column"):
        contract.TABLES["claims"].event_kind("payer")


def test_the_as_of_view_blanks_later_events_and_what_they_carry(store, write, load):
    import datetime as dt

    from opsdash import metrics

    load(write("calls.csv", "call_id,vendor,queue,offered_at,answered_at,abandoned_at,handle_seconds,first_contact_resolved\n"
                            "1,A,q,2026-11-01 09:00,2026-11-01 09:00:20,,100,true\n"
                            "2,A,q,2026-11-01 09:00,2026-11-01 11:00,,200,false\n"
                            "3,A,q,2026-11-01 09:00,,2026-11-01 10:30,,\n"
                            "4,A,q,2026-11-02 09:00,,,,\n"))
    got = store.query(metrics.AS_OF_VIEWS["calls"] + " ORDER BY call_id", {"as_of": dt.datetime(2026, 11, 1, 10)})
    # Call 4 had not arrived; call 2's answer (with its handle time and resolution) and call 3's abandon are later.
    assert got["call_id"].tolist() == ["1", "2", "3"]
    assert got["answered_at"].notna().tolist() == [True, False, False]
    assert got["handle_seconds"].tolist()[0] == 100.0 and got["handle_seconds"].isna().tolist()[1:] == [True, True]
    assert got["first_contact_resolved"].tolist()[0] and got["first_contact_resolved"].isna().tolist()[1:] == [True, True]
    assert got["abandoned_at"].isna().all()
    later = store.query(metrics.AS_OF_VIEWS["calls"] + " ORDER BY call_id", {"as_of": dt.datetime(2026, 11, 3)})
    assert later["handle_seconds"].tolist()[:2] == [100.0, 200.0] and later["abandoned_at"].notna().tolist() == [
        False, False, True, False]
