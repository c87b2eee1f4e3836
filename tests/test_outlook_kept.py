"""Outlooks kept in the store after a load (issue 14, items 5 and 7): what is read back is exactly what would be
made, only for the store as it stands and the code that made it, only the reader's vendors; the loads that keep
them; the Overview's "projected to miss" rows."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import shutil

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from opsdash import cli, queries, views
from opsdash import codec
from opsdash.capacity import outlook
from opsdash.store import Scope, Store
from tests.helpers import csv_text, row
from tests.test_app import _app

IBERICA = "Ibérica Salud Contact Services"
HELIX = "Helix Health Services"


def same(a, b, path: str = "outlook") -> None:
    """a and b equal all the way down: frames with their dtypes and index, floats exactly (NaN as NaN)."""
    if isinstance(a, pd.DataFrame):
        pd.testing.assert_frame_equal(a, b, check_exact=True, obj=path)
        return
    assert type(a) is type(b), (path, type(a), type(b))
    if dataclasses.is_dataclass(a):
        for f in dataclasses.fields(a):
            same(getattr(a, f.name), getattr(b, f.name), f"{path}.{f.name}")
    elif isinstance(a, (list, tuple)):
        assert len(a) == len(b), path
        for i, (x, y) in enumerate(zip(a, b, strict=True)):
            same(x, y, f"{path}[{i}]")
    elif isinstance(a, dict):
        assert list(a) == list(b), path
        for k in a:
            same(a[k], b[k], f"{path}[{k!r}]")
    elif isinstance(a, (float, np.floating)) and np.isnan(a):
        assert np.isnan(b), path
    else:
        assert a == b, (path, a, b)


@pytest.fixture
def copied(sample_store, tmp_path):
    """A writable copy of the sample store (its outlooks kept, as conftest loads it)."""
    path = tmp_path / "copy.duckdb"
    shutil.copy(sample_store.path, path)
    s = Store(path)
    yield s
    s.close()


# -- the codec ------------------------------------------------------------------------------------------------
def test_every_column_kind_an_outlook_holds_reads_back_exactly():
    chicago = "America/Chicago"
    df = pd.DataFrame({
        "f": [1.5, np.nan, np.inf], "i": np.array([1, -2, 3], dtype="int64"), "b": [True, False, True],
        "t": pd.to_datetime(["2026-01-05 08:30", None, "2027-02-08 00:00:00.000250"], format="ISO8601"),
        # across the autumn clock change: two offsets in one column, read back in the zone, not at an offset
        "z": pd.to_datetime(["2026-10-31 12:00", "2026-11-02 12:00", None]).tz_localize(chicago),
        "zn": pd.Series([pd.NaT] * 3, dtype=f"datetime64[ns, {chicago}]"),
        "d": [dt.date(2026, 1, 5), None, dt.date(2027, 1, 4)], "s": pd.Series(["a", None, "Ibérica"], dtype="str"),
        "n": pd.array([1, None, 3], dtype="Int64"), "fl": pd.array([0.5, None, 2.0], dtype="Float64"),
        "bo": pd.array([True, None, False], dtype="boolean"), "o": ["x", 2, 0.25]},
        index=pd.Index([10, 11, 12], name="row"))
    df.columns.name = "field"
    value = {"frame": df, "empty": pd.DataFrame(columns=["a"]).astype({"a": float}),
             "named_range": pd.DataFrame({"a": [1, 2]}, index=pd.RangeIndex(5, 9, 2, name="step")),
             "when": pd.Timestamp("2026-12-01"), "where": pd.Timestamp("2026-11-01 09:00", tz=chicago),
             "numpy": [np.int64(7), np.float64(0.1), np.bool_(True), np.float32(np.nan)],
             "day": dt.date(2026, 12, 1), "pair": (1, "a"), "keys": {80: 0.5, 95: float("nan")}, "none": None}
    back = codec.decode(codec.encode(value), {})
    same(value, back)
    assert str(back["where"].tz) == chicago and str(back["frame"]["z"].dt.tz) == chicago
    assert back["frame"]["z"].iloc[1] - back["frame"]["z"].iloc[0] == pd.Timedelta(hours=49)  # the clock change
    assert isinstance(back["named_range"].index, pd.RangeIndex) and back["frame"].columns.name == "field"


@pytest.mark.parametrize("value, refused", [
    ({"x": {1, 2}}, "type set"),
    (pd.DataFrame({"c": pd.Categorical(["a"])}), "column 'c' of type category"),
    (pd.DataFrame({"a": [1, 2]}, index=pd.date_range("2026-01-05", periods=2, freq="D")), "frequency"),
    (dt.datetime(2026, 1, 5, tzinfo=dt.UTC), "type datetime"),  # a zone a datetime cannot carry back by name
    (np.str_("a"), "type str_"),
    (pd.DataFrame([[1]], columns=pd.MultiIndex.from_tuples([("a", "b")])), "not all names"),
])
def test_a_value_the_codec_cannot_read_back_exactly_is_refused_when_kept(value, refused):
    with pytest.raises(codec.CodecError, match=refused):
        codec.encode(value)


def test_only_the_named_dataclasses_are_made_again():
    """A kept outlook naming another class (a store file is data) is refused, never instantiated."""
    kept = codec.encode(outlook.Outlook("V", None))
    assert codec.decode(kept, outlook.CLASSES) == outlook.Outlook("V", None)
    with pytest.raises(codec.CodecError, match="'Outlook', which is not one of"):
        codec.decode(kept, {"Forecast": outlook.forecast.Forecast})


# -- kept outlooks -----------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def made(sample_store):
    """Every sample vendor's outlook made afresh from the store."""
    return {v: outlook.make(sample_store, v) for v in queries.vendors(sample_store)}


