"""Patient identifiers by meaning (opsdash.phi): header concepts, value shapes, and a property-based proof that
no generated identifier and no PHI header name is stored anywhere.

Real headers come from ../shared/realdata: the ServiceNow incident event log (Amaral, C.; Fantinato, M.;
Peres, S. (2018), UCI Machine Learning Repository, DOI 10.24432/C57S4H, CC BY 4.0), the BPI Challenge 2013
Volvo IT incident log and the Italian help-desk log (see each folder's SOURCE.txt for authors and licences).
"""

from __future__ import annotations

import csv
import gzip
import io
import itertools
import json
import re
import sys
import tomllib
import unicodedata
from pathlib import Path

import openpyxl
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import given
from hypothesis import strategies as st

from opsdash import audit, contract, phi
from opsdash.ingest.loader import WITHHELD_LINE, load_file
from opsdash.ingest.validate import phi_macros
from opsdash.store import Store
from tests.conftest import ROOT, SAMPLE, realdata
from tests.test_hostile import SETTINGS

# --------------------------------------------------------------------------------------------------------------
# The declared character sets are Unicode's own
# --------------------------------------------------------------------------------------------------------------


def _cps(ranges) -> set[int]:
    return {c for lo, hi in ranges for c in range(lo, hi + 1)}


def _category(*cats: str) -> set[int]:
    return {cp for cp in range(sys.maxunicode + 1) if unicodedata.category(chr(cp)) in cats}


def test_declared_dashes_spaces_invisibles_and_digits_are_unicodes():
    full_width = _cps([phi.FULL_WIDTH])  # folded with the rest of the full-width forms (－ is U+FF0D)
    assert _cps(phi.DASHES) == (_category("Pd") - {ord("-")} - full_width) | {0x2212}
    assert _cps(phi.SPACES) == _category("Zs") - {ord(" ")}
    assert _cps(phi.INVISIBLE) == _category("Cf")
    blocks = {z + d for z in phi.DIGIT_ZEROS for d in range(10)}
    assert blocks == _category("Nd") - set(range(0x30, 0x3A)) - set(range(0xFF10, 0xFF1A))
    assert all(unicodedata.decimal(chr(z + d)) == d for z in phi.DIGIT_ZEROS for d in range(10))


def test_fold_is_the_same_in_sql_and_python(store):
    text = "".join(map(chr, sorted(_cps(phi.DASHES) | _cps(phi.SPACES) | _cps(phi.INVISIBLE)))) + "１２３ＭＲＮ٤५"
    with store.transaction() as tx:
        for sql in phi_macros():
            tx.execute(sql)
        want = "".join("-" if ord(ch) in _cps(phi.DASHES) else " " if ord(ch) in _cps(phi.SPACES) else ""
                       for ch in text[:-7]) + "123MRN45"
        assert tx.fetchone("SELECT _phi_fold(?)", [text])[0] == phi.fold(text) == want


# --------------------------------------------------------------------------------------------------------------
# Headers
# --------------------------------------------------------------------------------------------------------------

#: Issue 11: the 18 patient-identifier headers that were kept.
ISSUE_11 = ["Pt Name", "PatientName", "Patient.Name", "D.O.B.", "Birthdate", "Member #", "MemberID", "MRN:",
            "Med Rec #", "SSN#", "Phone#", "Cell", "Home Addr", "Guarantor", "Insured ID", "Patient",
            "Nom du patient", "Date de naissance"]

