"""Plan a load: which table a file holds, where each contract column's value comes from (a header, a
mapping's constant or template), which columns are patient identifiers never read, which are ignored, and the
mapping's skip and order rules. Nothing is read but the file's header; a file that cannot be planned is refused
with a message that says what to change."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from opsdash import contract, phi
from opsdash.ingest import readers
from opsdash.ingest.errors import FileRefused
from opsdash.ingest.mapping import Mapping
from opsdash.store import Store, StoreError


@dataclass(frozen=True)
class Binding:
    """Where a contract column's raw value comes from."""

    kind: str  # source | const | template | none
    index: int | None = None  # source column index
    value: str | None = None  # constant or template text
    fields: tuple[tuple[str, int], ...] = ()  # template field -> source index

    def sql(self, bind: Callable[[Any], str]) -> str:
        """SQL for the raw text value; constant text is bound with `bind` (validate.Params)."""
        if self.kind == "source":
            return f"c{self.index}"
        if self.kind == "const":
            return bind(self.value or "")
        if self.kind == "template":
            parts: list[str] = []
            text = self.value or ""
            for name, idx in self.fields:
                before, _, text = text.partition("{" + name + "}")
                if before:
                    parts.append(bind(before))
                parts.append(f"coalesce(trim(c{idx}), '')")
            if text:
                parts.append(bind(text))
            return "nullif(concat(" + ", ".join(parts) + "), '')"
        return "NULL::VARCHAR"


@dataclass
class Source:
    """A file's header as read before anything else: its column names, the CSV delimiter, a worksheet's rows
    (read on demand) and, for Parquet, the column names as DuckDB reads them."""

    headers: list[str]
    delimiter: str = ","
    xlsx_rows: Any = None
    close: Callable[[], None] = lambda: None
    sql_names: list[str] = field(default_factory=list)


def read_source(store: Store, info: readers.FileInfo, mapping: Mapping | None, work: Path,
                lim: readers.Limits) -> Source:
    """Read the header of a CSV (and settle its delimiter), a Parquet file's schema or a worksheet's first row."""
    if info.format == "csv":
        headers, delim = readers.read_csv_header(info, mapping.delimiter if mapping else None)
        info.delimiter = readers.DELIMITER_NAMES.get(delim, delim)
        return Source(headers, delim)
    if info.format == "parquet":
        headers = readers.parquet_columns(info)
        info.read_path = readers.literal_path(info.path, work)
        try:
            sql_names = [r[0] for r in store.fetchall("DESCRIBE SELECT * FROM read_parquet(?)", [str(info.read_path)])]
        except StoreError as exc:
            raise FileRefused(f"{info.name}: not a readable Parquet file ({exc}); expected a complete Parquet "
                              "file") from exc
        if len(sql_names) != len(headers):
            raise FileRefused(f"{info.name}: not a readable Parquet file (its schema lists {len(headers)} columns, "
                              f"its data {len(sql_names)}); expected a complete Parquet file")
        return Source(headers, sql_names=sql_names)
    headers, rows, close = readers.open_xlsx(info, mapping.sheet if mapping else None, lim)
    return Source(headers, "\t", rows, close)


@dataclass
class Plan:
    """How a file's columns map onto one contract table."""

    table: contract.Table
    bindings: dict[str, Binding]
    phi_indexes: set[int]
    phi_columns: list[str]
    ignored: list[str]
    skip_indexes: dict[int, tuple[str, ...]]
    order_index: int | None


def closest_hint(closest: contract.Closest, headers: list[str]) -> str:
    """The refusal for a file that looks like one table but lacks required columns: which, and which header is
    likely each (so a mapping file is a line away)."""
    one = len(closest.missing) == 1
    guesses = " ".join(f"is `{readers.printable(h)}` {'it' if one else c}?" for c, h in closest.likely.items())
    fix = ("use a mapping file that reads " + ", ".join(f"`{readers.printable(h)}` as {c}" for c, h in closest.likely.items())
           + (", or rename the headers" if len(closest.likely) > 1 else ", or rename the header") if closest.likely else "add it, or map a column to it with a mapping file")
    listed = ", ".join(readers.printable(h) for h in headers[:16]) + (", ..." if len(headers) > 16 else "")
    return (f"looks like {closest.table}; missing required column(s) {', '.join(closest.missing)}"
            f"{' — ' + guesses if guesses else ''} ({fix}). Its headers: {listed} (any case; spaces, dashes and "
            "underscores alike)")