def _fake_make(calls: list[str], fail: str | None = None):
    """An outlook maker that records whom it was asked for (an empty outlook, made at once); `fail` raises."""
    def make(store, vendor):
        calls.append(vendor)
        if vendor == fail:
            raise ValueError("a planted failure")
        return outlook.Outlook(vendor, None)
    return make


def test_a_kept_outlook_is_exactly_the_one_made_now(sample_store, made):
    """For every sample vendor: the outlook the pages read (kept after the sample's load) equals, frame by frame
    and number by number, the one made afresh from the store."""
    stamp = queries.outlook_stamp(sample_store)
    assert len(made) == 4
    for v, fresh in made.items():
        kept = queries.kept_outlook(sample_store, v, stamp, outlook.FINGERPRINT)
        assert kept is not None, v
        same(codec.decode(kept, outlook.CLASSES), fresh, v)


def test_the_headlines_kept_are_the_outlooks_headlines(sample_store, made):
    heads, unprojected = outlook.kept_headlines(sample_store)
    assert unprojected == []
    expected = pd.concat([outlook.headline_frame(o) for o in made.values()], ignore_index=True)
    got = heads.sort_values(["vendor", "part", "what"], ignore_index=True)
    expected = expected.sort_values(["vendor", "part", "what"], ignore_index=True)
    for col in ("vendor", "part", "what", "status", "words", "forecast_accuracy"):
        assert list(got[col]) == list(expected[col]), col
    assert list(pd.to_datetime(got["from_day"])) == list(pd.to_datetime(expected["from_day"]))
    # the sample's story: all three Ibérica queues projected to miss
    assert set(got[got["status"] == "miss"]["vendor"]) == {IBERICA}