#: How each identifier concept is written in billing, WFM and ticketing exports, in English, French and Spanish:
#: written here, apart from the module's declarations, so the test does not grade the module by its own words.
SPELLINGS: dict[str, list[str]] = {
    "name": ["Patient Name", "First Name", "Last Name", "Surname", "Full Name", "Middle Name", "Name",
             "Patient", "Member Name", "Subscriber Name", "Guardian", "Next of Kin", "Emergency Contact",
             "Nom du patient", "Prénom", "Nom de famille", "Nom", "Nombre del paciente", "Apellidos", "Nombre"],
    "geography": ["Address", "Home Address", "Street Address", "City", "Zip Code", "ZIP", "Postal Code",
                  "Postcode", "County", "Adresse", "Code postal", "Ville", "Dirección", "Código postal",
                  "Ciudad", "Domicilio", "Calle"],
    "date": ["Date of Birth", "Birth Date", "DOB", "Birthday", "Date of Death", "Date de naissance",
             "Date de décès", "Fecha de nacimiento", "Fecha de defunción"],
    "phone": ["Phone", "Phone Number", "Home Phone", "Mobile", "Cell Phone", "Telephone", "Caller ID",
              "Téléphone", "Numéro de téléphone", "Portable", "Teléfono", "Móvil", "Celular"],
    "fax": ["Fax", "Fax Number", "Télécopie"],
    "email": ["Email", "E-mail", "Email Address", "Courriel", "Adresse électronique", "Correo electrónico"],
    "national_id": ["SSN", "Social Security Number", "Soc Sec No", "NIR", "Numéro de sécurité sociale",
                    "Carte Vitale", "NSS", "Número de la Seguridad Social", "CURP", "DNI", "Passport Number",
                    "Pasaporte"],
    "mrn": ["MRN", "Medical Record Number", "Med Rec No", "Chart Number", "Patient ID", "Patient Number",
            "IPP", "Dossier médical", "Numéro de dossier patient", "Historia clínica", "NHC"],
    "plan": ["Member ID", "Member Number", "Subscriber ID", "Insured ID", "Policy Number", "Insurance ID",
             "Beneficiary", "HICN", "MBI", "Medicare ID", "Numéro d'assuré", "Numéro adhérent", "Bénéficiaire",
             "Número de afiliado", "Asegurado", "Número de póliza"],
    "account": ["Account Number", "Patient Account", "Guarantor", "Guarantor ID", "Numéro de compte",
                "Número de cuenta", "IBAN"],
    "licence": ["License Number", "Driver's License", "Licence Number", "Permis de conduire",
                "Licencia de conducir"],
    "vehicle": ["VIN", "Vehicle ID", "License Plate", "Immatriculation", "Matrícula"],
    "device": ["Device ID", "Serial Number", "IMEI", "Numéro de série", "Número de serie"],
    "url": ["URL", "Website", "Profile URL", "Site web"],
    "ip": ["IP Address", "Adresse IP", "Dirección IP"],
    "biometric": ["Fingerprint", "Biometric ID", "Voiceprint", "Empreinte digitale", "Huella dactilar"],
    "photo": ["Photo", "Photograph", "Photo du patient", "Foto"],
    "other_id": ["Enrollee ID", "Resident ID"],
}

#: Headers that are not identifiers, some close to one; each must be kept (or ignored), never dropped.
NOT_IDENTIFIERS = [
    "Vendor Name", "Payer Name", "Facility Name", "Agent", "Agent Name", "Provider Name", "Queue Name",
    "Process Name", "Patient Type", "Patient Class", "Patient Status", "patient_access_queue", "Number of patients",
    "Member Count", "Accident", "Accident Related", "Username", "File Name", "Age", "Aging Bucket", "Admission Date",
    "Discharge Date", "Service Date", "Encounter ID", "Visit Number", "Accession Number", "Case Number", "Customer",
    "Client", "Account", "Account Name", "State", "Country", "Location", "Mail Date", "Insurance", "Insurance Name",
    "Ins Name", "Group Number", "IP/OP", "Claim No", "Claim #", "Ticket ID", "Call ID", "Priority", "Category",
    "Resolved By", "Assigned To", "Opened By", "SLA Policy", "Contact Type", "First Contact Resolved", "Notes",
    "Comments", "Nom du payeur", "Centro", "Nombre del centro", "Fecha de servicio", "Date de service",
    "Numéro de facture", "Número de factura", "Prioridad", "Cola", "Duración (s)", "Handle Time", "Wait Sec",
]


@pytest.mark.parametrize("header", ISSUE_11)
def test_issue_11_headers_are_phi(header):
    assert contract.is_phi_header(header)


@pytest.mark.parametrize("concept, header", [(c, h) for c, hs in SPELLINGS.items() for h in hs])
def test_every_concept_is_caught_in_english_french_and_spanish(concept, header):
    found = phi.header_concept(header)
    assert found is not None and found.id in (concept, "name", "geography", "mrn", "phone"), (header, found)


