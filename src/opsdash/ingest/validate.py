"""Compile the contract's column types and row rules into one DuckDB SELECT.

The SELECT reads raw text columns ``c0..cN`` and returns, per row, the typed
contract columns, ``_reason`` (every broken rule, or NULL), ``_column`` (the first
column at fault), ``_skip`` (a mapping skip rule matched), ``_order`` (re-delivery
order) and ``_raw`` (the source values as JSON, only for rejected or skipped rows).
All identifiers and literals come from the contract, the mapping file or the file's
headers, and are quoted.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from opsdash import contract
from opsdash.contract import ColType
from opsdash.ingest.mapping import Mapping
from opsdash.store import quote_ident as qi
from opsdash.store import quote_literal as ql

SSN_MASK = "***-**-****"
_TIME = r"^[0-9]{4}-[0-9]{2}-[0-9]{2}[T ][0-9]{1,2}:[0-9]{2}(:[0-9]{2}(\.[0-9]+)?)?"
#: A UTC offset of a real zone (-12:00 to +14:00), Z, UTC or GMT after the time.
_TZ_SUFFIX = (_TIME + r"\s*(Z|z|UTC|GMT|-((0[0-9]|1[01])(:?[0-5][0-9])?|12(:?00)?)"
              r"|\+((0[0-9]|1[0-3])(:?[0-5][0-9])?|14(:?00)?))$")
#: An IANA zone name after the time (America/New_York, Europe/Paris, Etc/GMT+5): unambiguous, so converted.
_TZ_NAME = _TIME + r"\s+[A-Za-z_]+(/[A-Za-z0-9_+-]+)+$"
#: What a timestamp that was not understood ends with, for the message that says why.
_TZ_ABBREVIATION = r"\s[A-Za-z]{2,5}$"
_ANY_OFFSET = r"[+-][0-9]{1,2}(:?[0-9]{2})?$"
_SPACED_OFFSET = r"\s+([+-][0-9]{1,2}(:?[0-9]{2})?)$"
_HHMM, _HH_COLON_MM = r"([+-][0-9]{2})([0-9]{2})$", r"\1:\2"
_CLOCK_12H = r"(?i)[0-9]\s*[ap]m$"


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


#: Removed from every value; keys and vendors also lose the ASCII controls (tabs and line breaks become spaces,
#: then trimmed), so a pasted name cannot split one vendor into two.
_WIDE_REMOVED = contract.INVISIBLE_CHARACTERS + "".join(ch for ch in contract.CONTROL_CHARACTERS if ord(ch) >= 0x80)
_ASCII_CONTROLS = "".join(ch for ch in contract.CONTROL_CHARACTERS if ord(ch) < 0x80)
_HAS_ASCII_CONTROL = "[\\x00-\\x1f\\x7f]"


def _visible(src: str, identifier: bool) -> str:
    """``src`` without invisible characters, no-break spaces as spaces, in NFC; for an identifier, no controls.

    translate() is slow (2 s for 3M values), so each step runs only on values that need it: the Unicode work
    where bytes and characters differ (a non-ASCII value), the controls where a cheap pattern finds one.
    """
    wide = f"translate({src}, {ql(contract.NO_BREAK_SPACES)}, {ql(' ' * len(contract.NO_BREAK_SPACES))})"
    wide = f"nfc_normalize(translate({wide}, {ql(_WIDE_REMOVED)}, ''))"
    out = f"CASE WHEN strlen({src}) <> length({src}) THEN {wide} ELSE {src} END"
    if not identifier:
        return out
    spaced = f"translate(translate({out}, {ql(chr(9) + chr(10) + chr(13))}, '   '), {ql(_ASCII_CONTROLS)}, '')"
    return f"CASE WHEN regexp_matches({src}, {ql(_HAS_ASCII_CONTROL)}) THEN {spaced} ELSE {out} END"


def _clean(col: contract.Column, binding: Binding, mapping: Mapping | None, identifier: bool = False) -> str:
    src = _visible(binding.sql(), identifier) if binding.kind != "none" else binding.sql()
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
    """SQL for the typed value, and SQL for the expectation said when parsing fails."""
    r = _r(col.name)
    fmt = mapping.format_for(col) if mapping else None
    expect = contract.TYPE_EXPECTATIONS[col.type]
    said = ql(expect)
    if col.type == ColType.TEXT:
        # Codes checked against a list (initial_outcome, level) are stored lower-case.
        lower = any(isinstance(rule, contract.OneOf) and rule.column == col.name for rule in table.rules)
        return (f"lower({r})" if lower else r), said
    if col.type == ColType.DATE:
        if fmt:
            return f"CAST(try_strptime({r}, {ql(fmt)}) AS DATE)", ql(f"a date like {fmt}")
        return f"try_cast({r} AS DATE)", said
    if col.type == ColType.TIMESTAMP:
        if fmt:
            parsed = f"try_strptime({r}, {ql(fmt)})"
            if "%z" in fmt or "%Z" in fmt:
                parsed = f"timezone({ql(tz)}, {parsed})"
            return parsed, ql(f"a timestamp like {fmt}")
        # DuckDB's TIMESTAMP cast drops any zone silently (10:00 PST is stored as 10:00): only values that end in
        # a digit with no sign after the date take it; a zone is converted when it is unambiguous, else refused.
        plain = (f"(right({r}, 1) BETWEEN '0' AND '9' AND NOT contains(substr({r}, 11), '+') "
                 f"AND NOT contains(substr({r}, 11), '-'))")
        # " +0530" -> "+05:30", the form DuckDB's TIMESTAMPTZ cast reads
        colon = f"regexp_replace(regexp_replace({r}, {ql(_SPACED_OFFSET)}, '\\1'), {ql(_HHMM)}, {ql(_HH_COLON_MM)})"
        typed = (f"CASE WHEN {plain} THEN try_cast({r} AS TIMESTAMP) "
                 f"WHEN regexp_matches({r}, {ql(_TZ_SUFFIX)}) THEN timezone({ql(tz)}, try_cast({colon} AS TIMESTAMPTZ)) "
                 f"WHEN regexp_matches({r}, {ql(_TZ_NAME)}) THEN timezone({ql(tz)}, try_cast({r} AS TIMESTAMPTZ)) END")
        why_offset = ql("a UTC offset from -12:00 to +14:00")
        why_name = ql("a UTC offset (-08:00) or a zone name (America/Los_Angeles): a zone abbreviation is "
                      "ambiguous (CST is US Central and China)")
        said = (f"CASE WHEN regexp_matches({r}, {ql(_TIME + _ANY_OFFSET)}) "
                f"AND NOT regexp_matches({r}, {ql(_TZ_SUFFIX)}) THEN {why_offset} "
                f"WHEN regexp_matches({r}, {ql(_TIME + _TZ_ABBREVIATION)}) "
                f"AND NOT regexp_matches({r}, {ql(_CLOCK_12H)}) THEN {why_name} "
                f"ELSE {said} END")
        return typed, said
    if col.type == ColType.BOOL:
        t = ", ".join(ql(x) for x in contract.TRUE_TOKENS)
        f = ", ".join(ql(x) for x in contract.FALSE_TOKENS)
        return f"CASE WHEN lower({r}) IN ({t}) THEN true WHEN lower({r}) IN ({f}) THEN false END", said
    if col.type == ColType.INT:
        d = f"try_cast({r} AS DOUBLE)"  # a cast straight to BIGINT would round 3.5 to 4
        return f"CASE WHEN {d} = trunc({d}) AND abs({d}) < 1e15 THEN CAST({d} AS BIGINT) END", said
    if col.type == ColType.NUMBER:
        src = f"replace({r}, ',', '.')" if mapping and mapping.decimal_separator == "," else r
        return f"CASE WHEN isfinite(try_cast({src} AS DOUBLE)) THEN try_cast({src} AS DOUBLE) END", said
    raise AssertionError(col.type)


def _in_range(col: contract.Column, date_range: tuple[dt.date, dt.date]) -> tuple[str, str] | None:
    """(failing condition, words) of the contract's date range for a date or timestamp column."""
    first, last = date_range
    t = _t(col.name)
    if col.type == ColType.DATE:
        cond = f"({t} < DATE {ql(first.isoformat())} OR {t} > DATE {ql(last.isoformat())})"
    elif col.type == ColType.TIMESTAMP:
        cond = (f"({t} < TIMESTAMP {ql(first.isoformat())} OR "
                f"{t} >= TIMESTAMP {ql((last + dt.timedelta(days=1)).isoformat())})")
    else:
        return None
    kind = "date" if col.type == ColType.DATE else "timestamp"
    return cond, f"a {kind} from {first.isoformat()} to {last.isoformat()} (the contract's date range)"


