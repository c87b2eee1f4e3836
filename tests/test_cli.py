"""The opsdash command: reports, exit statuses, CSV output and help."""

from __future__ import annotations

import io
import json
import shutil
import subprocess
import sys

import pandas as pd
import pytest
from click.testing import CliRunner

from opsdash.cli import main
from opsdash.store import Store
from tests.helpers import csv_text, held, row


@pytest.fixture
def run(tmp_path):
    db = tmp_path / "cli.duckdb"

    def _run(*args: str):
        return CliRunner().invoke(main, [*args[:1], "--db", str(db), *args[1:]] if args and args[0] in
                                  ("ingest", "loads", "rejects", "demo") else list(args), catch_exceptions=False)

    return _run


def test_ingest_reports_each_file_and_exits_0(run, write):
    p = write("claims.csv", csv_text([row("claims", **{"MRN": "x1", "Notes": "n"}),
                                      row("claims", claim_id="C2", billed_amount="-3")]))
    r = run("ingest", str(p))
    assert r.exit_code == 0, r.output
    assert "loaded   claims.csv -> claims (load 1): 2 read, 1 loaded, 1 rejected, 0 skipped" in r.output
    assert "PHI columns dropped, never stored: MRN" in r.output and "columns ignored: Notes" in r.output
    assert "opsdash rejects --load 1" in r.output
    assert "1 file(s): 1 loaded, 0 already loaded, 0 refused; 1 rows loaded, 1 rejected" in r.output


def test_ingest_exit_1_when_any_file_is_refused_and_others_still_load(run, write):
    ok = write("ok.csv", csv_text([row("claims")]))
    bad = write("bad.csv", "claim_id,vendor\nC1,Acme\n")
    r = run("ingest", str(bad), str(ok))
    assert r.exit_code == 1
    assert "REFUSED  bad.csv: looks like claims; missing required column(s) received_date" in r.output
    assert "loaded   ok.csv" in r.output


def test_ingest_same_file_again_is_skipped_with_exit_0(run, write):
    p = write("c.csv", csv_text([row("claims")]))
    run("ingest", str(p))
    r = run("ingest", str(p))
    assert r.exit_code == 0 and "skipped  c.csv: the same file" in r.output


def test_ingest_json_report(run, write):
    p = write("c.csv", csv_text([row("claims")]))
    r = run("ingest", "--format", "json", str(p))
    rep, = json.loads(r.stdout)  # standard output holds the JSON alone; the outlooks kept are said on stderr
    assert "outlooks for the next 13 weeks kept for 1 vendor(s)" in r.stderr
    assert (rep["status"], rep["table"], rep["rows_loaded"], len(rep["sha256"])) == ("loaded", "claims", 1, 64)


@pytest.mark.parametrize("args", [("ingest",), ("ingest", "--table", "nope", "x.csv"),
                                  ("ingest", "--mapping", "/no/such.toml", "x.csv"),
                                  ("generate", "--out", "x", "--flat", "--tables", "claims,bogus"), ("frobnicate",)])
def test_usage_errors_exit_2(run, args):
    r = run(*args)
    assert r.exit_code == 2, r.output


def test_rejects_of_an_unknown_load_is_a_usage_error(run, write):
    run("ingest", str(write("a.csv", csv_text([row("claims")]))))
    r = run("rejects", "--load", "77")
    assert r.exit_code == 2 and "no load 77; see `opsdash loads`" in r.output


def test_ingest_with_mapping_and_table(run, write):
    m = write("m.toml", 'table = "calls"\n[columns]\ncall_id = "Ref"\nvendor = {const = "Voxa"}\n')
    p = write("k.csv", "Ref,offered_at\n1,2026-01-05 09:00\n")
    r = run("ingest", "--mapping", str(m), "--table", "calls", str(p))
    assert r.exit_code == 0 and "(load 1, mapping m.toml)" in r.output


