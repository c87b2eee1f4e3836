"""Outlooks as bytes and back, to keep them in the store: JSON (compressed) of the outlook's dataclasses, frames,
dates and numbers, with each frame's column types kept, so what is read back equals what was made.

Only the dataclasses named by the reader are made again (no pickle: a store file is data and never runs code),
and a value of a kind the codec does not know is refused when written, never turned into something else.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import math
import zlib
from typing import Any

import numpy as np
import pandas as pd


class CodecError(ValueError):
    pass


def encode(obj: Any) -> bytes:
    return zlib.compress(json.dumps(_enc(obj), allow_nan=False, separators=(",", ":")).encode(), 6)


def decode(data: bytes, classes: dict[str, type]) -> Any:
    """`classes`: the dataclasses that may be made again, by name."""
    return _dec(json.loads(zlib.decompress(data)), classes)


def _float(x: float) -> Any:
    return x if math.isfinite(x) else {"$f": repr(x)}


def _enc(v: Any) -> Any:
    if v is None or isinstance(v, (bool, str)):
        return v
    if isinstance(v, np.bool_):
        return bool(v)
    if isinstance(v, (int, np.integer)):
        return int(v)
    if isinstance(v, (float, np.floating)):
        return _float(float(v))
    if v is pd.NaT:
        return {"$nat": None}
    if isinstance(v, pd.Timestamp):
        return {"$ts": v.isoformat()}
    if isinstance(v, dt.datetime):
        return {"$dt": v.isoformat()}
    if isinstance(v, dt.date):
        return {"$date": v.isoformat()}
    if isinstance(v, list):
        return [_enc(x) for x in v]
    if isinstance(v, tuple):
        return {"$t": [_enc(x) for x in v]}
    if isinstance(v, dict):
        return {"$m": [[_enc(k), _enc(x)] for k, x in v.items()]}
    if isinstance(v, pd.DataFrame):
        return {"$df": _frame(v)}
    if dataclasses.is_dataclass(v) and not isinstance(v, type):
        return {"$dc": type(v).__name__,
                "f": {f.name: _enc(getattr(v, f.name)) for f in dataclasses.fields(v) if f.init}}
    raise CodecError(f"cannot keep a value of type {type(v).__name__}")


def _column(s: pd.Series) -> dict[str, Any]:
    dtype = str(s.dtype)
    kind = s.dtype.kind
    if kind == "M":
        values = [None if pd.isna(x) else pd.Timestamp(x).isoformat() for x in s]
    elif kind == "f":
        values = [None if math.isnan(x) else _float(x) for x in s.tolist()]
    elif kind in "iub" and dtype == dtype.lower():  # numpy ints and bools (nullable ones are below)
        values = s.tolist()
    elif dtype in ("Int64", "boolean", "Float64", "string", "str"):
        values = [None if pd.isna(x) else _enc(x) for x in s.tolist()]
    elif dtype == "object":
        values = [_enc(x) for x in s.tolist()]
    else:
        raise CodecError(f"cannot keep a column {s.name!r} of type {dtype}")
    return {"name": s.name, "dtype": dtype, "values": values}


def _frame(df: pd.DataFrame) -> dict[str, Any]:
    if not all(isinstance(c, str) for c in df.columns):
        raise CodecError(f"cannot keep a frame whose columns are not all names: {list(df.columns)!r}")
    plain = isinstance(df.index, pd.RangeIndex) and df.index.start == 0 and df.index.step == 1
    return {"columns": [_column(df[c]) for c in df.columns],
            "index": None if plain else _column(pd.Series(df.index, name=df.index.name)), "rows": len(df)}


def _series(col: dict[str, Any], classes: dict[str, type], index: pd.Index | None = None) -> pd.Series:
    dtype, values = col["dtype"], col["values"]
    if dtype.startswith("datetime64"):
        s = pd.Series(pd.to_datetime(values, format="ISO8601"), index=index).astype(dtype)
    elif dtype == "object":
        s = pd.Series([_dec(x, classes) for x in values], index=index, dtype=object)
    else:
        values = [_dec(x, classes) for x in values]
        s = pd.Series([np.nan if x is None else x for x in values] if dtype.startswith("float") else values,
                      index=index, dtype=dtype)
    return s.rename(col["name"])


def _unframe(d: dict[str, Any], classes: dict[str, type]) -> pd.DataFrame:
    index = pd.Index(_series(d["index"], classes)) if d["index"] is not None else pd.RangeIndex(d["rows"])
    cols = {c["name"]: _series(c, classes, index) for c in d["columns"]}
    return pd.DataFrame(cols, index=index) if cols else pd.DataFrame(index=index)


def _dec(v: Any, classes: dict[str, type]) -> Any:
    if isinstance(v, list):
        return [_dec(x, classes) for x in v]
    if not isinstance(v, dict):
        return v
    if "$dc" in v:
        if v["$dc"] not in classes:
            raise CodecError(f"a kept outlook names {v['$dc']!r}, which is not one of {sorted(classes)}")
        return classes[v["$dc"]](**{k: _dec(x, classes) for k, x in v["f"].items()})
    if len(v) != 1:
        raise CodecError(f"an unknown kind of value in a kept outlook: {str(v)[:80]}")
    ((tag, body),) = v.items()
    if tag == "$f":
        return float(body)
    if tag == "$nat":
        return pd.NaT
    if tag == "$ts":
        return pd.Timestamp(body)
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
