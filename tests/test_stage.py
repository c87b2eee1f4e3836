"""The stage step on its own: a file read into _stage with the line each row came from, through DuckDB's fast
path or the Python path, with lines that do not split into the header's columns kept as malformed."""

from __future__ import annotations

import hashlib

import pytest

from opsdash.ingest import readers, stage
from opsdash.ingest.params import Params
from opsdash.ingest.plan import read_source
from opsdash.store import Store


def _raw(p: Params, source_sql: str, extra: tuple[str, ...]) -> str:
    """The plainest staging SELECT: the raw text columns as read."""
    return f"SELECT * FROM ({source_sql})"


def _stage(tmp_path, name: str, data: bytes, python_reader: bool = False):
    path = tmp_path / name
    path.write_bytes(data)
    info = readers.sniff_file(path, None)
    s = Store(tmp_path / "s.duckdb")
    source = read_source(s, info, None, tmp_path, readers.limits())
    said: list[str] = []
    with s.transaction() as tx:
        staged = stage.stage(tx, info, source, _raw, stage.Digest(info), None, said.append, tmp_path,
                             readers.limits(), python_reader)
        rows = tx.fetchall(f"SELECT {staged.line_sql} AS line, c0, c1 FROM _stage s {staged.line_join} ORDER BY line")
    s.close()
    return info, staged, rows, said


@pytest.mark.parametrize("python_reader", [False, True])
def test_rows_keep_their_lines_and_ragged_lines_are_malformed(tmp_path, python_reader):
    data = b"a,b\n1,x\n2,y,extra\n3,z\n4\n5,w\n"
    info, staged, rows, _said = _stage(tmp_path, "f.csv", data, python_reader)
    assert rows == [(2, "1", "x"), (4, "3", "z"), (6, "5", "w")]
    assert [(m[0], m[1], m[2]) for m in staged.malformed] == [
        (3, None, "expected 2 columns (as in the header), found 3"),
        (5, "b", "expected 2 columns (as in the header), found 1")]
    assert [m[3] for m in staged.malformed] == ["2,y,extra", "4"]
    assert info.sha256 == hashlib.sha256(data).hexdigest()  # the digest thread's full pass


def test_a_line_break_inside_quotes_takes_the_python_path_with_exact_lines(tmp_path):
    _info, staged, rows, said = _stage(tmp_path, "f.csv", b'a,b\n1,"two\nlines"\n2,y\n')
    assert rows == [(2, "1", "two\nlines"), (4, "2", "y")] and staged.line_sql == "s._line"
    assert "reading (exact line numbers)" in said


def test_a_path_with_quotes_and_pattern_characters_is_read_as_it_is(tmp_path):
    """The path is bound (never written into the statement) and linked to a literal name (DuckDB would expand
    a pattern): a file named like SQL and a glob is read, and only it."""
    (tmp_path / "x'); DROP TABLE loads; -- [ab]*.csv").write_bytes(b"a,b\n9,other file\n")
    _info, _staged, rows, _said = _stage(tmp_path, "x'); DROP TABLE loads; -- [ab]*?.csv", b"a,b\n1,x\n")
    assert rows == [(2, "1", "x")]


def test_windows_1252_is_read_as_utf8_from_a_rewritten_copy(tmp_path):
    info, _staged, rows, said = _stage(tmp_path, "f.csv", "a,b\n1,café\n".encode("cp1252"))
    assert rows == [(2, "1", "café")] and info.encoding in ("windows-1252", "latin-1")
    assert "reading (as UTF-8)" in said


def test_too_many_malformed_lines_refuse_the_file(tmp_path, monkeypatch):
    from opsdash.ingest.errors import FileRefused

    monkeypatch.setattr(stage, "MAX_MALFORMED", 2)
    with pytest.raises(FileRefused, match="more than 2 lines cannot be split into the header's 2 columns "
                                          r"\(the first is line 2"):
        _stage(tmp_path, "f.csv", b"a,b\n1\n2\n3\n4,ok\n")