def test_every_declared_concept_has_spellings_here_and_the_18_hipaa_identifiers_are_declared():
    assert {c.id for c in phi.CONCEPTS} == set(SPELLINGS)
    assert [c.hipaa[:3] for c in phi.CONCEPTS] == [f"({chr(ord('A') + i)})" for i in range(18)]


@pytest.mark.parametrize("header", NOT_IDENTIFIERS)
def test_headers_that_are_not_identifiers_are_kept(header):
    assert not contract.is_phi_header(header), phi.header_words(header)


def test_no_contract_column_is_an_identifier():
    assert [c for t in contract.TABLES.values() for c in t.column_names if contract.is_phi_header(c)] == []


def _csv_header(path: Path) -> list[str]:
    raw = (gzip.open(path) if path.suffix == ".gz" else open(path, "rb")).readline()
    text = raw.decode("utf-8-sig") if _is_utf8(raw) else raw.decode("latin-1")
    delim = max(",;|\t", key=text.count)
    return next(csv.reader([text.strip("\r\n")], delimiter=delim))


def _is_utf8(raw: bytes) -> bool:
    try:
        raw.decode("utf-8")
        return True
    except UnicodeDecodeError:
        return False


def _xes_keys(path: Path, events: int = 3000) -> set[str]:
    """The attribute keys of a XES log's traces and events (not of its metadata)."""
    keys: set[str] = set()
    depth, seen = 0, 0
    import xml.etree.ElementTree as ET

    with gzip.open(path) as f:
        for what, el in ET.iterparse(f, events=("start", "end")):
            tag = el.tag.rsplit("}", 1)[-1]
            if tag in ("trace", "event"):
                depth += 1 if what == "start" else -1
                seen += what == "end" and tag == "event"
            elif what == "start" and depth and "key" in el.attrib:
                keys.add(el.attrib["key"])
            if seen >= events:
                break
    return keys


def _real_and_sample_headers() -> set[str]:
    headers: set[str] = set()
    for p in SAMPLE.rglob("*"):
        if p.suffix == ".csv":
            headers |= set(_csv_header(p))
        elif p.suffix == ".parquet":
            headers |= set(pq.read_schema(p).names)
        elif p.suffix == ".xlsx":
            ws = openpyxl.load_workbook(p, read_only=True).worksheets[0]
            headers |= {str(c) for c in next(ws.iter_rows(values_only=True)) if c is not None}
    for p in [*SAMPLE.rglob("*.toml"), *(ROOT / "mappings").glob("*.toml")]:
        spec = tomllib.loads(p.read_text(encoding="utf-8"))
        for v in spec.get("columns", {}).values():
            src = v if isinstance(v, str) else v.get("source")
            headers |= {src} if src else set()
        headers |= {spec["order_by"]} if "order_by" in spec else set()
    folder = realdata("servicenow_incident_eventlog")
    for p in (folder / "incident_event_log_first6000.csv", folder / "incident_event_log_full_headerfixed.csv.gz"):
        headers |= set(_csv_header(p))
    headers |= _xes_keys(realdata("bpic2013_incidents_volvo", "bpic2013_incidents.xes.gz"))
    headers |= _xes_keys(realdata("helpdesk_eventlog", "helpdesk.xes.gz"))
    return headers


#: Of the real and sample headers, those that do name a person: the sample's deliberate PHI columns, and
#: ServiceNow's caller_id (the person who called; in a patient-access desk, the patient or their number).
REAL_IDENTIFIERS = {"Patient Name", "MRN", "caller_id"}


def test_real_and_sample_headers_are_kept_except_the_identifiers_among_them():
    headers = _real_and_sample_headers()
    assert len(headers) > 80 and REAL_IDENTIFIERS <= headers  # the files were read
    assert {h for h in headers if contract.is_phi_header(h)} == REAL_IDENTIFIERS


def test_a_mapping_may_not_read_a_phi_column_under_any_spelling(tmp_path, store):
    (tmp_path / "c.csv").write_text("claim_id,vendor,received_date,Patient.Name\nC1,Acme,2026-01-05,Jane Roe\n")
    (tmp_path / "m.toml").write_text('table = "claims"\n[columns]\npayer = "Patient.Name"\n')
    rep = load_file(store, tmp_path / "c.csv", mapping=tmp_path / "m.toml")
    assert rep.status == "refused" and "names a patient identifier" in rep.message
    assert store.fetchone("SELECT count(*) FROM loads")[0] == 0