def test_a_kept_outlook_is_not_read_after_a_load_or_by_other_code(copied, monkeypatch):
    v = HELIX
    calls: list[str] = []
    monkeypatch.setattr(outlook, "make", _fake_make(calls))
    assert outlook.outlook(copied, v).cut is not None  # kept: read, not made
    assert calls == []
    with monkeypatch.context() as m:
        m.setattr(outlook, "FINGERPRINT", "other code")
        assert outlook.kept_headlines(copied)[1] == queries.vendors(copied)
        assert outlook.outlook(copied, v) == outlook.Outlook(v, None)
        assert calls == [v]
    # a load moves the store on: what was kept no longer reads, until kept again
    folder = copied.path.parent
    (folder / "more.csv").write_text(csv_text([row("events", vendor=v)]))
    from opsdash.ingest.loader import load_file
    assert load_file(copied, folder / "more.csv").status == "loaded"
    assert queries.kept_outlook(copied, v, queries.outlook_stamp(copied), outlook.FINGERPRINT) is None
    heads, unprojected = outlook.kept_headlines(copied)
    assert heads.empty and unprojected == queries.vendors(copied)
    outlook.outlook(copied, v)
    assert calls == [v, v]
    kept = outlook.keep(copied)
    assert kept.vendors == queries.vendors(copied) and not kept.failed
    assert outlook.kept_headlines(copied)[1] == []
    assert outlook.outlook(copied, v) == outlook.Outlook(v, None) and calls.count(v) == 3  # read what was kept


def test_a_scoped_reader_reads_only_its_vendors_kept_outlooks(sample_store):
    helix = sample_store.scoped(Scope.of([HELIX]))
    assert set(helix.query("SELECT vendor FROM outlooks")["vendor"]) == {HELIX}
    heads, unprojected = outlook.kept_headlines(helix)
    assert set(heads["vendor"]) == {HELIX} and unprojected == []
    other = outlook.outlook(helix, IBERICA)  # not kept for this reader: made from what it may see, which is nothing
    assert other.queues == [] and other.projections == [] and other.daily == [] and other.cut is None


def test_a_damaged_kept_outlook_is_made_again(copied, monkeypatch):
    calls: list[str] = []
    monkeypatch.setattr(outlook, "make", _fake_make(calls))
    copied.fetchall("UPDATE outlooks SET outlook = ? WHERE vendor = ?", [b"not an outlook", HELIX])
    assert outlook.outlook(copied, HELIX) == outlook.Outlook(HELIX, None) and calls == [HELIX]


def test_outlooks_made_for_a_store_that_moved_on_are_not_kept(copied, monkeypatch):
    """Made over a read-only connection after a load; another load comes before they are written: nothing is
    written (that load keeps its own), and what was kept before is not read either."""
    monkeypatch.setattr(outlook, "make", _fake_make([]))
    made = outlook.make_all(copied)
    (copied.path.parent / "more.csv").write_text(csv_text([row("events", vendor=HELIX)]))
    from opsdash.ingest.loader import load_file
    assert load_file(copied, copied.path.parent / "more.csv").status == "loaded"
    kept = outlook.keep(copied, made)
    assert kept.superseded and kept.vendors == [] and "the store changed while they were made" in kept.words()
    assert outlook.kept_headlines(copied)[1] == queries.vendors(copied)


def test_one_vendors_failed_outlook_keeps_the_others(copied, monkeypatch):
    monkeypatch.setattr(outlook, "make", _fake_make([], fail=HELIX))
    kept = outlook.keep(copied)
    assert kept.failed == [(HELIX, "ValueError: a planted failure")]
    assert HELIX not in kept.vendors and IBERICA in kept.vendors
    assert "Helix Health Services' failed (ValueError: a planted failure)" in kept.words()
    assert outlook.kept_headlines(copied)[1] == [HELIX]


def test_a_store_from_before_kept_outlooks_reads_as_none_kept(sample_store, tmp_path):
    path = tmp_path / "old.duckdb"
    shutil.copy(sample_store.path, path)
    with Store(path) as s:
        s.fetchall("DROP TABLE outlooks")
        s.fetchall("DROP TABLE outlook_headlines")
    with Store(path, read_only=True) as old:
        assert queries.kept_outlook(old, HELIX, queries.outlook_stamp(old), outlook.FINGERPRINT) is None
        heads, unprojected = outlook.kept_headlines(old)
        assert heads.empty and unprojected == queries.vendors(old)


