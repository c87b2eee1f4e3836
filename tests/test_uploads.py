"""Browser uploads are checked before anything reads them: size, extension, content, name."""

from __future__ import annotations

import pytest

from opsdash.ingest import uploads
from opsdash.ingest.errors import FileRefused


@pytest.mark.parametrize("name, safe", [
    ("claims.csv", "claims.csv"), ("../../etc/passwd.csv", "passwd.csv"), ("C:\\Users\\x\\claims.CSV", "claims.csv"),
    ("$(rm -rf).csv", "_rm -rf_.csv"), ("\x00evil\n.xlsx", "evil.xlsx"), ("...", "upload"), ("Ibérica mayo.csv", "Ibérica mayo.csv")])
def test_names_are_reduced_to_plain_file_names(name, safe):
    assert uploads.safe_name(name) == safe


def test_only_known_extensions_with_matching_content_within_the_limit():
    assert uploads.check("a.csv", b"claim_id\n1\n").name == "a.csv"
    with pytest.raises(FileRefused, match="files ending .exe are not accepted; expected .csv"):
        uploads.check("a.exe", b"MZ")
    with pytest.raises(FileRefused, match="the name says an Excel workbook .* but the content is not one"):
        uploads.check("claims.xlsx", b"claim_id,vendor\n")
    with pytest.raises(FileRefused, match="a Parquet file"):
        uploads.check("claims.parquet", b"PK\x03\x04")
    with pytest.raises(FileRefused, match="over the upload limit of 1 MB"):
        uploads.check("big.csv", b"x" * (2 * 1024 * 1024), limit=1024 * 1024)
    with pytest.raises(FileRefused, match="empty"):
        uploads.check("a.csv", b"")
    with pytest.raises(FileRefused, match="expected .toml"):
        uploads.check("mapping.csv", b"x", mapping=True)


def test_the_limit_comes_from_the_environment(monkeypatch):
    assert uploads.max_bytes() == 200 * 1024 * 1024
    monkeypatch.setenv("OPSDASH_UPLOAD_MAX_MB", "0.5")
    with pytest.raises(FileRefused, match="over the upload limit"):
        uploads.check("a.csv", b"x" * 600_000)
    monkeypatch.setenv("OPSDASH_UPLOAD_MAX_MB", "lots")
    with pytest.raises(FileRefused, match="not a number"):
        uploads.max_bytes()


def test_two_uploads_with_one_name_are_both_kept(tmp_path):
    paths = uploads.save([uploads.Checked("a.csv", b"1"), uploads.Checked("a.csv", b"2")], tmp_path)
    assert [p.name for p in paths] == ["a.csv", "a-2.csv"] and paths[1].read_bytes() == b"2"