# --------------------------------------------------------------------------------------------------------------
# Values
# --------------------------------------------------------------------------------------------------------------

IDENTIFIER_VALUES = [
    ("ssn", "123-45-6789"), ("ssn", "ssn_123-45-6789"), ("ssn", "x123-45-6789"), ("ssn", "123-45-6789x"),
    ("ssn", "123 45 6789"), ("ssn", "123456789"), ("ssn", "123.45.6789"), ("ssn", "123/45/6789"),
    ("ssn", "123–45–6789"), ("ssn", "123—45—6789"), ("ssn", "123−45−6789"), ("ssn", "123‑45‑6789"),
    ("ssn", "１２３-４５-６７８９"), ("ssn", "١٢٣-٤٥-٦٧٨٩"), ("ssn", "१२३-४५-६७८९"), ("ssn", "𝟏𝟐𝟑-𝟒𝟓-𝟔𝟕𝟖𝟗"),
    ("ssn", "1\u200b23-45-6789"), ("ssn", "123\u00a045\u00a06789"),
    ("phone", "(617) 555-0147"), ("phone", "617.555.0147"), ("phone", "617-555-0147"), ("phone", "6175550147"),
    ("phone", "+1 617 555 0147"), ("phone", "+33 1 23 45 67 89"), ("phone", "01 23 45 67 89"),
    ("phone", "912 345 678"), ("phone", "91 234 56 78"), ("phone", "0033 1 23 45 67 89"), ("phone", "＋３３１２３４５６７８９"),
    ("email", "jane.roe@example.org"), ("email", "jane＠example.org"), ("email", "jane(at)example.org"),
    ("email", "josé@exemple.fr"),
    ("mrn", "MRN0001"), ("mrn", "xMRN: 12345"), ("mrn", "MR# 123456"), ("mrn", "Med Rec No. 4521"),
    ("mrn", "IPP 123456"), ("mrn", "NHC 12345"), ("mrn", "historia clínica nº 12345"), ("mrn", "ＭＲＮ１２３４"),
]
#: Values that must never be taken for an identifier: claim ids, CARC/RARC codes, amounts, dates, call ids.
NOT_IDENTIFIER_VALUES = [
    "CO-16", "CO-16 Missing or invalid information", "PR-204", "N130", "MA130", "OA-23", "2026-01-05",
    "05/01/2026", "2026-01-05 10:00:00", "2026-01-05T10:00:00Z", "20260105", "1234.56", "1,234,567.89",
    "MER-C0000001", "HEL-C0012345", "LL0001234", "IBE-K000123", "SOL-000123", "INC0000045", "C1", "12345-6789",
    "99213", "E11.9", "Medical records requested 2026-01-05", "Ward 7", "12-3456789", "2026/01/05 10:00",
    "K20260105-0001", "+1", "O’Brien", "Citación", "２０２６-０１-０５", "Ward\u00a07", "2026-01-05 2026-02-05",
]


@pytest.fixture
def macros(store):
    with store.transaction() as tx:
        for sql in phi_macros():
            tx.execute(sql)
        yield tx


@pytest.mark.parametrize("kind, value", IDENTIFIER_VALUES)
def test_identifier_shapes_are_found_and_masked_alike_in_sql_and_python(kind, value, macros):
    bits, masked = macros.fetchone("SELECT _phi_kinds(?), _phi_mask(?)", [value, value])
    assert [s.kind for i, s in enumerate(phi.SHAPES) if bits >> i & 1] == phi.find_shapes(value) == [kind]
    assert masked == phi.mask(value) and not phi.find_shapes(masked)
    assert not re.search(r"[0-9]{4}", phi.fold(masked).replace("MRN", ""))


@pytest.mark.parametrize("value", NOT_IDENTIFIER_VALUES)
def test_codes_dates_amounts_and_ids_are_not_identifiers(value, macros):
    assert macros.fetchone("SELECT _phi_kinds(?), _phi_kinds_id(?), _phi_mask(?)", [value] * 3) == (0, 0, value)
    assert phi.find_shapes(value) == [] and phi.mask(value) == value