def test_loads_and_rejects_as_csv(run, write, tmp_path):
    run("ingest", str(write("a.csv", csv_text([row("claims"), row("claims", claim_id="C2", received_date="x")]))))
    run("ingest", str(write("b.csv", csv_text([row("calls", handle_seconds="-1")]))))
    loads = pd.read_csv(io.StringIO(run("loads", "--format", "csv").output))
    assert loads[["file_name", "rows_read", "rows_loaded", "rows_rejected"]].values.tolist() == [
        ["a.csv", 2, 1, 1], ["b.csv", 1, 0, 1]]
    rej = pd.read_csv(io.StringIO(run("rejects").output))
    assert list(rej.columns) == ["load_id", "file_name", "line", "column_name", "kind", "reason", "raw_values"]
    assert rej[["load_id", "line", "column_name"]].values.tolist() == [[1, 3, "received_date"], [2, 2, "handle_seconds"]]
    only2 = pd.read_csv(io.StringIO(run("rejects", "--load", "2").output))
    assert only2["load_id"].tolist() == [2]
    out = tmp_path / "r.csv"
    assert run("rejects", "--out", str(out)).exit_code == 0 and len(pd.read_csv(out)) == 2
    assert json.loads(run("loads", "--format", "json").output)[0]["file_name"] == "a.csv"


def test_generate_then_demo_builds_a_store(run, tmp_path):
    out = tmp_path / "exports"
    r = run("generate", "--out", str(out), "--months", "3", "--scale", "0.2", "--seed", "5", "--as-of", "2026-03-20")
    assert r.exit_code == 0 and (out / "MANIFEST.json").exists()
    r = run("demo", "--sample-dir", str(out))
    assert r.exit_code == 0, r.output
    assert "0 refused" in r.output and "stored rows: claims " in r.output
    assert "outlooks for the next 13 weeks kept for 4 vendor(s)" in r.output  # as after every load
    with Store(tmp_path / "cli.duckdb", read_only=True) as s:
        assert s.fetchone("SELECT count(*) FROM outlooks")[0] == 4


def test_generate_flat(run, tmp_path):
    r = run("generate", "--out", str(tmp_path / "f"), "--flat", "--tables", "claims,calls", "--months", "2",
            "--scale", "0.1", "--as-of", "2026-02-10")
    assert r.exit_code == 0
    df = pd.read_csv(tmp_path / "f" / "claims.csv")
    assert list(df.columns)[:3] == ["claim_id", "vendor", "facility"] and len(df) > 50


def test_a_read_command_on_a_missing_store_says_what_to_do(tmp_path):
    r = CliRunner().invoke(main, ["loads", "--db", str(tmp_path / "none.duckdb")])
    assert r.exit_code == 1 and "no opsdash store at" in r.output and "opsdash demo" in r.output


def test_every_command_and_option_is_explained_with_an_example():
    for name, cmd in main.commands.items():
        assert cmd.help and "Example" in cmd.help, name
        for p in cmd.params:
            if p.param_type_name == "option":
                assert p.help, f"{name} {p.name}"


def test_entry_point_is_installed():
    exe = shutil.which("opsdash", path=str(__import__("pathlib").Path(sys.executable).parent))
    assert exe, "the opsdash script is not installed next to this Python"
    out = subprocess.run([exe, "--help"], capture_output=True, text=True, check=True).stdout
    assert "ingest" in out and "demo" in out


def test_a_store_held_by_another_process_gets_a_clear_message(tmp_path, write):
    """DuckDB takes one writer at a time: a load while the dashboard holds the file must say what to do."""
    import time

    from opsdash.store import Store

    db = tmp_path / "held.duckdb"
    Store(db).close()
    with held(db, read_only=True):
        started = time.monotonic()
        r = CliRunner().invoke(main, ["ingest", "--db", str(db), "--wait", "1",
                                      str(write("c.csv", csv_text([row("claims")])))])
        assert r.exit_code == 1
        assert "another process has it open" in r.output and "wait for the other load to finish" in r.output
        assert time.monotonic() - started >= 1, "it gave up before --wait ran out"