def plan_columns(name: str, headers: list[str], table_name: str | None, mapping: Mapping | None) -> Plan:
    """Resolve table, bindings, PHI and ignored columns from headers; refuse with a clear message."""
    norm = [contract.normalise_header(h) for h in headers]
    phi_indexes = {i for i, h in enumerate(headers) if h.strip() and contract.is_phi_header(h)}
    usable = {i for i in range(len(headers)) if i not in phi_indexes and norm[i]}

    if mapping and table_name and mapping.table != table_name:
        raise FileRefused(f"{name}: --table {table_name} disagrees with mapping {mapping.name} (table {mapping.table})")
    table_name = (mapping.table if mapping else None) or table_name
    if table_name is None:
        table_name, _missing = contract.table_for_headers([headers[i] for i in usable])
        closest = contract.closest_table([headers[i] for i in usable]) if table_name is None else None
        if closest is not None:
            raise FileRefused(f"{name}: {closest_hint(closest, headers)}")
        if table_name is None:
            hint = ""
            if len(headers) == 1 and any(d in headers[0] for d in ":~^#"):
                hint = " Only one column was found: the delimiter must be a comma, semicolon, pipe or tab."
            expected = "; ".join(f"{t}: {', '.join(contract.TABLES[t].required)}" for t in contract.TABLES)
            raise FileRefused(
                f"{name}: cannot tell which table this file holds: its headers "
                f"({', '.join(readers.printable(h) for h in headers[:12])}"
                f"{', ...' if len(headers) > 12 else ''}) lack the required columns of every table.{hint} "
                f"Expected the required columns of one table ({expected}), or use --table / a mapping file."
            )
    if table_name not in contract.TABLES:
        raise FileRefused(f"{name}: unknown table {table_name!r}; expected one of {', '.join(contract.TABLES)}")
    table = contract.TABLES[table_name]

    def find(source: str, purpose: str) -> int:
        want = contract.normalise_header(source)
        hits = [i for i, h in enumerate(norm) if h == want]
        if not hits:
            raise FileRefused(f"{name}: mapping {mapping.name if mapping else ''} reads column {source!r} for {purpose}, "
                              f"but the file has no such column; its headers are {', '.join(headers)}")
        if len(hits) > 1:
            raise FileRefused(f"{name}: column {source!r} appears {len(hits)} times (columns "
                              f"{', '.join(str(i + 1) for i in hits)}); expected it once")
        if hits[0] in phi_indexes:
            raise FileRefused(f"{name}: {purpose} would be read from {headers[hits[0]]!r}, which names a patient "
                              "identifier; such columns are never stored")
        return hits[0]

    bindings: dict[str, Binding] = {}
    used: set[int] = set()
    for col in table.columns:
        spec = mapping.columns.get(col.name) if mapping else None
        if spec is None:
            hits = [i for i in usable if norm[i] == col.name]
            if len(hits) > 1:
                raise FileRefused(f"{name}: column {col.name!r} appears {len(hits)} times (columns "
                                  f"{', '.join(str(i + 1) for i in hits)}); expected it once")
            if hits:
                bindings[col.name] = Binding("source", index=hits[0])
                used.add(hits[0])
        elif spec.const is not None:
            bindings[col.name] = Binding("const", value=spec.const)
        elif spec.template is not None:
            fields = tuple((f, find(f, col.name)) for f in spec.template_fields)
            bindings[col.name] = Binding("template", value=spec.template, fields=fields)
            used.update(i for _, i in fields)
        else:
            idx = find(spec.source or "", col.name)
            bindings[col.name] = Binding("source", index=idx)
            used.add(idx)

    missing = [c for c in table.required if c not in bindings]
    if missing:
        raise FileRefused(
            f"{name}: missing required column(s) {', '.join(missing)} for table {table.name}; found headers "
            f"{', '.join(readers.printable(h) for h in headers)}. Accepted header names: {', '.join(missing)} (any case; spaces, dashes and "
            "underscores alike), or map them with a mapping file"
        )

    skip_indexes: dict[int, tuple[str, ...]] = {}
    for rule in mapping.skip if mapping else ():
        idx = find(rule.column, "a skip rule")
        skip_indexes[idx] = skip_indexes.get(idx, ()) + rule.values
        used.add(idx)
    order_index = None
    if mapping and mapping.order_by:
        order_index = find(mapping.order_by, "order_by")
        used.add(order_index)

    ignored = [headers[i] for i in sorted(usable - used)]
    # A dropped column's header is reported (what was dropped), masked where it is itself an identifier value.
    return Plan(table, bindings, phi_indexes, [phi.mask(headers[i]) for i in sorted(phi_indexes)], ignored,
                skip_indexes, order_index)