@pytest.mark.parametrize("value", ["123456789", "6175550147", "912 345 678"])
def test_plain_digit_runs_are_claim_numbers_in_work_identifiers(value, macros):
    assert macros.fetchone("SELECT _phi_kinds_id(?), _phi_mask_id(?)", [value, value]) == (0, value)
    assert phi.find_shapes(value, ids=True) == [] and phi.find_shapes(value) != []


def test_masks_match_no_shape_and_two_neighbours_are_both_masked(macros):
    for s in phi.SHAPES:
        assert phi.find_shapes(s.mask) == []
    text = "a 123456789 987654321 617-555-0147 b"
    assert macros.fetchone("SELECT _phi_mask(?)", [text])[0] == phi.mask(text) == \
        "a ***-**-**** ***-**-**** ***-***-**** b"


# --------------------------------------------------------------------------------------------------------------
# Property: a generated identifier is stored nowhere
# --------------------------------------------------------------------------------------------------------------

ABBREVIATIONS = {"patient": ["Pt", "Pat", "PATIENT"], "number": ["#", "No", "No.", "Num", "Nbr", "Nº", "N°"],
                 "address": ["Addr", "Adr"], "telephone": ["Tel", "Tél."], "identifier": ["ID", "Id"],
                 "record": ["Rec"], "medical": ["Med"], "account": ["Acct"], "date of birth": ["DOB", "D.O.B."],
                 "numéro": ["N°", "No", "Num"], "número": ["Nº", "No", "Núm."]}
SEPARATORS = [" ", "_", "-", ".", "", "/", "  ", " - "]


def _strip_accents(s: str) -> str:
    return "".join(ch for ch in unicodedata.normalize("NFKD", s) if not unicodedata.combining(ch))


@st.composite
def header_spellings(draw) -> str:
    """A concept's header as someone might write it: case, separators, accents, camelCase, abbreviations."""
    base = draw(st.sampled_from([h for hs in SPELLINGS.values() for h in hs] + ISSUE_11))
    for long, shorts in ABBREVIATIONS.items():
        if long in base.lower() and draw(st.booleans()):
            base = re.sub(re.escape(long), draw(st.sampled_from(shorts)), base, flags=re.I)
    if draw(st.booleans()):
        base = _strip_accents(base)
    words = re.split(r"[ ]+", base)
    style = draw(st.sampled_from(["as", "lower", "upper", "title", "camel", "pascal"]))
    if style == "camel" or style == "pascal":
        parts = [w[:1].upper() + w[1:].lower() if len(w) > 1 and w.isalpha() else w for w in words]
        if style == "camel":
            parts[0] = parts[0].lower()
        return "".join(parts)
    sep = draw(st.sampled_from(SEPARATORS))
    if style in ("lower", "upper") and sep == "" and any(not w.isalpha() for w in words):
        sep = " "  # "d.o.b.patient" is nobody's header
    text = sep.join(words)
    text = {"as": text, "lower": text.lower(), "upper": text.upper(), "title": text.title()}[style]
    return draw(st.sampled_from(["", " ", ":"])) + text if draw(st.booleans()) else text + draw(st.sampled_from(["", ":", " "]))


DIGIT_SCRIPTS = [0x30, 0xFF10, 0x660, 0x966, 0x1D7CE]
VALUE_SEPARATORS = ["-", " ", ".", "/", "\u2013", "\u2014", "\u2212", "\u2011", "\u00a0", "\u2009", "", "\u200b"]


def _digits(n: int, script: int) -> str:
    return "".join(chr(script + int(d)) for d in str(n))


