"""Mapping files: how one vendor's export maps onto a contract table (TOML).

Every key a mapping may use is declared in ``MAPPING_KEYS``; ``docs/mapping-files.md``
is checked against it by a test.
"""

from __future__ import annotations

import hashlib
import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from opsdash import contract
from opsdash.ingest.errors import FileRefused

#: Top-level keys of a mapping file and what each does (feeds docs and error messages).
MAPPING_KEYS: dict[str, str] = {
    "table": "the contract table the file holds (required)",
    "sheet": "for .xlsx files: the worksheet to read (default: the first worksheet)",
    "delimiter": "for CSV: force the delimiter instead of detecting it",
    "encoding": "for CSV: force `utf-8` or `latin-1` instead of detecting it",
    "null_tokens": "extra cell values that mean empty, e.g. `[\"?\", \"N/A\"]`",
    "decimal_separator": "`.` (default) or `,` for numbers written as 12,5",
    "order_by": "source column whose value orders re-delivered rows of one key (latest wins)",
    "order_format": "strptime format of `order_by` when it is not ISO 8601",
    "columns": "table: contract column = source column name, or {source, format, default}, {const} or {template}",
    "formats": "table: default strptime format per type, `date` and `timestamp`",
    "values": "table of tables: per contract column, source value = stored value (case-insensitive)",
    "skip": "array of tables {column, equals} or {column, in}: source rows to skip, reported as skipped",
}

#: Keys of a `[columns]` entry written as a table.
COLUMN_SPEC_KEYS = {"source": "source column name", "format": "strptime format for this column",
                    "const": "the same value on every row", "template": "\"{a}/{b}\": source columns joined into one value",
                    "default": "the value to store when the source cell is empty (e.g. `\"uncategorised\"`)"}


@dataclass(frozen=True)
class ColumnSpec:
    source: str | None = None
    const: str | None = None
    template: str | None = None
    format: str | None = None
    default: str | None = None

    @property
    def template_fields(self) -> list[str]:
        return re.findall(r"\{([^{}]+)\}", self.template or "")


@dataclass(frozen=True)
class SkipRule:
    column: str
    values: tuple[str, ...]

    def describe(self) -> str:
        return f"{self.column} in ({', '.join(self.values)})" if len(self.values) > 1 else f"{self.column} = {self.values[0]}"


@dataclass(frozen=True)
class Mapping:
    name: str
    sha256: str
    table: str
    columns: dict[str, ColumnSpec] = field(default_factory=dict)
    formats: dict[str, str] = field(default_factory=dict)
    values: dict[str, dict[str, str]] = field(default_factory=dict)
    null_tokens: tuple[str, ...] = ()
    skip: tuple[SkipRule, ...] = ()
    order_by: str | None = None
    order_format: str | None = None
    decimal_separator: str = "."
    sheet: str | None = None
    delimiter: str | None = None
    encoding: str | None = None

    def format_for(self, column: contract.Column) -> str | None:
        spec = self.columns.get(column.name)
        if spec and spec.format:
            return spec.format
        return self.formats.get(column.type.value)


def _err(path: Path, what: str) -> FileRefused:
    return FileRefused(f"mapping file {path.name}: {what}")


def _str(path: Path, key: str, value: Any) -> str:
    if not isinstance(value, str):
        raise _err(path, f"`{key}` must be a string, found {value!r}")
    return value


