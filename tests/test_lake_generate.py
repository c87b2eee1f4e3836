"""`opsdash lake generate`: a lake of many tenants written directly, the same as an export writes, at any size."""

from __future__ import annotations

import datetime as dt
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest
from click.testing import CliRunner

from opsdash import contract, lake, metrics, queries
from opsdash.cli import main
from opsdash.sample import lakes
from opsdash.sample.flat import flat_frame
from opsdash.sample.stories import Timeline
from opsdash.store import Store

AS_OF = dt.date(2026, 11, 30)


@pytest.fixture(scope="module")
def generated(tmp_path_factory) -> tuple[Path, lakes.Generated]:
    out = tmp_path_factory.mktemp("gen") / "lake"
    # In this process, not a pool: other tests' Streamlit AppTests leave a page script as this worker's
    # __main__, which forkserver children would run first. The pool is tested through the CLI (a fresh process).
    return out, lakes.generate(out, 4, 120_000, as_of=AS_OF, seed=3, jobs=1)


def _files(root: Path, table: str, tenant: str) -> pd.DataFrame:
    """A tenant's rows of a table with the vendor and month of the directory each came from."""
    frames = []
    for f in sorted((root / table / f"tenant={tenant}").glob("vendor=*/month=*/*.parquet")):
        df = pq.read_table(f).to_pandas()
        frames.append(df.assign(_vendor_dir=f.parent.parent.name[len("vendor="):], _month_dir=f.parent.name[6:]))
    return pd.concat(frames, ignore_index=True)


@pytest.mark.parametrize("text, rows", [("100000000", 100_000_000), ("100_000_000", 100_000_000), ("100M", 10**8),
                                        ("1.5B", 1_500_000_000), ("250k", 250_000), ("10m", 10**7)])
def test_row_counts_are_read_as_people_write_them(text, rows):
    assert lakes.parse_rows(text) == rows


@pytest.mark.parametrize("text", ["", "1x", "M", "-5", "0", "nan", "inf"])
def test_a_row_count_that_is_not_one_is_refused(text):
    with pytest.raises(ValueError, match="expected"):
        lakes.parse_rows(text)


def test_a_generated_lake_has_the_layout_columns_and_types_of_an_export(sample_store, tmp_path, generated):
    exported = tmp_path / "exported"
    lake.export(sample_store, exported, "h")
    root, done = generated
    assert lake.tenants(root) == ["hospital-001", "hospital-002", "hospital-003", "hospital-004"]
    for table in lake.TABLES:
        want = pq.read_schema(next((exported / table).glob("tenant=h/*/*/*.parquet")))
        for tenant in lake.tenants(root):
            got = pq.read_schema(next((root / table / f"tenant={tenant}").glob("*/*/*.parquet")))
            assert [(f.name, f.type) for f in got] == [(f.name, f.type) for f in want], (table, tenant)
    want = pq.read_schema(exported / "loads" / "tenant=h" / "part-0.parquet")
    got = pq.read_schema(root / "loads" / "tenant=hospital-003" / "part-0.parquet")
    assert [(f.name, f.type) for f in got] == [(f.name, f.type) for f in want]


def test_the_lake_holds_the_generators_rows_each_in_its_vendor_month(generated):
    """Every tenant's files hold exactly the rows the sample generator draws with the tenant's seed and scale (from
    its manifest), each row under its vendor and the month of its arrival event; lineage and loads agree."""
    root, done = generated
    total = 0
    for tenant in lake.tenants(root):
        manifest = json.loads(lake.manifest_path(root, tenant).read_text())
        gen = manifest["generated"]
        tl = Timeline(dt.date.fromisoformat(gen["as_of"]), gen["months"])
        loads = pq.read_table(root / "loads" / f"tenant={tenant}" / "part-0.parquet").to_pandas()
        for load_id, table in enumerate(lake.TABLES, start=1):
            want = flat_frame(table, gen["seed"], tl, gen["scale"])
            got = _files(root, table, tenant)
            key = next(k for k in contract.TABLES[table].key if k != "vendor")
            assert len(got) == len(want) == done.rows[tenant][table] > 0
            assert got[key].is_unique
            got = got.set_index(key).loc[want[key]]
            assert (got["_vendor_dir"].to_numpy() == want["vendor"].to_numpy()).all()
            arrival = pd.to_datetime(want[contract.EVENT_COLUMNS[table][0]])
            assert (got["_month_dir"].to_numpy() == arrival.dt.strftime("%Y-%m").fillna("none").to_numpy()).all()
            for col in contract.TABLES[table].column_names:
                if col in (key, "vendor"):
                    continue
                a, b = got[col].reset_index(drop=True), want[col].reset_index(drop=True)
                if contract.TABLES[table].column(col).type in (contract.ColType.DATE, contract.ColType.TIMESTAMP):
                    a, b = pd.to_datetime(a), pd.to_datetime(b)
                assert (a.isna() == b.isna()).all(), f"{table}.{col}"
                assert (a[a.notna()] == b[b.notna()]).all(), f"{table}.{col}"
            assert (got["_load_id"] == load_id).all()
            assert sorted(got["_line"]) == list(range(2, len(got) + 2))
            rec = loads[loads["load_id"] == load_id].iloc[0]
            assert rec["table_name"] == table and rec["rows_loaded"] == len(got)
            assert set(rec["columns_present"]) == set(contract.TABLES[table].column_names)
            parts = manifest["tables"][table]
            assert sum(v[0] for v in parts.values()) == len(got)
            total += len(got)
    assert total == done.total()
    assert abs(total - 120_000) / 120_000 < 0.05


