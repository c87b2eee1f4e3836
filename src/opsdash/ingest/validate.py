"""Compile the contract's column types and row rules into one DuckDB SELECT.

The SELECT reads raw text columns ``c0..cN`` and returns, per row, the typed
contract columns, ``_reason`` (every broken rule, or NULL), ``_column`` (the first
column at fault), ``_skip`` (a mapping skip rule matched), ``_order`` (re-delivery
order) and ``_raw`` (the source values as JSON, only for rejected or skipped rows).
All identifiers and literals come from the contract, the mapping file or the file's
headers, and are quoted.
"""

from __future__ import annotations

from dataclasses import dataclass

from opsdash import contract
from opsdash.contract import ColType
from opsdash.ingest.mapping import Mapping
from opsdash.store import quote_ident as qi
from opsdash.store import quote_literal as ql

SSN_MASK = "***-**-****"
_TZ_SUFFIX = r"[T ][0-9]{1,2}:[0-9]{2}(:[0-9]{2}(\.[0-9]+)?)?\s*(Z|z|[+-][0-9]{2}(:?[0-9]{2})?)$"


@dataclass(frozen=True)
class Binding:
    """Where a contract column's raw value comes from."""

    kind: str  # source | const | template | none
    index: int | None = None  # source column index
    value: str | None = None  # constant or template text
    fields: tuple[tuple[str, int], ...] = ()  # template field -> source index

    def sql(self) -> str:
        if self.kind == "source":
            return f"c{self.index}"
        if self.kind == "const":
            return ql(self.value or "")
        if self.kind == "template":
            parts: list[str] = []
            text = self.value or ""
            for name, idx in self.fields:
                before, _, text = text.partition("{" + name + "}")
                if before:
                    parts.append(ql(before))
                parts.append(f"coalesce(trim(c{idx}), '')")
            if text:
                parts.append(ql(text))
            return "nullif(concat(" + ", ".join(parts) + "), '')"
        return "NULL::VARCHAR"


def _found(expr: str) -> str:
    """A value as it may appear in a message: shortened, SSN-like text masked."""
    return (f"regexp_replace(left(CAST({expr} AS VARCHAR), 80), {ql(contract.SSN_PATTERN)}, "
            f"{ql(SSN_MASK)}, 'g')")


def _r(col: str) -> str:
    return qi("r_" + col)


def _t(col: str) -> str:
    return qi("t_" + col)


def _clean(col: contract.Column, binding: Binding, mapping: Mapping | None) -> str:
    src = binding.sql()
    # trim() copies every string: only call it where there is something to trim (5x faster on clean files).
    expr = (f"CASE WHEN {src} = '' THEN NULL WHEN {src} LIKE ' %' OR {src} LIKE '% ' "
            f"THEN nullif(trim({src}), '') ELSE {src} END")
    if mapping and mapping.null_tokens:
        tokens = ", ".join(ql(t) for t in mapping.null_tokens)
        expr = f"CASE WHEN {expr} IN ({tokens}) THEN NULL ELSE {expr} END"
    if mapping and col.name in mapping.values:
        whens = " ".join(f"WHEN {ql(k.lower())} THEN {ql(v)}" for k, v in mapping.values[col.name].items())
        expr = f"CASE lower({expr}) {whens} ELSE {expr} END"
    spec = mapping.columns.get(col.name) if mapping else None
    default = spec.default if spec and spec.default is not None else col.default
    if default is not None:
        expr = f"coalesce({expr}, {ql(default)})"
    return expr


