"""The upload's steps without Streamlit: what is refused, what is saved and loaded, and what the page says."""

from pathlib import Path

from opsdash import uploading
from opsdash.ingest.loader import LoadReport

CLAIMS = "claim_id,vendor,received_date\nC1,Acme,2026-11-02\nC2,Acme,2026-11-03\n"


def _loader(seen: list):
    def load(paths: list[Path], mapping: Path | None) -> list[LoadReport]:
        seen.append(([p.name for p in paths], mapping.name if mapping else None,
                     [p.read_bytes() for p in paths]))
        return [LoadReport(file=p.name, status="loaded", table="claims", load_id=i + 1, rows_read=10,
                           rows_loaded=10 - 3 * i, rows_rejected=3 * i) for i, p in enumerate(paths)]
    return load


def test_files_are_checked_saved_under_safe_names_and_loaded(tmp_path):
    seen, told = [], []
    out = uploading.run([uploading.Sent("../claims.csv", CLAIMS.encode()),
                         uploading.Sent("claims.csv", CLAIMS.encode()),
                         uploading.Sent("book.xlsx", b"not a zip")], None, tmp_path, _loader(seen), told.append)
    # The workbook that is no workbook is refused before anything reads it; the two CSVs keep both names.
    assert told == [2]
    assert seen == [(["claims.csv", "claims-2.csv"], None, [CLAIMS.encode()] * 2)]
    assert [(r.file, r.status) for r in out.reports] == [("book.xlsx", "refused"), ("claims.csv", "loaded"),
                                                         ("claims-2.csv", "loaded")]
    assert out.refused == 1 and out.state == "error"
    assert out.summary == "2 of 3 file(s) loaded or already present"
    frame = out.frame
    assert list(frame.columns) == uploading.REPORT_COLUMNS
    assert frame["rows_loaded"].tolist() == [0, 10, 7]
    # 3 of 10 rows rejected is over the warning rate (loader.REJECT_WARN_RATE): named, with its figures.
    assert out.warnings == ["claims-2.csv: 3 of 10 rows rejected (30.0%, more than 5%): check the export against "
                            "the contract or its mapping file"]


def test_a_refused_mapping_file_refuses_the_exports_it_was_meant_for(tmp_path):
    seen = []
    out = uploading.run([uploading.Sent("claims.csv", CLAIMS.encode())], uploading.Sent("map.txt", b"x = 1"),
                        tmp_path, _loader(seen))
    assert seen == []  # nothing loaded
    assert [(r.file, r.status) for r in out.reports] == [("map.txt", "refused")]
    assert out.summary == "0 of 1 file(s) loaded or already present" and out.warnings == []


def test_a_mapping_file_is_saved_apart_and_handed_to_the_loader(tmp_path):
    seen = []
    out = uploading.run([uploading.Sent("claims.csv", CLAIMS.encode())], uploading.Sent("vendor map.toml", b"[x]\n"),
                        tmp_path, _loader(seen))
    assert seen[0][:2] == (["claims.csv"], "vendor map.toml")
    assert (tmp_path / "mapping" / "vendor map.toml").read_bytes() == b"[x]\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["claims.csv", "mapping"]
    assert out.state == "complete" and out.refused == 0


def test_audit_events_name_every_file_and_its_load(tmp_path):
    out = uploading.Outcome([LoadReport(file="a.csv", status="loaded", load_id=7, rows_loaded=12),
                             LoadReport(file="b.csv", status="refused", message="no")])
    events = out.audit_events("ana", "admin")
    assert [(e.what, e.row_count, e.load_ids, e.action, e.user_name) for e in events] == [
        ("a.csv: loaded", 12, (7,), "upload", "ana"), ("b.csv: refused", None, (), "upload", "ana")]


def test_nothing_accepted_loads_nothing(tmp_path):
    seen = []
    out = uploading.run([uploading.Sent("notes.docx", b"x")], None, tmp_path, _loader(seen))
    assert seen == [] and out.refused == 1 and out.frame["status"].tolist() == ["refused"]