def test_hospitals_differ_in_size_and_the_same_seed_writes_the_same_rows(generated, tmp_path):
    root, done = generated
    claims = [done.rows[t]["claims"] for t in sorted(done.rows)]
    assert max(claims) > 1.3 * min(claims)
    again = lakes.generate(tmp_path / "again", 4, 120_000, as_of=AS_OF, seed=3, jobs=1)
    assert again.rows == done.rows
    a = _files(root, "claims", "hospital-002").sort_values("claim_id", ignore_index=True)
    b = _files(tmp_path / "again", "claims", "hospital-002").sort_values("claim_id", ignore_index=True)
    pd.testing.assert_frame_equal(a, b)
    other = lakes.generate(tmp_path / "other", 4, 120_000, as_of=AS_OF, seed=4, jobs=1)
    assert other.rows != done.rows


def test_a_large_tenant_is_made_in_chunks_with_ids_that_never_collide(tmp_path, monkeypatch):
    monkeypatch.setattr(lakes, "CHUNK_ROWS", 25_000)
    done = lakes.generate(tmp_path / "lake", 1, 70_000, as_of=AS_OF, seed=5)
    manifest = json.loads(lake.manifest_path(tmp_path / "lake", "hospital-001").read_text())
    assert manifest["generated"]["chunks"] == 3
    for table in lake.TABLES:
        got = _files(tmp_path / "lake", table, "hospital-001")
        assert len(got) == done.rows["hospital-001"][table]
        assert got[next(k for k in contract.TABLES[table].key if k != "vendor")].is_unique
        assert sorted(got["_line"]) == list(range(2, len(got) + 2))
    # Each chunk's rows of a partition are a row group of the partition's one file (a sparse month may miss one).
    groups = [pq.ParquetFile(f).num_row_groups for f in (tmp_path / "lake").rglob("part-0.parquet")
              if "loads" not in f.parts]
    assert max(groups) == 3 and min(groups) >= 1
    assert abs(done.total() - 70_000) / 70_000 < 0.05


def test_duckdb_reads_a_generated_tenant_as_a_store_holding_the_same_rows(generated, tmp_path, monkeypatch):
    """Views over one tenant's files give the KPI pandas computes from the generator's own frame."""
    monkeypatch.setattr(metrics, "USE_ROLLUPS", False)
    root, _ = generated
    manifest = json.loads(lake.manifest_path(root, "hospital-004").read_text())["generated"]
    claims = flat_frame("claims", manifest["seed"], Timeline(AS_OF, manifest["months"]), manifest["scale"])
    with Store(tmp_path / "views.duckdb") as s:
        queries.lake_views(s, str(root), "hospital-004")
        got = metrics.series(s, "clean_claim_rate", by=("vendor",), as_of=dt.datetime(2026, 11, 30, 23, 59))
    submitted = claims[claims["submitted_date"].notna()].copy()
    submitted["month"] = pd.to_datetime(submitted["submitted_date"]).dt.to_period("M").dt.start_time.dt.date
    want = submitted.groupby(["month", "vendor"])["clean_submission"].agg(["sum", "count"]).reset_index()
    merged = got.dropna(subset=["value"]).merge(want, left_on=["period_start", "vendor"], right_on=["month", "vendor"])
    assert len(merged) == got["value"].notna().sum() > 20
    assert (merged["numerator"] == merged["sum"]).all() and (merged["denominator"] == merged["count"]).all()
    assert np.allclose(merged["value"], merged["sum"] / merged["count"], rtol=1e-12)


def test_the_cli_writes_a_lake_and_refuses_to_write_over_a_tenant(tmp_path):
    runner = CliRunner()
    out = tmp_path / "lake"
    # As people run it: a process of its own, tenants made by two worker processes.
    done = subprocess.run([sys.executable, "-m", "opsdash", "lake", "generate", "--lake", str(out), "--tenants", "2",
                           "--rows", "20k", "--as-of", "2026-11-30", "--jobs", "2"],
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "2 tenants" in done.stdout and "Claims:" in done.stdout
    assert lake.tenants(out) == ["hospital-001", "hospital-002"]
    assert all(json.loads(lake.manifest_path(out, t).read_text())["tables"]["claims"] for t in lake.tenants(out))
    before = {p: p.stat().st_mtime_ns for p in out.rglob("*.parquet")}
    again = runner.invoke(main, ["lake", "generate", "--lake", str(out), "--tenants", "3", "--rows", "20k"])
    assert again.exit_code == 1 and "already holds tenant hospital-001 and 1 more" in again.output
    assert {p: p.stat().st_mtime_ns for p in out.rglob("*.parquet")} == before
    # A run stopped half-way leaves partitions without loads or manifest: that tenant is held too.
    (out / "claims" / "tenant=hospital-003").mkdir(parents=True)
    stopped = runner.invoke(main, ["lake", "generate", "--lake", str(out), "--tenants", "3", "--rows", "20k"])
    assert stopped.exit_code == 1 and "already holds tenant hospital-001 and 2 more" in stopped.output
    bad = runner.invoke(main, ["lake", "generate", "--lake", str(tmp_path / "x"), "--rows", "lots"])
    assert bad.exit_code == 2 and "--rows" in bad.output and "10M" in bad.output