# -- the loads that keep them --------------------------------------------------------------------------------------
def test_opsdash_ingest_keeps_outlooks_unless_told_not_to(tmp_path):
    db = tmp_path / "s.duckdb"
    (tmp_path / "a.csv").write_text(csv_text([row("work_items", vendor="Acme BPO")]))
    (tmp_path / "b.csv").write_text(csv_text([row("work_items", vendor="Acme BPO", item_id="W-2")]))
    r = CliRunner().invoke(cli.main, ["ingest", "--db", str(db), "--no-outlook", str(tmp_path / "a.csv")])
    assert r.exit_code == 0, r.output
    assert "outlooks" not in r.output and "denial" not in r.output
    with Store(db, read_only=True) as s:
        assert s.fetchone("SELECT count(*) FROM outlooks")[0] == 0
    r = CliRunner().invoke(cli.main, ["ingest", "--db", str(db), str(tmp_path / "b.csv")])
    assert r.exit_code == 0, r.output
    assert "outlooks for the next 13 weeks kept for 1 vendor(s)" in r.output
    # and the denial model, here with no claims to learn from: said, and kept as words
    assert "denial risk: no model (no claim has been submitted yet)" in r.output
    with Store(db, read_only=True) as s:
        assert outlook.kept_headlines(s)[1] == []
        assert s.fetchall("SELECT vendor FROM outlooks") == [("Acme BPO",)]
    r = CliRunner().invoke(cli.main, ["outlook", "--db", str(db)])
    assert r.exit_code == 0 and "kept for 1 vendor(s)" in r.output


def test_a_load_stands_when_its_outlooks_cannot_be_kept(tmp_path, monkeypatch):
    """The disk fills while the outlooks are written: the file is loaded (exit 0, its report whole), the failure
    is said on stderr, and nothing of the outlooks is half-written."""
    from opsdash.store import StoreFull

    def full(*_a, **_k):
        raise StoreFull("no space left on the device holding the store")

    monkeypatch.setattr(queries, "keep_outlooks", full)
    monkeypatch.setattr(queries, "keep_denials", full)
    db = tmp_path / "s.duckdb"
    (tmp_path / "a.csv").write_text(csv_text([row("work_items", vendor="Acme BPO")]))
    r = CliRunner().invoke(cli.main, ["ingest", "--db", str(db), "--format", "json", str(tmp_path / "a.csv")])
    assert r.exit_code == 0, r.output
    assert json.loads(r.stdout)[0]["status"] == "loaded"
    assert "outlooks not kept (StoreFull: no space left" in r.stderr
    assert "denial model not kept (StoreFull: no space left" in r.stderr
    with Store(db, read_only=True) as s:
        assert s.fetchone("SELECT count(*) FROM work_items")[0] == 1
        assert s.fetchone("SELECT count(*) FROM outlooks")[0] == 0


# -- the Overview -------------------------------------------------------------------------------------------------
def _changed(at) -> pd.DataFrame:
    """The what-changed table as drawn (column names as the frame has them, cells in words)."""
    frames = [d.value for d in at.dataframe if "signal" in d.value.columns]
    assert frames, "no what-changed table"
    return frames[0]


def test_the_overview_lists_what_is_projected_to_miss(monkeypatch, sample_store):
    heads, _ = outlook.kept_headlines(sample_store)
    miss = heads[heads["status"] == "miss"]
    assert len(miss) == 3
    at = _app(monkeypatch, sample_store.path)
    assert not at.exception and not at.error, [e.value for e in at.error]
    shown = _changed(at)
    signal = shown["signal"]
    ahead = shown[signal == "Projected to miss"]
    assert len(ahead) == 3
    text = " ".join(ahead.astype(str).agg(" ".join, axis=1))
    for r in miss.itertuples():
        assert r.words in text and r.forecast_accuracy in text
    assert (ahead["vendor"] == IBERICA).all()
    # after the concerns, before the other signals
    order = list(signal)
    first, last = order.index("Projected to miss"), len(order) - order[::-1].index("Projected to miss") - 1
    assert all(s.startswith("Special cause: concern") for s in order[:first])
    assert not any(s.startswith("Special cause: concern") for s in order[last + 1:])