def test_ingest_waits_for_a_reader_to_let_go(tmp_path, write):
    """A load started while another process reads the store takes it as soon as the reader closes."""
    from opsdash.store import Store

    db = tmp_path / "held.duckdb"
    Store(db).close()
    with held(db, read_only=True, release_after=1.5):
        r = CliRunner().invoke(main, ["ingest", "--db", str(db), "--wait", "20",
                                      str(write("c.csv", csv_text([row("claims")])))])
        assert r.exit_code == 0, r.output
        assert "1 loaded" in r.output


# -- issue 11, items 9 and 17: file names from outside never run in a spreadsheet nor act on a terminal ----

FORMULA_NAMES = ['=HYPERLINK("http:x")', "+cmd", "@SUM(1)", "-2+3"]
CONTROL_NAMES = ["red\x1b[31mX", "back\rspace", "bell\x07", "rev\u202etxt.exe", "nl\nforged"]


def _hostile_store(run, tmp_path):
    folder = tmp_path / "in"
    folder.mkdir()
    outputs = []
    for i, stem in enumerate(FORMULA_NAMES + CONTROL_NAMES):
        p = folder / f"{stem}.csv"
        p.write_text(csv_text([row("claims", claim_id=f"C{i}"), row("claims", claim_id=f"D{i}", received_date="x")]))
        outputs.append(run("ingest", str(p)).output)
    return outputs


def _no_raw_controls(text: str) -> None:
    for c in ("\x1b", "\r", "\x07", "\u202e"):
        assert c not in text, repr(text)


def test_loads_and_rejects_csv_escape_formulas_as_downloads_do(run, tmp_path):
    import csv

    _hostile_store(run, tmp_path)
    for out in (run("loads", "--format", "csv").output, run("rejects").output):
        cells = [c for r in csv.reader(io.StringIO(out, newline="")) for c in r]
        names = [c for c in cells if c.endswith(".csv")]
        assert len(names) >= len(FORMULA_NAMES + CONTROL_NAMES)
        for c in cells:
            assert not c.startswith(("=", "+", "-", "@")), c
        for stem in FORMULA_NAMES:
            assert f"'{stem}.csv" in names
    out = tmp_path / "r.csv"
    run("rejects", "--out", str(out))
    assert "'=HYPERLINK" in out.read_text(encoding="utf-8")


def test_the_cli_never_echoes_terminal_controls_from_file_names(run, tmp_path):
    reports = _hostile_store(run, tmp_path)
    for text in reports:
        _no_raw_controls(text)
    joined = "".join(reports)
    assert "red\\x1b[31mX.csv" in joined and "rev\\u202etxt.exe.csv" in joined and "bell\\x07.csv" in joined
    assert "nl\\x0aforged.csv" in joined  # a line break in a name cannot forge a report line
    for args in (("loads",), ("loads", "--format", "csv"), ("rejects",)):
        out = run(*args).output
        _no_raw_controls(out)
        assert "back\\x0dspace" in out
    assert "\\u202e" in run("loads").output


def test_terminal_safe_keeps_ordinary_text():
    from opsdash.cli import terminal_safe

    assert terminal_safe("Ibérica Salud · 2026") == "Ibérica Salud · 2026"
    assert terminal_safe("a\x1b[2Jb\x9bc\u2066d") == "a\\x1b[2Jb\\x9bc\\u2066d"
    assert terminal_safe("a\tb\nc", keep="\t\n") == "a\tb\nc"


def _mostly_rejected(write, name: str = "claims.csv"):
    """Six claims, five with a negative billed amount (the issue's case)."""
    return write(name, csv_text([row("claims", claim_id="C1")]
                                + [row("claims", claim_id=f"C{i}", billed_amount="-1") for i in range(2, 7)]))