@st.composite
def identifier_values(draw) -> tuple[str, str, str]:
    """(kind, value, its ASCII digits or e-mail) in any separator, digit width or adjacency."""
    kind = draw(st.sampled_from(["ssn", "phone", "email", "mrn"]))
    script = draw(st.sampled_from(DIGIT_SCRIPTS))
    sep = draw(st.sampled_from(VALUE_SEPARATORS))
    before = draw(st.sampled_from(["", "x", "ssn_", "pt ", "ref#", "(", "appeal: "]))
    after = draw(st.sampled_from(["", "x", "_a", " appeal", ".", ")"]))
    distinct = lambda n: len(set(str(n))) >= 6  # noqa: E731 - so the digits appear nowhere by chance
    if kind == "ssn":
        n = draw(st.integers(100_000_000, 899_999_999).filter(distinct))
        d = _digits(n, script)
        value = f"{d[:3]}{sep}{d[3:5]}{sep}{d[5:]}" if sep != "\u200b" or draw(st.booleans()) else d
        return kind, before + value + after, str(n)
    if kind == "phone":
        n = draw(st.integers(2_000_000_000, 9_899_999_999).filter(distinct))
        d = _digits(n, script)
        form = draw(st.sampled_from(["nanp", "paren", "intl"]))
        value = {"nanp": f"{d[:3]}{sep or '-'}{d[3:6]}{sep or '-'}{d[6:]}", "paren": f"({d[:3]}) {d[3:6]}-{d[6:]}",
                 "intl": f"+1 {d[:3]} {d[3:6]} {d[6:]}"}[form]
        return kind, before + value + after, str(n)
    if kind == "email":
        local = draw(st.text("abcdefghijklmnopqrstuvwxyz", min_size=6, max_size=10)) + str(draw(st.integers(10, 99)))
        at = draw(st.sampled_from(["@", "＠", "(at)"]))
        return kind, before + f"{local}{at}example.org" + (" " + after if after else ""), local
    n = draw(st.integers(10_000_000, 99_999_999).filter(distinct))
    label = draw(st.sampled_from(["MRN", "mrn", "MRN:", "MRN #", "MR#", "Med Rec No.", "Medical Record #", "IPP",
                                  "NHC", "Chart No"]))
    return kind, before + label + draw(st.sampled_from(["", " ", ": "])) + _digits(n, script) + after, str(n)


FAKE_PEOPLE = ["Jane Quarrington", "Pedro Villaseñor", "Amélie Dufresne-Roy", "Thandiwe Okonkwo", "Ivo Brankovic"]


@st.composite
def phi_values(draw) -> str:
    """A value of a PHI column: a name, a date of birth or an identifier."""
    return draw(st.one_of(st.sampled_from(FAKE_PEOPLE),
                          st.dates(min_value=__import__("datetime").date(1930, 1, 1),
                                   max_value=__import__("datetime").date(2005, 12, 31)).map(str),
                          identifier_values().map(lambda t: t[1])))


_stores = itertools.count()


def _all_text(store: Store) -> dict[str, list[str]]:
    """Every string value of every table (data, roll-ups, rejects, loads, audit, meta), by table.column."""
    out: dict[str, list[str]] = {}
    cols = store.fetchall("SELECT table_name, column_name, data_type FROM duckdb_columns() WHERE NOT internal "
                          "AND (data_type LIKE 'VARCHAR%' OR data_type LIKE '%[]' OR data_type LIKE 'JSON%' "
                          "OR data_type LIKE 'STRUCT%' OR data_type LIKE 'MAP%')")
    tables = {r[0] for r in store.fetchall("SELECT table_name FROM duckdb_tables() WHERE NOT temporary")}
    assert {"claims", "rejects", "loads", "audit"} <= tables and any(t.startswith("_rollup_") for t in tables)
    for table, column, _type in cols:
        if table in tables:
            vals = store.fetchall(f'SELECT CAST("{column}" AS VARCHAR) FROM "{table}" WHERE "{column}" IS NOT NULL')
            out[f"{table}.{column}"] = [v for (v,) in vals]
    return out


def _digits_of(text: str) -> str:
    return re.sub(r"[^0-9]", "", phi.fold(text))


@SETTINGS
@given(headers=st.lists(header_spellings(), min_size=1, max_size=4, unique_by=lambda h: h.strip().lower()),
       data=st.data(), kept=st.lists(identifier_values(), min_size=1, max_size=4),
       malformed=st.booleans(), parquet=st.booleans())