def load_mapping(path: str | Path) -> Mapping:
    """Read and check a mapping file; every problem is a FileRefused naming the file and key."""
    path = Path(path)
    try:
        raw_bytes = path.read_bytes()
    except OSError as exc:
        raise FileRefused(f"mapping file {path}: cannot be read ({exc.strerror})") from exc
    try:
        data = tomllib.loads(raw_bytes.decode("utf-8"))
    except UnicodeDecodeError as exc:
        raise _err(path, "is not UTF-8 text; save it as UTF-8") from exc
    except tomllib.TOMLDecodeError as exc:
        raise _err(path, f"is not valid TOML ({exc})") from exc

    unknown = sorted(set(data) - set(MAPPING_KEYS))
    if unknown:
        raise _err(path, f"unknown key(s) {', '.join(unknown)}; expected some of {', '.join(MAPPING_KEYS)}")
    if "table" not in data:
        raise _err(path, "`table` is missing; expected one of " + ", ".join(contract.TABLES))
    table_name = _str(path, "table", data["table"])
    if table_name not in contract.TABLES:
        raise _err(path, f"unknown table {table_name!r}; expected one of {', '.join(contract.TABLES)}")
    table = contract.TABLES[table_name]

    columns: dict[str, ColumnSpec] = {}
    for col, spec in (data.get("columns") or {}).items():
        if col not in table.column_names:
            raise _err(path, f"[columns] names {col!r}, which is not a column of {table_name}; "
                             f"expected some of {', '.join(table.column_names)}")
        if isinstance(spec, str):
            columns[col] = ColumnSpec(source=spec)
        elif isinstance(spec, dict):
            bad = sorted(set(spec) - set(COLUMN_SPEC_KEYS))
            if bad:
                raise _err(path, f"[columns] {col}: unknown key(s) {', '.join(bad)}; expected {', '.join(COLUMN_SPEC_KEYS)}")
            kinds = [k for k in ("source", "const", "template") if k in spec]
            if len(kinds) != 1:
                raise _err(path, f"[columns] {col}: give exactly one of source, const or template")
            columns[col] = ColumnSpec(**{k: _str(path, f"columns.{col}.{k}", v) for k, v in spec.items()})
            if columns[col].template is not None and not columns[col].template_fields:
                raise _err(path, f"[columns] {col}: template {spec['template']!r} names no {{column}}")
        else:
            raise _err(path, f"[columns] {col}: expected a source column name or a table, found {spec!r}")

    formats = {k: _str(path, f"formats.{k}", v) for k, v in (data.get("formats") or {}).items()}
    bad_formats = sorted(set(formats) - {"date", "timestamp"})
    if bad_formats:
        raise _err(path, f"[formats] unknown type(s) {', '.join(bad_formats)}; expected date, timestamp")

    values: dict[str, dict[str, str]] = {}
    for col, table_map in (data.get("values") or {}).items():
        if col not in table.column_names:
            raise _err(path, f"[values.{col}]: {col!r} is not a column of {table_name}")
        if not isinstance(table_map, dict):
            raise _err(path, f"[values.{col}] must be a table of source value = stored value")
        values[col] = {str(k): _str(path, f"values.{col}.{k}", v) for k, v in table_map.items()}

    skip: list[SkipRule] = []
    for i, rule in enumerate(data.get("skip") or [], start=1):
        if not isinstance(rule, dict) or "column" not in rule or ("equals" in rule) == ("in" in rule):
            raise _err(path, f"[[skip]] #{i}: expected {{column = ..., equals = ...}} or {{column = ..., in = [...]}}")
        vals = rule["in"] if "in" in rule else [rule["equals"]]
        skip.append(SkipRule(_str(path, "skip.column", rule["column"]), tuple(str(v) for v in vals)))

    null_tokens = data.get("null_tokens") or []
    if not isinstance(null_tokens, list):
        raise _err(path, "`null_tokens` must be a list of strings")
    decimal = data.get("decimal_separator", ".")
    if decimal not in (".", ","):
        raise _err(path, f"`decimal_separator` must be \".\" or \",\", found {decimal!r}")
    encoding = data.get("encoding")
    if encoding is not None and encoding not in ("utf-8", "latin-1"):
        raise _err(path, f"`encoding` must be \"utf-8\" or \"latin-1\", found {encoding!r}")
    delimiter = data.get("delimiter")
    if delimiter is not None and delimiter not in (",", ";", "|", "\t"):
        raise _err(path, f"`delimiter` must be one of , ; | or a tab, found {delimiter!r}")

    return Mapping(
        name=path.name,
        sha256=hashlib.sha256(raw_bytes).hexdigest(),
        table=table_name,
        columns=columns,
        formats=formats,
        values=values,
        null_tokens=tuple(str(t) for t in null_tokens),
        skip=tuple(skip),
        order_by=data.get("order_by"),
        order_format=data.get("order_format"),
        decimal_separator=decimal,
        sheet=data.get("sheet"),
        delimiter=delimiter,
        encoding=encoding,
    )