def _typed(table: contract.Table, col: contract.Column, mapping: Mapping | None, tz: str) -> tuple[str, str]:
    """SQL for the typed value and the expectation said when parsing fails."""
    r = _r(col.name)
    fmt = mapping.format_for(col) if mapping else None
    expect = contract.TYPE_EXPECTATIONS[col.type]
    if col.type == ColType.TEXT:
        # Codes checked against a list (initial_outcome, level) are stored lower-case.
        lower = any(isinstance(rule, contract.OneOf) and rule.column == col.name for rule in table.rules)
        return (f"lower({r})" if lower else r), expect
    if col.type == ColType.DATE:
        if fmt:
            return f"CAST(try_strptime({r}, {ql(fmt)}) AS DATE)", f"a date like {fmt}"
        return f"try_cast({r} AS DATE)", expect
    if col.type == ColType.TIMESTAMP:
        if fmt:
            parsed = f"try_strptime({r}, {ql(fmt)})"
            if "%z" in fmt or "%Z" in fmt:
                parsed = f"timezone({ql(tz)}, {parsed})"
            return parsed, f"a timestamp like {fmt}"
        # A plain cast would drop a UTC offset silently: values that may carry one take the TIMESTAMPTZ path.
        maybe_offset = f"(ends_with({r}, 'Z') OR ends_with({r}, 'z') OR contains(substr({r}, 11), '+') OR contains(substr({r}, 11), '-'))"
        return (f"CASE WHEN {maybe_offset} AND regexp_matches({r}, {ql(_TZ_SUFFIX)}) "
                f"THEN timezone({ql(tz)}, try_cast({r} AS TIMESTAMPTZ)) "
                f"WHEN NOT {maybe_offset} THEN try_cast({r} AS TIMESTAMP) END"), expect
    if col.type == ColType.BOOL:
        t = ", ".join(ql(x) for x in contract.TRUE_TOKENS)
        f = ", ".join(ql(x) for x in contract.FALSE_TOKENS)
        return f"CASE WHEN lower({r}) IN ({t}) THEN true WHEN lower({r}) IN ({f}) THEN false END", expect
    if col.type == ColType.INT:
        d = f"try_cast({r} AS DOUBLE)"  # a cast straight to BIGINT would round 3.5 to 4
        return f"CASE WHEN {d} = trunc({d}) AND abs({d}) < 1e15 THEN CAST({d} AS BIGINT) END", expect
    if col.type == ColType.NUMBER:
        src = f"replace({r}, ',', '.')" if mapping and mapping.decimal_separator == "," else r
        return f"CASE WHEN isfinite(try_cast({src} AS DOUBLE)) THEN try_cast({src} AS DOUBLE) END", expect
    raise AssertionError(col.type)


def _checks(table: contract.Table, expectations: dict[str, str]) -> list[tuple[str, str, str]]:
    """(column, failing condition, message SQL) for every check, in the order they are reported."""
    out: list[tuple[str, str, str]] = []
    for col in table.columns:
        r, t, name = _r(col.name), _t(col.name), col.name
        if col.required:
            out.append((name, f"{r} IS NULL", ql(f"{name}: required value is missing")))
        out.append((name, f"{r} IS NOT NULL AND {t} IS NULL",
                    f"{ql(name + ': found ')} || '\"' || {_found(r)} || '\", expected ' || {ql(expectations[name])}"))
        if col.type == ColType.TEXT:
            out.append((name, f"length({r}) > {contract.MAX_TEXT_LENGTH}",
                        f"{ql(name + ': found a value of ')} || length({r}) || "
                        f"{ql(f' characters, expected at most {contract.MAX_TEXT_LENGTH}')}"))
            out.append((name, f"contains({r}, '-') AND regexp_matches({r}, {ql(contract.SSN_PATTERN)})",
                        ql(f"{name}: found a value that looks like a US Social Security number ({SSN_MASK}); "
                           "patient identifiers are never stored, expected no SSN")))
    for rule in table.rules:
        if isinstance(rule, contract.Compare):
            a, b = _t(rule.column), _t(rule.other)
            bad = {">=": "<", "<=": ">"}[rule.op]
            out.append((rule.column, f"{a} {bad} {b}",
                        f"{ql(rule.column + ': found ')} || {_found(a)} || "
                        f"{ql(', expected ' + contract.COMPARE_WORDS[rule.op] + ' ' + rule.other + ' (')} || {_found(b)} || ')'"))
        elif isinstance(rule, contract.Bound):
            a = _t(rule.column)
            out.append((rule.column, f"NOT ({a} {rule.op} {rule.value!r})",
                        f"{ql(rule.column + ': found ')} || {_found(a)} || {ql(f', expected {rule.op} {rule.value:g}')}"))
        elif isinstance(rule, contract.Needs):
            out.append((rule.column, f"{_r(rule.column)} IS NOT NULL AND {_r(rule.other)} IS NULL",
                        ql(f"{rule.column}: has a value but {rule.other} is empty; expected {rule.other} "
                           f"whenever {rule.column} is given")))
        elif isinstance(rule, contract.NotBoth):
            out.append((rule.column, f"{_r(rule.column)} IS NOT NULL AND {_r(rule.other)} IS NOT NULL",
                        ql(f"{rule.column}: both {rule.column} and {rule.other} have values; expected at most one")))
        elif isinstance(rule, contract.OneOf):
            vals = ", ".join(ql(v) for v in rule.values)
            tail = ql('", expected one of ' + ", ".join(rule.values))
            out.append((rule.column, f"{_t(rule.column)} NOT IN ({vals})",
                        f"{ql(rule.column + ': found ')} || '\"' || {_found(_r(rule.column))} || {tail}"))
    return out