def test_projected_misses_follow_the_filters():
    heads = pd.DataFrame({"vendor": ["A", "B"], "part": ["contact", "back office"], "what": ["scheduling", "coding"],
                          "status": ["miss", "miss"], "from_day": [dt.date(2027, 1, 4), dt.date(2026, 12, 20)],
                          "words": ["short", "late"], "forecast_accuracy": ["within ±10%", ""]})
    changed = pd.DataFrame({"kpi": ["k1", "k2"], "KPI": ["K1", "K2"], "vendor": ["A", "B"],
                            "period": pd.to_datetime(["2026-11-01"] * 2), "value": [1.0, 2.0], "mean": [1.5, 1.5],
                            "unit": ["count"] * 2, "signal": ["improvement", "concern"], "what": ["up", "down"]})
    cuts = {"A": dt.date(2026, 12, 1), "B": dt.date(2026, 11, 20)}
    out = views.with_ahead(changed, heads, views.Filters(), cuts)
    assert list(out["signal"]) == ["concern", "projected_miss", "projected_miss", "improvement"]
    assert list(out["vendor"]) == ["B", "B", "A", "A"]  # the earlier miss first
    assert out["what"].iloc[1] == "Coding back-office process: late"
    assert out["what"].iloc[2] == "Scheduling queue: short (the forecast it rests on: within ±10%)"
    assert list(views.with_ahead(changed, heads, views.Filters(vendors=("A",)), cuts)["vendor"]) == ["B", "A", "A"]
    # a queue or process is projected whole: none under a facility filter
    assert views.with_ahead(changed, heads, views.Filters(facilities=("North",)), cuts).equals(changed)
    # a period ending before a vendor's data does shows none of its projections
    past = views.with_ahead(changed, heads, views.Filters(end=dt.date(2026, 11, 25)), cuts)
    assert list(past["vendor"]) == ["B", "B", "A"] and list(past["signal"]).count("projected_miss") == 1
    assert views.with_ahead(changed, heads.iloc[0:0], views.Filters(), cuts).equals(changed)


def test_the_overview_says_which_vendors_are_not_projected_since_the_latest_load(monkeypatch, copied):
    kept = copied.query("SELECT * FROM outlooks WHERE vendor <> ?", [HELIX])
    heads = copied.query("SELECT * FROM outlook_headlines WHERE vendor <> ?", [HELIX])
    copied.fetchall("DELETE FROM outlooks WHERE vendor <> ?", [HELIX])
    copied.fetchall("DELETE FROM outlook_headlines WHERE vendor <> ?", [HELIX])
    copied.close()
    at = _app(monkeypatch, copied.path)
    assert not at.exception and not at.error, [e.value for e in at.error]
    said = [c.value for c in at.caption if c.value.startswith("Not projected ahead since the latest load")]
    assert len(said) == 1
    for v in ("ClearView Diagnostics Reading", IBERICA, "Meridian Revenue Partners"):
        assert v in said[0]
    assert HELIX not in said[0]
    signal = _changed(at)["signal"]
    assert "Projected to miss" not in set(signal)  # Ibérica's are not kept: nothing said rather than made here
    # kept again with no load (as `opsdash outlook` does, tested above): the running dashboard lists them at its
    # next run, its cache keyed by what is kept
    from opsdash.ui import data

    data._pool(str(copied.path)).close()  # the app's idle connection, which it would let go of by itself
    with Store(copied.path) as s, s.transaction() as tx:
        for name, frame in (("outlooks", kept), ("outlook_headlines", heads)):
            tx.register("_back", frame)
            tx.execute(f"INSERT INTO {name} SELECT * FROM _back")
            tx.unregister("_back")
    at.run()
    assert not [c for c in at.caption if c.value.startswith("Not projected ahead")]
    assert list(_changed(at)["signal"]).count("Projected to miss") == 3
