"""Writes the bad-input corpus beside this file. The files are committed; run this only to change them.

Each file's exact expected outcome is asserted in tests/test_bad_corpus.py.
"""

from __future__ import annotations

import codecs
import gzip
import io
import random
from pathlib import Path

import openpyxl
import pandas as pd
from openpyxl.chart import BarChart, Reference

HERE = Path(__file__).parent
CLAIMS = "claim_id,vendor,payer,received_date,submitted_date,adjudicated_date,initial_outcome,billed_amount,paid_amount\n"


def claim(i: int, **kw: str) -> str:
    r = {"claim_id": f"C{i}", "vendor": "Acme", "payer": "Aetna", "received_date": "2026-01-05",
         "submitted_date": "2026-01-07", "adjudicated_date": "2026-01-20", "initial_outcome": "paid",
         "billed_amount": "100", "paid_amount": "80"}
    r.update(kw)
    return ",".join(r.values()) + "\n"


def text(name: str, content: str, encoding: str = "utf-8") -> None:
    (HERE / name).write_bytes(content.encode(encoding))


def main() -> None:
    text("wrong_delimiter.csv", "claim_id:vendor:received_date\nC1:Acme:2026-01-05\n")
    text("bom_utf8.csv", "\ufeff" + CLAIMS + claim(1) + claim(2))
    text("latin1.csv", CLAIMS + claim(1, payer="Mutualité Générale") + claim(2, payer="Clínica"), "latin-1")
    text("missing_required_column.csv", "claim_id,vendor,payer\nC1,Acme,Aetna\n")
    text("unknown_table.csv", "ticket,owner,state\nT1,ann,open\n")
    text("empty.csv", "")
    text("header_only.csv", CLAIMS)
    text("ragged_rows.csv", CLAIMS + claim(1) + claim(2).rstrip("\n") + ",surplus\n" + claim(3) + "C4,Acme\n" + claim(5))
    text("bad_dates.csv", CLAIMS + claim(1) + claim(2, received_date="2026-02-30", submitted_date="")
         + claim(3, received_date="31/01/2026", submitted_date="") + claim(4, submitted_date="yesterday"))
    text("impossible_date_order.csv", CLAIMS + claim(1, submitted_date="2026-01-04")
         + claim(2, adjudicated_date="2026-01-06") + claim(3))
    text("negative_amounts.csv", CLAIMS + claim(1, billed_amount="-100") + claim(2, paid_amount="-0.01") + claim(3))
    text("errors_gt_opportunities.csv",
         "audit_id,vendor,process,audit_date,opportunities,errors,critical_errors\n"
         "A1,Acme,coding,2026-01-05,10,11,0\nA2,Acme,coding,2026-01-05,10,2,3\nA3,Acme,coding,2026-01-05,10,10,10\n")
    text("answered_and_abandoned.csv",
         "call_id,vendor,queue,offered_at,answered_at,abandoned_at\n"
         "K1,Acme,scheduling,2026-01-05 09:00:00,2026-01-05 09:00:20,2026-01-05 09:00:30\n"
         "K2,Acme,scheduling,2026-01-05 09:01:00,,2026-01-05 09:01:30\n")
    text("ssn_in_text.csv", CLAIMS.replace("\n", ",denial_reason\n") + claim(1).rstrip("\n") + ",pt 123-45-6789 appeal\n"
         + claim(2).rstrip("\n") + ",CO-16\n")
    text("phi_columns.csv", "claim_id,vendor,received_date,Patient Name,MRN,Date of Birth,Phone,Email,Member ID\n"
         "C1,Acme,2026-01-05,Jane Roe,MRN0001,1970-02-03,555-0100,jane@example.org,M-77\n")
    text("duplicate_keys.csv", CLAIMS + claim(1, billed_amount="1") + claim(2) + claim(1, billed_amount="2")
         + claim(1, billed_amount="3"))
    text("long_field.csv", CLAIMS.replace("\n", ",denial_reason\n") + claim(1).rstrip("\n") + "," + "x" * 100_000 + "\n"
         + claim(2).rstrip("\n") + ",CO-16\n")
    text("formula_values.csv", 'claim_id,vendor,received_date,payer,denial_reason\n'
         'C1,Acme,2026-01-05,"=HYPERLINK(""http://evil.example"",""click"")",+1\n'
         'C2,Acme,2026-01-05,@SUM(A1),-2+3\n')
    buf = io.BytesIO()
    pd.DataFrame({"claim_id": [f"C{i}" for i in range(200)], "vendor": "Acme",
                  "received_date": pd.Timestamp("2026-01-05")}).to_parquet(buf)
    (HERE / "truncated.parquet").write_bytes(buf.getvalue()[: len(buf.getvalue()) // 2])
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "Data"
    ws.append(["Call ID", "Vendor", "Queue", "Offered At"])
    ws.append(["K1", "Acme", "scheduling", "2026-01-05 09:00:00"])
    ws.append(["K2", "Acme", "billing_inquiry", "2026-01-05 09:05:00"])
    chart = BarChart()
    chart.add_data(Reference(ws, min_col=1, min_row=1, max_row=3))
    cs = wb.create_chartsheet("Chart", 0)
    cs.add_chart(chart)
    wb.save(HERE / "chart_sheet_first.xlsx")
    text("not_a_workbook.xlsx", CLAIMS + claim(1))
    text("bad_booleans.csv", "claim_id,vendor,received_date,clean_submission\nC1,Acme,2026-01-05,maybe\n"
         "C2,Acme,2026-01-05,Y\nC3,Acme,2026-01-05,0\n")
    text("bad_integers.csv", "audit_id,vendor,process,audit_date,opportunities,errors\n"
         "A1,Acme,coding,2026-01-05,3.5,0\nA2,Acme,coding,2026-01-05,ten,0\nA3,Acme,coding,2026-01-05,,0\n"
         "A4,Acme,coding,2026-01-05,12.0,1\n")
    text("unknown_outcome.csv", CLAIMS + claim(1, initial_outcome="approved") + claim(2, initial_outcome="DENIED"))
    text("adjudicated_without_submission.csv", CLAIMS + claim(1, submitted_date="") + claim(2))
    text("unterminated_quote.csv", CLAIMS + claim(1) + 'C2,Acme,"Aetna,2026-01-05,,,,,\n' + claim(3))
    rnd = random.Random(7)
    (HERE / "binary_garbage.csv").write_bytes(bytes(rnd.randrange(256) for _ in range(3000)))
    text("duplicate_header.csv", "claim_id,vendor,received_date,claim_id\nC1,Acme,2026-01-05,C9\n")
    text("crlf_tab.tsv", (CLAIMS + claim(1) + claim(2)).replace(",", "\t").replace("\n", "\r\n"))
    text("timestamps_with_offsets.csv", "item_id,vendor,process,opened_at,completed_at\n"
         "W1,Acme,coding,2026-01-05T08:00:00+01:00,2026-01-05T10:00:00Z\n"
         "W2,Acme,coding,2026-01-05 08:00,2026-01-05T06:00:00-05:00\n")
    text("due_before_opened.csv", "item_id,vendor,process,opened_at,due_at\n"
         "W1,Acme,coding,2026-01-05 08:00,2026-01-05 07:00\nW2,Acme,coding,2026-01-05 08:00,2026-01-06 08:00\n")
    text("nan_and_inf.csv", CLAIMS + claim(1, billed_amount="NaN") + claim(2, billed_amount="inf") + claim(3))
    text("blank_lines.csv", CLAIMS + claim(1) + "\n\n" + claim(2, billed_amount="-1") + claim(3))
    text("padded_headers.csv", "  Claim ID  , VENDOR ,Received-Date\n  C1 , Acme ,2026-01-05\n")
    good = gzip.compress((CLAIMS + claim(1) * 50).encode())
    (HERE / "truncated.csv.gz").write_bytes(good[: len(good) // 2])
    _lead_cases()
    _reader_cases()
    _ui_cases()
    _phi_cases()
    _defect_cases()


def _defect_cases() -> None:
    """Defects found by review (issue 12): a claims file whose one misnamed header hides what it is."""
    from opsdash.contract import TABLES

    headers = ["claim_number" if c == "claim_id" else c for c in TABLES["claims"].column_names]
    text("misnamed_key_header.csv", ",".join(headers) + "\n"
         "N1,Acme,North,Aetna,professional,2026-01-02,2026-01-05,2026-01-07,true,2026-01-20,paid,,100,80\n")


def _lead_cases() -> None:
    """Values that broke promises in the held-out hostile set: far dates, zone names, invisible characters."""
    text("dates_out_of_range.csv", "claim_id,vendor,received_date\n" + "".join(
        f"Y{i},Acme,{d}\n" for i, d in enumerate(["10000-01-01", "5881580-07-10", "-0044-03-15", "0045-03-15 (BC)",
                                                   "9999-12-31", "0001-01-01", "1899-12-31", "1900-01-01",
                                                   "2100-12-31"], start=1)))
    text("zone_names_and_offsets.csv", "item_id,vendor,process,opened_at\n"
         "W1,Acme,coding,2026-01-05 10:00:00 PST\nW2,Acme,coding,2026-01-05 10:00:00+25:00\n"
         "W3,Acme,coding,2026-01-05 10:00:00 America/New_York\nW4,Acme,coding,2026-01-05 10:00:00 +0530\n"
         "W5,Acme,coding,2026-01-05 10:00:00 UTC\nW6,Acme,coding,2026-01-05 10:00:00-12:30\n"
         "W7,Acme,coding,2101-01-01 00:00:00\n")
    text("invisible_characters.csv", "claim_id,vendor,payer,received_date\n"
         "C1,Acme,Aetna,2026-01-05\n\ufeffC2,Acme\u200b,Aetna\u00a0,2026-01-05\n"
         "C3,\u202eAcme,Ae\u00adtna,\u200b2026-01-05\nC4,Ibe\u0301rica,Aetna,2026-01-05\nC5,Ib\u00e9rica,Aetna,2026-01-05\n")


def _reader_cases() -> None:
    """Encodings, line endings and workbook surprises as hospitals' systems write them (issue 11, items 5, 6, 15)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    head = "claim_id,vendor,received_date,payer\n"
    # Excel on Windows: ’ € “ ” – are bytes 0x80-0x9F, which Latin-1 leaves as control characters.
    (HERE / "windows1252.csv").write_bytes(head.encode() + "E1,Acme,2026-01-05,O’Brien\nE2,Acme,2026-01-06,“Santé” – €\n"
                                           .encode("cp1252"))
    # 0x81 is one of the five bytes Windows-1252 leaves undefined: read as U+0081, as browsers do.
    (HERE / "windows1252_undefined_byte.csv").write_bytes(head.encode() + b"E1,Acme,2026-01-05,O\x92Brien\x81\n")
    body = head + "U1,Acme,2026-01-05,Clínica São José\nU2,Acme,2026-02-30,Zoë\n"
    (HERE / "utf16le_bom.csv").write_bytes(codecs.BOM_UTF16_LE + body.replace("\n", "\r\n").encode("utf-16-le"))
    (HERE / "utf16be_bom.csv").write_bytes(codecs.BOM_UTF16_BE + body.encode("utf-16-be"))
    (HERE / "utf16_without_bom.csv").write_bytes(body.encode("utf-16-le"))
    (HERE / "utf32_bom.csv").write_bytes(body.encode("utf-32"))
    # Mixed line endings (a line ends at LF, CRLF or a lone CR): the bad date's line number must be exact.
    rows = "claim_id,vendor,received_date\r\nM1,Acme,2026-01-05\r\nM2,Acme,2026-01-06\rM3,Acme,2026-02-30\r\n"
    text("mixed_line_endings.csv", rows)
    text("cr_cr_lf.csv", "claim_id,vendor,received_date\r\nM1,Acme,2026-01-05\r\r\nM2,Acme,2026-02-30\r\n")
    text("old_mac_cr.csv", "claim_id,vendor,received_date\rM1,Acme,2026-01-05\rM2,Acme,2026-02-30\rM3,Acme,2026-01-07\r")
    # A Parquet file with claim_id twice: refused as a CSV with a repeated header is.
    dup = pa.Table.from_arrays([pa.array(["P1"]), pa.array(["Acme"]), pa.array(["2026-01-05"]), pa.array(["P9"])],
                               names=["claim_id", "vendor", "received_date", "claim_id"])
    pq.write_table(dup, HERE / "parquet_duplicate_columns.parquet")
    # A workbook whose first sheet is hidden (and a very hidden one): the first visible sheet is read, and said.
    wb = openpyxl.Workbook()
    hidden = wb.active
    hidden.title = "Old"
    hidden.append(["claim_id", "vendor", "received_date"])
    hidden.append(["H1", "Acme", "2026-01-05"])
    hidden.sheet_state = "hidden"
    secret = wb.create_sheet("Lookup")
    secret.append(["claim_id", "vendor", "received_date"])
    secret.append(["S1", "Acme", "2026-01-05"])
    secret.sheet_state = "veryHidden"
    data = wb.create_sheet("Claims")
    data.append(["claim_id", "vendor", "received_date"])
    data.append(["V1", "Acme", "2026-01-05"])
    data.append(["V2", "Acme", "2026-01-06"])
    wb.save(HERE / "xlsx_hidden_first_sheet.xlsx")
    # Formulas saved by a program that does not calculate: no cached value, which would read as empty.
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "Claims"
    ws.append(["claim_id", "vendor", "received_date", "billed_amount", "paid_amount"])
    ws.append(["F1", "Acme", "2026-01-05", 100, "=D2*0.8"])
    ws.append(["F2", "Acme", "2026-01-06", 200, "=D3*0.8"])
    wb.save(HERE / "xlsx_formula_without_value.xlsx")


#: Vendor and payer names carrying Markdown, HTML and image payloads (issue 11, item 10): stored verbatim, shown
#: as text (tests/test_browser_markup.py checks the pages).
MARKUP_NAMES = ("Evil ![v](http://evil.example/vendor.png) Vendor", "<img src=http://evil.example/x.png> <b>Bold</b>",
                ":material/home: :red[Red] **Star** [link](javascript:alert) `code` $x$")


def _ui_cases() -> None:
    import csv
    import io

    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(["claim_id", "vendor", "payer", "received_date"])
    for i, name in enumerate(MARKUP_NAMES):
        w.writerow([f"M{i}", name, name, "2026-01-05"])
    text("markup_vendor_names.csv", buf.getvalue())


#: The 18 patient-identifier headers of issue 11 that were kept, and a value of each.
PHI_HEADERS = {
    "Pt Name": "Jane Roe", "PatientName": "John Doe", "Patient.Name": "Ann Lee", "D.O.B.": "1970-02-03",
    "Birthdate": "1981-04-05", "Member #": "M-1001", "MemberID": "W123456789", "MRN:": "A77001",
    "Med Rec #": "A77002", "SSN#": "212-55-0199", "Phone#": "(617) 555-0147", "Cell": "617.555.0148",
    "Home Addr": "12 Elm Street", "Guarantor": "Paul Roe", "Insured ID": "XZQ900221", "Patient": "Mary Major",
    "Nom du patient": "Dupont Marie", "Date de naissance": "1955-06-07",
}

#: Issue 11's SSN bypasses: each in a denial reason, each must reject its row.
SSN_BYPASSES = ("ssn_123-45-6789", "x123-45-6789", "123-45-6789x", "123 45 6789", "123456789", "123.45.6789",
                "123/45/6789", "123\u201345\u20136789", "123\u201445\u20146789", "123\u221245\u22126789",
                "123\u201145\u20116789", "\uff11\uff12\uff13-\uff14\uff15-\uff16\uff17\uff18\uff19",
                "\u0661\u0662\u0663-\u0664\u0665-\u0666\u0667\u0668\u0669", "123\u200b-45-6789",
                "123\u00a045\u00a06789")


def _phi_cases() -> None:
    """Patient identifiers by meaning (issue 11 items 3, 4 and 17): header spellings, SSN bypasses, other
    identifier shapes, a value cut before masking, and a malformed line of a file with PHI columns."""
    head = "claim_id,vendor,received_date,denial_reason,Notes," + ",".join(
        f'"{h}"' if "," in h else h for h in PHI_HEADERS) + "\n"
    values = ",".join(PHI_HEADERS.values())
    text("phi_header_spellings.csv", head + f"C1,Acme,2026-01-05,CO-16,called back,{values}\n"
         + f"C2,Acme,2026-02-30,CO-16,called back,{values}\n")
    rows = [f"S{i},Acme,2026-01-05,{v}\n" for i, v in enumerate(SSN_BYPASSES, start=1)]
    rows.append("S99,Acme,2026-01-05," + "x" * 100 + "987-65-4321\n")
    rows += ["OK1,Acme,2026-01-05,CO-16 Missing or invalid information\n", "123456789,Acme,2026-01-05,CO-197\n",
             "OK3,Acme,2026-01-05,PR-204 resubmitted 2026-01-20 10:30\n"]
    text("ssn_bypasses.csv", "claim_id,vendor,received_date,denial_reason\n" + "".join(rows))
    text("identifier_shapes.csv", "claim_id,vendor,received_date,payer,facility,denial_reason\n"
         "P1,Acme,2026-01-05,Aetna,Ward 7,call pt (617) 555-0147\n"
         "P2,Acme,2026-01-05,Aetna,Ward 7,+33 1 23 45 67 89 rappeler\n"
         "P3,Acme,2026-01-05,jane.roe@example.org,Ward 7,CO-16\n"
         "P4,Acme,2026-01-05,Aetna,Ward 7 MRN: 0047211,CO-16\n"
         "P5,Acme,2026-01-05,Aetna,Ward 7,chart \uff03\uff14\uff15\uff16\uff17\uff18 / 6175550147\n"
         "1234567890,Acme,2026-01-05,Aetna,Ward 7,CO-16\n"
         "P7,Acme,2026-01-05,Medicare,Building 12,N130 paid 1234.56 on 2026-01-05\n")
    text("malformed_with_phi.csv", "claim_id,vendor,received_date,Patient Name\n"
         "C1,Acme,2026-01-05,Jane Roe\nC2,Acme,2026-01-05,Roe, Jane\n")
    text("first_row_is_data.csv", "claim_id,vendor,received_date,212-55-0199\nC1,Acme,2026-01-05,212-55-0198\n")


if __name__ == "__main__":
    main()
