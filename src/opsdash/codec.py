"""Results as bytes and back, to keep them in the store (outlooks, denial models): JSON (compressed) of their
dataclasses, frames, dates and numbers, with each frame's column types kept, so what is read back equals what
was made.

Only the dataclasses named by the reader are made again (no pickle: a store file is data and never runs code),
and a value of a kind the codec does not know is refused when written, never turned into something else.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import json
import math
import zlib
from importlib import resources
from importlib.metadata import PackageNotFoundError, version
from typing import Any

import numpy as np
import pandas as pd


class CodecError(ValueError):
    pass


def code_fingerprint(packages: tuple[str, ...], libraries: tuple[str, ...]) -> str:
    """A digest of opsdash's top-level modules and those of `packages` (sub-packages), and of the versions of
    `libraries`: part of a kept result's key, so changed code is never served a result old code made."""
    h = hashlib.sha256()
    root = resources.files("opsdash")
    files = [f for f in (*root.iterdir(), *(g for p in packages for g in root.joinpath(p).iterdir()))
             if f.name.endswith(".py")]
    for f in sorted(files, key=lambda f: str(f)):
        h.update(f.name.encode())
        h.update(f.read_bytes())
    for lib in libraries:
        try:
            h.update(f"{lib} {version(lib)}".encode())
        except PackageNotFoundError:
            h.update(f"{lib} -".encode())
    return h.hexdigest()[:16]


def encode(obj: Any) -> bytes:
    return zlib.compress(json.dumps(_enc(obj), allow_nan=False, separators=(",", ":")).encode(), 6)


def decode(data: bytes, classes: dict[str, type]) -> Any:
    """`classes`: the dataclasses that may be made again, by name."""
    return _dec(json.loads(zlib.decompress(data)), classes)


def _float(x: float) -> Any:
    return x if math.isfinite(x) else {"$f": repr(x)}


def _enc(v: Any) -> Any:
    if v is None or type(v) in (bool, str):
        return v
    if isinstance(v, np.generic) and v.dtype.kind in "biuf":  # a numpy scalar stays one, of its own type
        return {"$np": v.dtype.str, "v": _enc(v.item())}
    if type(v) is int:
        return v
    if type(v) is float:
        return _float(v)
    if v is pd.NaT:
        return {"$nat": None}
    if isinstance(v, pd.Timestamp):
        return {"$ts": v.isoformat(), "tz": None if v.tz is None else str(v.tz)}
    if isinstance(v, dt.datetime) and type(v) is dt.datetime and v.tzinfo is None:
        return {"$dt": v.isoformat()}
    if type(v) is dt.date:
        return {"$date": v.isoformat()}
    if type(v) is list:
        return [_enc(x) for x in v]
    if type(v) is tuple:
        return {"$t": [_enc(x) for x in v]}
    if type(v) is dict:
        return {"$m": [[_enc(k), _enc(x)] for k, x in v.items()]}
    if type(v) is pd.DataFrame:
        return {"$df": _frame(v)}
    if dataclasses.is_dataclass(v) and not isinstance(v, type):
        return {"$dc": type(v).__name__,
                "f": {f.name: _enc(getattr(v, f.name)) for f in dataclasses.fields(v) if f.init}}
    raise CodecError(f"cannot keep a value of type {type(v).__name__}: {str(v)[:60]}")


#: Extension column types kept by value, an empty cell as null.
NULLABLE = ("Int64", "boolean", "Float64", "string", "str")


def _column(s: pd.Series) -> dict[str, Any]:
    dtype, tz = str(s.dtype), None
    numpy = isinstance(s.dtype, np.dtype)
    if isinstance(s.dtype, pd.DatetimeTZDtype):  # as UTC instants and the zone's name (a DST change keeps)
        tz = str(s.dtype.tz)
        values = [None if pd.isna(x) else x.tz_convert("UTC").isoformat() for x in s]
    elif numpy and s.dtype.kind == "M":
        values = [None if pd.isna(x) else pd.Timestamp(x).isoformat() for x in s]
    elif numpy and s.dtype.kind == "f":
        values = [None if math.isnan(x) else _float(x) for x in s.tolist()]
    elif numpy and s.dtype.kind in "iub":
        values = s.tolist()
    elif dtype in NULLABLE:
        values = [None if x is None or x is pd.NA or isinstance(x, float) and math.isnan(x) else _enc(x)
                  for x in s.tolist()]
    elif dtype == "object":
        values = [_enc(x) for x in s.tolist()]
    else:
        raise CodecError(f"cannot keep a column {s.name!r} of type {dtype}")
    return {"name": s.name, "dtype": dtype, "tz": tz, "values": values}