def stage_select(table: contract.Table, bindings: dict[str, Binding], headers: list[str],
                 phi_indexes: set[int], mapping: Mapping | None, tz: str, source_sql: str,
                 skip_indexes: dict[int, tuple[str, ...]], order_index: int | None,
                 extra_columns: tuple[str, ...] = ()) -> str:
    """The full staging SELECT over ``source_sql`` (which yields c0..cN and ``extra_columns``)."""
    cols = table.columns
    l1 = [f"{_clean(c, bindings.get(c.name, Binding('none')), mapping)} AS {_r(c.name)}" for c in cols]
    skip_terms = [f"CASE WHEN trim(c{i}) IN ({', '.join(ql(v) for v in vals)}) THEN "
                  f"{ql('skipped by a skip rule of the mapping: ' + headers[i] + ' in (' + ', '.join(vals) + ')')} END"
                  for i, vals in skip_indexes.items()]
    l1.append(f"coalesce({', '.join(skip_terms)}, NULL::VARCHAR) AS _skip" if skip_terms else "NULL::VARCHAR AS _skip")
    if order_index is not None:
        o = f"nullif(trim(c{order_index}), '')"
        fmt = mapping.order_format if mapping else None
        l1.append(f"try_strptime({o}, {ql(fmt)}) AS _order" if fmt else f"try_cast({o} AS TIMESTAMP) AS _order")
    else:
        l1.append("NULL::TIMESTAMP AS _order")

    typed: list[str] = []
    expectations: dict[str, str] = {}
    for c in cols:
        expr, expectations[c.name] = _typed(table, c, mapping, tz)
        typed.append(f"{expr} AS {_t(c.name)}")

    checks = _checks(table, expectations)
    reason = "nullif(concat_ws('; ', " + ", ".join(f"CASE WHEN {cond} THEN {msg} END" for _, cond, msg in checks) + "), '')"
    column = "coalesce(" + ", ".join(f"CASE WHEN {cond} THEN {ql(col)} END" for col, cond, _ in checks) + ")"

    raw_pairs = ", ".join(f"{ql(h)}, {_masked(f'c{i}')}" for i, h in enumerate(headers) if i not in phi_indexes)
    raw = f"json_object({raw_pairs})" if raw_pairs else "'{}'"
    final = [f"{_t(c.name)} AS {qi(c.name)}" for c in cols]
    final += ["_reason", "_column", "_skip", "_order",
              f"CASE WHEN _reason IS NOT NULL OR _skip IS NOT NULL THEN CAST({raw} AS VARCHAR) END AS _raw"]
    final += list(extra_columns)
    return (
        f"SELECT {', '.join(final)} FROM ("
        f"SELECT *, CASE WHEN _reason IS NOT NULL THEN {column} END AS _column FROM ("
        f"SELECT *, {reason} AS _reason FROM ("
        f"SELECT *, {', '.join(typed)} FROM ("
        f"SELECT *, {', '.join(l1)} FROM ({source_sql}) AS src) AS l1) AS l2) AS l3) AS l4"
    )


def _masked(expr: str) -> str:
    return f"regexp_replace({expr}, {ql(contract.SSN_PATTERN)}, {ql(SSN_MASK)}, 'g')"