def _checks(table: contract.Table, expectations: dict[str, str],
            date_range: tuple[dt.date, dt.date] = contract.DATE_RANGE) -> list[tuple[str, str, str]]:
    """(column, failing condition, message SQL) for every check, in the order they are reported."""
    out: list[tuple[str, str, str]] = []
    for col in table.columns:
        r, t, name = _r(col.name), _t(col.name), col.name
        if col.required:
            out.append((name, f"{r} IS NULL", ql(f"{name}: required value is missing")))
        out.append((name, f"{r} IS NOT NULL AND {t} IS NULL",
                    f"{ql(name + ': found ')} || '\"' || {_found(r)} || '\", expected ' || {expectations[name]}"))
        span = _in_range(col, date_range)
        if span:
            out.append((name, span[0], f"{ql(name + ': found ')} || '\"' || {_found(r)} || '\", expected ' || "
                                       f"{ql(span[1])}"))
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
                 extra_columns: tuple[str, ...] = (),
                 date_range: tuple[dt.date, dt.date] = contract.DATE_RANGE) -> str:
    """The full staging SELECT over ``source_sql`` (which yields c0..cN and ``extra_columns``)."""
    cols = table.columns
    ids = {*table.key, "vendor"}
    l1 = [f"{_clean(c, bindings.get(c.name, Binding('none')), mapping, c.name in ids)} AS {_r(c.name)}" for c in cols]
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

    checks = _checks(table, expectations, date_range)
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