def _frame(df: pd.DataFrame) -> dict[str, Any]:
    if not all(isinstance(c, str) for c in df.columns) or df.columns.nlevels != 1:
        raise CodecError(f"cannot keep a frame whose columns are not all names: {list(df.columns)!r}")
    ix = df.index
    if getattr(ix, "freq", None) is not None:
        raise CodecError(f"cannot keep a frame whose index has a frequency ({ix.freq})")
    if ix.nlevels != 1:
        raise CodecError("cannot keep a frame with a multi-level index")
    index: dict[str, Any] = ({"range": [ix.start, ix.stop, ix.step], "name": _enc(ix.name)}
                             if isinstance(ix, pd.RangeIndex) else {"column": _column(pd.Series(ix, name=ix.name))})
    return {"columns": [_column(df[c]) for c in df.columns], "index": index, "columns_name": _enc(df.columns.name)}


def _series(col: dict[str, Any], classes: dict[str, type], index: pd.Index | None = None) -> pd.Series:
    dtype, values = col["dtype"], col["values"]
    if col.get("tz"):
        s = pd.Series(pd.to_datetime(values, utc=True, format="ISO8601"), index=index).dt.tz_convert(col["tz"])
        s = s.astype(dtype)
    elif dtype.startswith("datetime64"):
        s = pd.Series(pd.to_datetime(values, format="ISO8601"), index=index).astype(dtype)
    elif dtype == "object":
        s = pd.Series([_dec(x, classes) for x in values], index=index, dtype=object)
    else:
        values = [_dec(x, classes) for x in values]
        s = pd.Series([np.nan if x is None else x for x in values] if dtype.startswith("float") else values,
                      index=index, dtype=dtype)
    return s.rename(col["name"])


def _unframe(d: dict[str, Any], classes: dict[str, type]) -> pd.DataFrame:
    ix = d["index"]
    index = (pd.RangeIndex(*ix["range"], name=_dec(ix["name"], classes)) if "range" in ix
             else pd.Index(_series(ix["column"], classes)))
    cols = {c["name"]: _series(c, classes, index) for c in d["columns"]}
    out = pd.DataFrame(cols, index=index) if cols else pd.DataFrame(index=index)
    out.columns.name = _dec(d["columns_name"], classes)
    return out


def _dec(v: Any, classes: dict[str, type]) -> Any:
    if isinstance(v, list):
        return [_dec(x, classes) for x in v]
    if not isinstance(v, dict):
        return v
    if "$dc" in v:
        if v["$dc"] not in classes:
            raise CodecError(f"a kept outlook names {v['$dc']!r}, which is not one of {sorted(classes)}")
        return classes[v["$dc"]](**{k: _dec(x, classes) for k, x in v["f"].items()})
    if "$np" in v:
        return np.dtype(v["$np"]).type(_dec(v["v"], classes))
    if "$ts" in v:
        ts = pd.Timestamp(v["$ts"])
        return ts.tz_convert(v["tz"]) if v.get("tz") else ts
    if len(v) != 1:
        raise CodecError(f"an unknown kind of value in a kept outlook: {str(v)[:80]}")
    ((tag, body),) = v.items()
    if tag == "$f":
        return float(body)
    if tag == "$nat":
        return pd.NaT
    if tag == "$dt":
        return dt.datetime.fromisoformat(body)
    if tag == "$date":
        return dt.date.fromisoformat(body)
    if tag == "$t":
        return tuple(_dec(x, classes) for x in body)
    if tag == "$m":
        return {_dec(k, classes): _dec(x, classes) for k, x in body}
    if tag == "$df":
        return _unframe(body, classes)
    raise CodecError(f"an unknown kind of value in a kept outlook: {str(v)[:80]}")