def test_a_file_with_most_rows_rejected_loads_loudly(run, write, tmp_path):
    r = run("ingest", str(_mostly_rejected(write)))
    assert r.exit_code == 0, r.output
    assert "WARNING: 5 of 6 rows rejected (83.3%, more than 5%)" in r.output
    assert "WARNING: 1 file(s) loaded with more than 5% of their rows rejected: claims.csv" in r.output
    from opsdash.store import Store

    with Store(tmp_path / "cli.duckdb", read_only=True) as s:  # the load's record keeps the warning
        assert any("5 of 6 rows rejected" in w for w in s.fetchone("SELECT warnings FROM loads")[0])


@pytest.mark.parametrize("bad, warned", [(1, False), (2, True)])
def test_the_reject_warning_starts_above_5_percent(run, write, bad, warned):
    p = write("c.csv", csv_text([row("claims", claim_id=f"C{i}", billed_amount="-1" if i < bad else "5")
                                 for i in range(20)]))
    r = run("ingest", str(p))
    assert r.exit_code == 0 and ("WARNING" in r.output) == warned, r.output


def test_max_reject_rate_refuses_the_file_whole_and_loads_the_others(run, write, tmp_path):
    from opsdash.store import Store

    good = write("good.csv", csv_text([row("claims", claim_id="G1"), row("claims", claim_id="G2")]))
    r = run("ingest", "--max-reject-rate", "5%", str(_mostly_rejected(write)), str(good))
    assert r.exit_code == 1, r.output
    assert ("REFUSED  claims.csv: refused whole: 5 of 6 rows (83.3%) would be rejected, more than "
            "--max-reject-rate 5.0% allows; nothing was stored. First reasons: line 3: billed_amount: found -1.0, "
            "expected >= 0") in r.output
    assert "loaded   good.csv -> claims" in r.output
    with Store(tmp_path / "cli.duckdb", read_only=True) as s:  # nothing of the refused file: rows, rejects, load
        assert s.fetchall("SELECT file_name FROM loads") == [("good.csv",)]
        assert sorted(x for (x,) in s.fetchall("SELECT claim_id FROM claims")) == ["G1", "G2"]
        assert s.fetchone("SELECT count(*) FROM rejects")[0] == 0
    # Refused as a load attempt like any other: in the JSON report with its reason, and it may be loaded later.
    r = run("ingest", "--max-reject-rate", "0.9", "--format", "json", str(_mostly_rejected(write)))
    assert r.exit_code == 0 and json.loads(r.stdout)[0]["status"] == "loaded"


@pytest.mark.parametrize("rate", ["1.5", "-1", "ten", "150%"])
def test_max_reject_rate_must_be_a_share(run, write, rate):
    r = run("ingest", "--max-reject-rate", rate, str(_mostly_rejected(write)))
    assert r.exit_code == 2 and ("expected a share such as 0.05 or 5%" in r.output or "outside 0 to 1" in r.output)


def test_demo_says_what_it_loads_file_by_file_on_stderr(run, tmp_path):
    from opsdash.ingest.folders import export_files

    out = tmp_path / "exports"
    run("generate", "--out", str(out), "--months", "2", "--scale", "0.1", "--seed", "5", "--as-of", "2026-02-20")
    files = export_files(out)
    r = run("demo", "--sample-dir", str(out))
    assert r.exit_code == 0, r.output
    lines = r.stderr.splitlines()
    assert lines[0].startswith("building the store ") and f"from {len(files)} export file(s) in {out}" in lines[0]
    assert [line.split("]", 1)[0] for line in lines[1:]] == [f"[{i:>{len(str(len(files)))}}/{len(files)}"
                                                             for i in range(1, len(files) + 1)]
    assert all(f"{p.relative_to(out)}: " in line for p, line in zip(files, lines[1:]))
    assert " rows into claims" in r.stderr and "stored rows: claims " in r.stdout and "[1/" not in r.stdout