def test_no_generated_identifier_or_phi_header_is_stored_anywhere(tmp_path_factory, headers, data, kept,
                                                                  malformed, parquet):
    folder = tmp_path_factory.mktemp(f"spell{next(_stores)}")
    # the claims' optional text columns, the denial-risk ones included (the PHI rules apply to them too)
    base = ["claim_id", "vendor", "received_date", "payer", "facility", "denial_reason", "procedure_group",
            "vendor_risk_score", "vendor_risk_model", "Notes"]
    columns = base + headers
    phi_vals = [[data.draw(phi_values()) for _ in headers] for _ in range(3)]
    rows = [  # benign rows that must load; claim ids that are plain digit runs among them
        ["123456789", "Acme", "2026-01-05", "Aetna", "Ward 7", "CO-16 Missing or invalid information", "DRG 470",
         "0.12", "DenialGuard 2.1", "ok"],
        ["HEL-C0012345", "Acme", "2026-01-06", "Medicare", "Building 12", "N130 paid 1234.56 on 2026-01-05",
         "Imaging", "", "", ""],
        ["C3", "Acme", "2026-02-30", "Cigna", "Ward 7", "CO-97", "E&M", "0.4", "DenialGuard 2.1",
         "bad date"],  # rejected, for its raw values
    ]
    rows = [r + v for r, v in zip(rows, phi_vals)]
    for i, (_kind, value, _digits) in enumerate(kept):  # identifier-shaped values in kept text columns
        r = [f"K{i}", "Acme", "2026-01-07", "Aetna", "Ward 7", "CO-16", "Imaging", "0.3", "DenialGuard 2.1", "x"]
        r += [data.draw(phi_values()) for _ in headers]
        r[data.draw(st.sampled_from([3, 4, 5, 6, 8]))] = value
        rows.append(r)
    path = folder / ("f.parquet" if parquet else "f.csv")
    if parquet:
        pq.write_table(pa.table({f"{c}": [r[j] for r in rows] for j, c in enumerate(columns)}), path)
    else:
        buf = io.StringIO()
        w = csv.writer(buf, lineterminator="\n")
        w.writerow(columns)
        w.writerows(rows)
        if malformed:  # a line with one field too many (an unquoted comma): its fields cannot be told apart
            line = io.StringIO()
            csv.writer(line, lineterminator="\n").writerow(["M1", "Acme", "2026-01-08", "Aetna", "Ward 7", "CO-16",
                                                           "Imaging", "", "", ""] + phi_vals[0])
            buf.write(line.getvalue().replace("Ward 7", "Ward, 7", 1))
        path.write_text(buf.getvalue(), encoding="utf-8")

    db = folder / "s.duckdb"
    with Store(db) as store:
        rep = load_file(store, path)
        assert rep.status == "loaded", rep.message
        # every PHI header dropped and listed; none ignored; identifiers rejected, ordinary rows loaded
        assert sorted(rep.phi_columns_dropped) == sorted(phi.mask(h) for h in headers)
        assert rep.ignored_columns == ["Notes"]
        assert (rep.rows_loaded, rep.rows_rejected) == (2, 1 + len(kept) + (malformed and not parquet))
        # the Upload page's audit event for this file, spooled and moved into the audit table
        audit.record(db, audit.Event(user_name="u", role="admin", action="upload", page="Upload",
                                     what=f"{rep.file}: {rep.status}", row_count=rep.rows_loaded,
                                     load_ids=(rep.load_id,)))
        spool = audit.spool_path(db).read_text(encoding="utf-8")
        audit.flush(store)
        stored = _all_text(store)
    assert stored["audit.what"] == ["f.parquet: loaded" if parquet else "f.csv: loaded"]

    everything = [v for vals in stored.values() for v in vals] + [spool]
    secrets = [v for r in phi_vals for v in r] + [v for _k, v, _d in kept]
    for secret in secrets:
        assert not any(secret in v for v in everything), secret
    digits = [d for _k, _v, d in kept] + [_digits_of(v) for v in secrets if len(_digits_of(v)) >= 8]
    for d in digits:  # not even with its separators or digit width changed
        assert not any(d in _digits_of(v) for v in everything), d
    for _k, value, local in kept:
        assert not any(local.lower() in v.lower() for v in everything), local
    # a PHI header's name is kept only where the report says what was dropped (reasons and the note kept for a
    # withheld line are opsdash's own words: "patient identifiers are never stored")
    named = [v.replace(json.dumps(WITHHELD_LINE), "") for key, vals in stored.items()
             if key not in ("loads.phi_columns_dropped", "rejects.reason") for v in vals] + [spool]
    for h in headers:
        # As a value of its own or a key (an ignored-columns entry, a raw-values field): a header that is a
        # common word ("name") may be part of other stored text without being stored.
        assert not any(v.strip() == h.strip() or f'"{h}"' in v for v in named), h
