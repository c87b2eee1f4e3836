"""Compile the contract's column types and row rules into one DuckDB SELECT.

The SELECT reads raw text columns ``c0..cN`` and returns, per row, the typed
contract columns, ``_reason`` (every broken rule, or NULL), ``_column`` (the first
column at fault), ``_skip`` (a mapping skip rule matched), ``_order`` (re-delivery
order) and ``_raw`` (the source values as JSON, only for rejected or skipped rows).
Identifiers come from the contract and are quoted; every value (the mapping file's
constants, codes, formats and null tokens, the file's headers, the contract's messages
and patterns) is a bound parameter, collected by ``params.Params``. Only the identifier-screening
macros (``phi_macros``: DDL, which takes no parameters) write literals, with
``store.quote_literal``.
"""

from __future__ import annotations

import datetime as dt

from opsdash import annotations, catalog, contract, labels, phi
from opsdash.contract import ColType
from opsdash.ingest import readers
from opsdash.ingest.errors import FileRefused
from opsdash.ingest.mapping import Mapping
from opsdash.ingest.params import Params
from opsdash.ingest.plan import Binding, Plan
from opsdash.ingest.report import LoadReport, reject_warning
from opsdash.ingest.stage import Staged
from opsdash.store import Tx
from opsdash.store import quote_ident as qi
from opsdash.store import quote_literal as ql

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


#: Around a value quoted in a message while the row is staged: the whole reason is masked once when the
#: staging is done, and each quoted value is then cut to MESSAGE_VALUE_CHARS (masking first, so no cut
#: leaves a piece of an identifier the shapes no longer see).
_OPEN, _CLOSE = "\x01", "\x02"
MESSAGE_VALUE_CHARS = 80


def _found(expr: str) -> str:
    """A value as it appears in a message, between _OPEN and _CLOSE (which it may not hold itself): the
    staging SELECT masks the whole reason, then _phi_cut shortens each such value."""
    return (f"(chr({ord(_OPEN)}) || replace(replace(CAST({expr} AS VARCHAR), chr({ord(_OPEN)}), ''), "
            f"chr({ord(_CLOSE)}), '') || chr({ord(_CLOSE)}))")


def _fold_sql(v: str) -> str:
    """SQL: phi.fold(v), for a v that matched phi.FOLDABLE."""
    (fs, ft), (ds, dt) = phi.FOLD_MAP, phi.DIGIT_MAP
    return (f"list_transform([translate({v}, {ql(fs)}, {ql(ft)})], lambda w: CASE WHEN regexp_matches(w, "
            f"{ql(phi.OTHER_DIGIT)}) THEN translate(w, {ql(ds)}, {ql(dt)}) ELSE w END)[1]")


def _chain_sql(f: str, ids: bool) -> str:
    """SQL: folded text f with every shape replaced by its mask (digit shapes twice: two matches may share
    a neighbour, which RE2 consumes)."""
    for shape in phi.SHAPES:
        p = phi.pattern(shape.kind, "re2", ids)
        if p:
            rep = ql(("\\1" + shape.mask + "\\2") if shape.digits else shape.mask)
            for _ in range(2 if shape.digits else 1):
                f = f"regexp_replace({f}, {ql(p)}, {rep}, 'g')"
    return f


def phi_macros() -> list[str]:
    """Statements defining the SQL macros that screen and mask patient identifiers (opsdash.phi's shapes).

    The loader runs them in the load's transaction before the staging SELECT. Every value pays one regular
    expression (phi.prefilter); only a value it matches is folded and looked at closely. The staging SELECT
    calls _phi_kinds once per text column (a list and a lambda per row cost more than compiling the patterns
    for each column, even for a small file), and the masks once, through lambdas over lists of values, only
    for rejected rows."""
    out = [f"CREATE OR REPLACE TEMP MACRO _phi_fold(v) AS CASE WHEN regexp_matches(v, {ql(phi.FOLDABLE)}) "
           f"THEN {_fold_sql('v')} ELSE v END"]
    for ids, sfx in ((False, ""), (True, "_id")):
        bits = " + ".join(f"CASE WHEN regexp_matches(f, {ql(phi.pattern(sh.kind, 're2', ids))}) THEN {1 << i} ELSE 0 END"
                          for i, sh in enumerate(phi.SHAPES) if phi.pattern(sh.kind, "re2", ids))
        pre = ql(phi.prefilter("re2", ids))
        out.append(f"CREATE OR REPLACE TEMP MACRO _phi_kinds{sfx}(v) AS CASE WHEN v IS NULL OR NOT "
                   f"regexp_matches(v, {pre}) THEN 0 ELSE list_transform([_phi_fold(v)], lambda f: {bits})[1] END")
        out.append(f"CREATE OR REPLACE TEMP MACRO _phi_mask{sfx}(v) AS CASE WHEN v IS NULL OR NOT "
                   f"regexp_matches(v, {pre}) THEN v ELSE list_transform([_phi_fold(v)], lambda f: list_transform("
                   f"[{_chain_sql('f', ids)}], lambda m: CASE WHEN m = f THEN v ELSE m END)[1])[1] END")
    cap = phi.MAX_RAW_CHARS
    before, after = phi.CUT_NOTE.split("{}")
    out.append(f"CREATE OR REPLACE TEMP MACRO _phi_cap(v) AS CASE WHEN length(v) > {cap} THEN left(v, {cap}) || "
               f"{ql(before)} || format('{{:,}}', length(v)) || {ql(after)} ELSE v END")
    out.append(f"CREATE OR REPLACE TEMP MACRO _phi_cut(v) AS regexp_replace(v, "
               f"{ql(_OPEN + '([^' + _CLOSE + ']{0,' + str(MESSAGE_VALUE_CHARS) + '})[^' + _CLOSE + ']*' + _CLOSE)}, "
               f"'\\1', 'g')")
    return out


def _text_lists(table: contract.Table) -> dict[str, list[str]]:
    """The table's text columns in two lists screened alike: work identifiers, and the others."""
    ids = contract.work_id_columns(table)
    text = [c.name for c in table.columns if c.type == ColType.TEXT]
    return {"_pk": [c for c in text if c not in ids], "_pkid": [c for c in text if c in ids]}


def _pk(table: contract.Table, col: str) -> str:
    """SQL: the identifier kinds (bits of _phi_kinds) found in a text column's value, computed once per value
    in the staging SELECT (a column per text column: a list and a lambda per row cost a fifth of the staging)."""
    if col not in [c for cols in _text_lists(table).values() for c in cols]:
        raise KeyError(col)
    return qi("k_" + col)


def phi_bit(kind: str) -> int:
    """The bit of a shape in _phi_kinds' result."""
    return 1 << [s.kind for s in phi.SHAPES].index(kind)


def _r(col: str) -> str:
    return qi("r_" + col)


def _t(col: str) -> str:
    return qi("t_" + col)


#: Removed from every value; keys and vendors also lose the ASCII controls (tabs and line breaks become spaces,
#: then trimmed), so a pasted name cannot split one vendor into two.
_WIDE_REMOVED = contract.INVISIBLE_CHARACTERS + "".join(ch for ch in contract.CONTROL_CHARACTERS if ord(ch) >= 0x80)
_ASCII_CONTROLS = "".join(ch for ch in contract.CONTROL_CHARACTERS if ord(ch) < 0x80)
_HAS_ASCII_CONTROL = "[\\x00-\\x1f\\x7f]"


def _visible(src: str, identifier: bool, p: Params) -> str:
    """``src`` without invisible characters, no-break spaces as spaces, in NFC; for an identifier, no controls.

    translate() is slow (2 s for 3M values), so each step runs only on values that need it: the Unicode work
    where bytes and characters differ (a non-ASCII value), the controls where a cheap pattern finds one.
    """
    wide = f"translate({src}, {p(contract.NO_BREAK_SPACES)}, {p(' ' * len(contract.NO_BREAK_SPACES))})"
    wide = f"nfc_normalize(translate({wide}, {p(_WIDE_REMOVED)}, ''))"
    out = f"CASE WHEN strlen({src}) <> length({src}) THEN {wide} ELSE {src} END"
    if not identifier:
        return out
    spaced = f"translate(translate({out}, {p(chr(9) + chr(10) + chr(13))}, '   '), {p(_ASCII_CONTROLS)}, '')"
    return f"CASE WHEN regexp_matches({src}, {p(_HAS_ASCII_CONTROL)}) THEN {spaced} ELSE {out} END"


def _clean(col: contract.Column, binding: Binding, mapping: Mapping | None, p: Params,
           identifier: bool = False) -> str:
    src = _visible(binding.sql(p), identifier, p) if binding.kind != "none" else binding.sql(p)
    # trim() copies every string: only call it where there is something to trim (5x faster on clean files).
    expr = (f"CASE WHEN {src} = '' THEN NULL WHEN {src} LIKE ' %' OR {src} LIKE '% ' "
            f"THEN nullif(trim({src}), '') ELSE {src} END")
    if mapping and mapping.null_tokens:
        expr = f"CASE WHEN list_contains({p(list(mapping.null_tokens))}, {expr}) THEN NULL ELSE {expr} END"
    if mapping and col.name in mapping.values:
        whens = " ".join(f"WHEN {p(k.lower())} THEN {p(v)}" for k, v in mapping.values[col.name].items())
        expr = f"CASE lower({expr}) {whens} ELSE {expr} END"
    spec = mapping.columns.get(col.name) if mapping else None
    default = spec.default if spec and spec.default is not None else col.default
    if default is not None:
        expr = f"coalesce({expr}, {p(default)})"
    return expr


def _typed(table: contract.Table, col: contract.Column, mapping: Mapping | None, tz: str, p: Params) -> tuple[str, str]:
    """SQL for the typed value, and SQL for the expectation said when parsing fails."""
    r = _r(col.name)
    fmt = mapping.format_for(col) if mapping else None
    expect = contract.TYPE_EXPECTATIONS[col.type]
    if col.type == ColType.DATE and fmt:
        return f"CAST(try_strptime({r}, {p(fmt)}) AS DATE)", p(f"a date like {fmt}")
    if col.type == ColType.TIMESTAMP and fmt:
        parsed = f"try_strptime({r}, {p(fmt)})"
        if "%z" in fmt or "%Z" in fmt:
            parsed = f"timezone({p(tz)}, {parsed})"
        return parsed, p(f"a timestamp like {fmt}")
    said = p(expect)  # bound only where it is said: DuckDB refuses a value the statement does not use
    if col.type == ColType.TEXT:
        # Codes checked against a list (initial_outcome, level) are stored lower-case.
        lower = any(isinstance(rule, contract.OneOf | contract.KpiId) and rule.column == col.name
                    for rule in table.rules)
        return (f"lower({r})" if lower else r), said
    if col.type == ColType.DATE:
        return f"try_cast({r} AS DATE)", said
    if col.type == ColType.TIMESTAMP:
        # DuckDB's TIMESTAMP cast drops any zone silently (10:00 PST is stored as 10:00): only values that end in
        # a digit with no sign after the date take it; a zone is converted when it is unambiguous, else refused.
        plain = (f"(right({r}, 1) BETWEEN '0' AND '9' AND NOT contains(substr({r}, 11), '+') "
                 f"AND NOT contains(substr({r}, 11), '-'))")
        # " +0530" -> "+05:30", the form DuckDB's TIMESTAMPTZ cast reads
        colon = f"regexp_replace(regexp_replace({r}, {p(_SPACED_OFFSET)}, '\\1'), {p(_HHMM)}, {p(_HH_COLON_MM)})"
        typed = (f"CASE WHEN {plain} THEN try_cast({r} AS TIMESTAMP) "
                 f"WHEN regexp_matches({r}, {p(_TZ_SUFFIX)}) THEN timezone({p(tz)}, try_cast({colon} AS TIMESTAMPTZ)) "
                 f"WHEN regexp_matches({r}, {p(_TZ_NAME)}) THEN timezone({p(tz)}, try_cast({r} AS TIMESTAMPTZ)) END")
        why_offset = p("a UTC offset from -12:00 to +14:00")
        why_name = p("a UTC offset (-08:00) or a zone name (America/Los_Angeles): a zone abbreviation is "
                      "ambiguous (CST is US Central and China)")
        said = (f"CASE WHEN regexp_matches({r}, {p(_TIME + _ANY_OFFSET)}) "
                f"AND NOT regexp_matches({r}, {p(_TZ_SUFFIX)}) THEN {why_offset} "
                f"WHEN regexp_matches({r}, {p(_TIME + _TZ_ABBREVIATION)}) "
                f"AND NOT regexp_matches({r}, {p(_CLOCK_12H)}) THEN {why_name} "
                f"ELSE {said} END")
        return typed, said
    if col.type == ColType.BOOL:
        t, f = p(list(contract.TRUE_TOKENS)), p(list(contract.FALSE_TOKENS))
        return f"CASE WHEN list_contains({t}, lower({r})) THEN true WHEN list_contains({f}, lower({r})) THEN false END", said
    if col.type == ColType.INT:
        d = f"try_cast({r} AS DOUBLE)"  # a cast straight to BIGINT would round 3.5 to 4
        return f"CASE WHEN {d} = trunc({d}) AND abs({d}) < 1e15 THEN CAST({d} AS BIGINT) END", said
    if col.type == ColType.NUMBER:
        src = f"replace({r}, ',', '.')" if mapping and mapping.decimal_separator == "," else r
        return f"CASE WHEN isfinite(try_cast({src} AS DOUBLE)) THEN try_cast({src} AS DOUBLE) END", said
    raise AssertionError(col.type)


def _in_range(col: contract.Column, date_range: tuple[dt.date, dt.date], p: Params) -> tuple[str, str] | None:
    """(failing condition, words) of the contract's date range for a date or timestamp column."""
    first, last = date_range
    t = _t(col.name)
    if col.type == ColType.DATE:
        cond = f"({t} < CAST({p(first.isoformat())} AS DATE) OR {t} > CAST({p(last.isoformat())} AS DATE))"
    elif col.type == ColType.TIMESTAMP:
        cond = (f"({t} < CAST({p(first.isoformat())} AS TIMESTAMP) OR "
                f"{t} >= CAST({p((last + dt.timedelta(days=1)).isoformat())} AS TIMESTAMP))")
    else:
        return None
    kind = "date" if col.type == ColType.DATE else "timestamp"
    return cond, f"a {kind} from {first.isoformat()} to {last.isoformat()} (the contract's date range)"


def _checks(table: contract.Table, expectations: dict[str, str], p: Params,
            date_range: tuple[dt.date, dt.date] = contract.DATE_RANGE) -> list[tuple[str, str, str]]:
    """(column, failing condition, message SQL) for every check, in the order they are reported."""
    out: list[tuple[str, str, str]] = []
    for col in table.columns:
        r, t, name = _r(col.name), _t(col.name), col.name
        if col.required:
            out.append((name, f"{r} IS NULL", p(f"{name}: required value is missing")))
        out.append((name, f"{r} IS NOT NULL AND {t} IS NULL",
                    f"{p(name + ': found ')} || '\"' || {_found(r)} || '\", expected ' || {expectations[name]}"))
        span = _in_range(col, date_range, p)
        if span:
            out.append((name, span[0], f"{p(name + ': found ')} || '\"' || {_found(r)} || '\", expected ' || "
                                       f"{p(span[1])}"))
        if col.type == ColType.TEXT:
            out.append((name, f"length({r}) > {contract.MAX_TEXT_LENGTH}",
                        f"{p(name + ': found a value of ')} || length({r}) || "
                        f"{p(f' characters, expected at most {contract.MAX_TEXT_LENGTH}')}"))
            # Patient identifiers in any kept text: rejected, and said by kind (the mask, never the value).
            # The kinds found (bits of _phi_kinds) are computed once per value, in the staging SELECT.
            ids = name in contract.work_id_columns(table)
            says = ", ".join(
                f"CASE WHEN ({_pk(table, name)} & {phi_bit(sh.kind)}) <> 0 THEN "
                + p(f"{name}: found a value that looks like {sh.label} ({sh.mask}); patient identifiers are "
                     f"never stored, expected no {sh.noun}") + " END"
                for sh in phi.SHAPES if phi.pattern(sh.kind, "re2", ids))
            out.append((name, f"{_pk(table, name)} <> 0", f"concat_ws('; ', {says})"))
    for rule in table.rules:
        if isinstance(rule, contract.Compare):
            a, b = _t(rule.column), _t(rule.other)
            bad = {">=": "<", "<=": ">"}[rule.op]
            out.append((rule.column, f"{a} {bad} {b}",
                        f"{p(rule.column + ': found ')} || {_found(a)} || "
                        f"{p(', expected ' + rule.said + ' ' + rule.other + ' (')} || {_found(b)} || ')'"))
        elif isinstance(rule, contract.Bound):
            a = _t(rule.column)
            out.append((rule.column, f"NOT ({a} {rule.op} {p(float(rule.value))})",
                        f"{p(rule.column + ': found ')} || {_found(a)} || {p(f', expected {rule.op} {rule.value:g}')}"))
        elif isinstance(rule, contract.Needs):
            out.append((rule.column, f"{_r(rule.column)} IS NOT NULL AND {_r(rule.other)} IS NULL",
                        p(f"{rule.column}: has a value but {rule.other} is empty; expected {rule.other} "
                           f"whenever {rule.column} is given")))
        elif isinstance(rule, contract.NotBoth):
            out.append((rule.column, f"{_r(rule.column)} IS NOT NULL AND {_r(rule.other)} IS NOT NULL",
                        p(f"{rule.column}: both {rule.column} and {rule.other} have values; expected at most one")))
        elif isinstance(rule, contract.OneOf | contract.KpiId):
            values = rule.values if isinstance(rule, contract.OneOf) else tuple(catalog.KPIS)
            tail = p('", expected one of ' + ", ".join(values))
            out.append((rule.column, f"NOT list_contains({p(list(values))}, {_t(rule.column)})",
                        f"{p(rule.column + ': found ')} || '\"' || {_found(_r(rule.column))} || {tail}"))
    return out


def stage_select(p: Params, table: contract.Table, bindings: dict[str, Binding], headers: list[str],
                 phi_indexes: set[int], mapping: Mapping | None, tz: str, source_sql: str,
                 skip_indexes: dict[int, tuple[str, ...]], order_index: int | None,
                 extra_columns: tuple[str, ...] = (),
                 date_range: tuple[dt.date, dt.date] = contract.DATE_RANGE) -> str:
    """The full staging SELECT over ``source_sql`` (which yields c0..cN and ``extra_columns``)."""
    cols = table.columns
    ids = {*table.key, "vendor"}
    l1 = [f"{_clean(c, bindings.get(c.name, Binding('none')), mapping, p, c.name in ids)} AS {_r(c.name)}" for c in cols]
    # A list of values is bound as one list (an IN list of parameters would be planned as a join).
    skip_terms = [f"CASE WHEN list_contains({p(list(vals))}, trim(c{i})) THEN "
                  f"{p('skipped by a skip rule of the mapping: ' + headers[i] + ' in (' + ', '.join(vals) + ')')} END"
                  for i, vals in skip_indexes.items()]
    l1.append(f"coalesce({', '.join(skip_terms)}, NULL::VARCHAR) AS _skip" if skip_terms else "NULL::VARCHAR AS _skip")
    if order_index is not None:
        o = f"nullif(trim(c{order_index}), '')"
        fmt = mapping.order_format if mapping else None
        l1.append(f"try_strptime({o}, {p(fmt)}) AS _order" if fmt else f"try_cast({o} AS TIMESTAMP) AS _order")
    else:
        l1.append("NULL::TIMESTAMP AS _order")

    typed: list[str] = []
    expectations: dict[str, str] = {}
    for c in cols:
        expr, expectations[c.name] = _typed(table, c, mapping, tz, p)
        typed.append(f"{expr} AS {_t(c.name)}")

    # Which identifier shapes each text value holds (0: none), for _checks.
    for name, tcols in _text_lists(table).items():
        typed += [f"_phi_kinds{'_id' if name == '_pkid' else ''}({_r(c)}) AS {_pk(table, c)}" for c in tcols]
    checks = _checks(table, expectations, p, date_range)
    reason = "nullif(concat_ws('; ', " + ", ".join(f"CASE WHEN {cond} THEN {msg} END" for _, cond, msg in checks) + "), '')"
    column = "coalesce(" + ", ".join(f"CASE WHEN {cond} THEN {p(col)} END" for col, cond, _ in checks) + ")"

    # Raw values of a rejected or skipped row: the columns the load reads (never a PHI column, nor an ignored
    # one: minimum necessary), each masked and then cut at phi.MAX_RAW_CHARS; work identifiers are masked
    # for what they are screened for. The reason is masked with them (then each value quoted in it is cut).
    read = {i for b in bindings.values() for i in ([b.index] if b.kind == "source" else [f for _, f in b.fields])}
    read |= set(skip_indexes) | ({order_index} if order_index is not None else set())
    ids = {b.index for name, b in bindings.items() if b.kind == "source" and name in contract.work_id_columns(table)}
    kept = [i for i in range(len(headers)) if i in read and i not in phi_indexes]
    lists = {"_m": ["_reason", *(f"c{i}" for i in kept if i not in ids)], "_mid": [f"c{i}" for i in kept if i in ids]}
    at = {v: f"{name}[{k + 1}]" for name, vals in lists.items() for k, v in enumerate(vals)}
    pairs = [f"{p(headers[i])}, _phi_cap({at['c' + str(i)]})" for i in kept]
    raw = f"json_object({', '.join(pairs)})" if kept else "'{}'"
    rejected = "_reason IS NOT NULL OR _skip IS NOT NULL"
    l5 = [f"CASE WHEN {rejected} THEN list_transform([{', '.join(vals)}], "
          f"lambda x: _phi_mask{'_id' if name == '_mid' else ''}(x)) END AS {name}"
          for name, vals in lists.items() if vals]
    final = [f"{_t(c.name)} AS {qi(c.name)}" for c in cols]
    final += ["CASE WHEN _reason IS NOT NULL THEN _phi_cut(_m[1]) END AS _reason", "_column", "_skip", "_order",
              f"CASE WHEN {rejected} THEN CAST({raw} AS VARCHAR) END AS _raw"]
    final += list(extra_columns)
    return (
        f"SELECT {', '.join(final)} FROM ("
        f"SELECT *{''.join(', ' + x for x in l5)} FROM ("
        f"SELECT *, CASE WHEN _reason IS NOT NULL THEN {column} END AS _column FROM ("
        f"SELECT *, {reason} AS _reason FROM ("
        f"SELECT *, {', '.join(typed)} FROM ("
        f"SELECT *, {', '.join(l1)} FROM ({source_sql}) AS src) AS l1) AS l2) AS l3) AS l4) AS l5"
    )


# The validate stage, once the file is staged: count what was read, refuse a file with too many rejected rows,
# read process names as the codes they name.

#: The checkpoint (see checkpoints.py) before the staged rows are counted and checked.
CHECKPOINT = "validating"
VALID = "_reason IS NULL AND _skip IS NULL"


def validate(tx: Tx, name: str, plan: Plan, staged: Staged, report: LoadReport, warnings: list[str],
             max_reject_rate: float | None = None) -> None:
    """Count the staged rows into `report`; refuse the file when more than `max_reject_rate` of them would be
    rejected; warn when many are; read each valid row's process as the code it names."""
    counts = tx.fetchone("SELECT count(*), count(*) FILTER (_skip IS NOT NULL), "
                         "count(*) FILTER (_reason IS NOT NULL AND _skip IS NULL) FROM _stage")
    assert counts is not None
    staged_rows, skipped, invalid = counts
    report.rows_read = staged_rows + len(staged.malformed)
    report.rows_skipped = skipped
    report.rows_rejected = invalid + len(staged.malformed)
    report.rows_loaded = staged_rows - skipped - invalid
    if report.rows_read == 0:
        warnings.append("the file has a header but no data rows")
    if max_reject_rate is not None and report.rows_read and report.rows_rejected / report.rows_read > max_reject_rate:
        _refuse_rejects(tx, name, staged, report, max_reject_rate)
    if warning := reject_warning(report.rows_read, report.rows_rejected):
        warnings.append(warning)
    for codes in plan.table.codes:  # values read as the codes they name before keys are matched
        _read_process_codes(tx, codes, name, staged, warnings)


def _refuse_rejects(tx: Tx, name: str, staged: Staged, report: LoadReport, limit: float) -> None:
    """Refuse a file with too many rejected rows, saying why the first ones (by line) were: rejected, skipped
    or malformed. Nothing of a refused file is kept."""
    first = tx.fetchall(f"SELECT {staged.line_sql} AS _l, coalesce(_skip, _reason) FROM _stage s {staged.line_join} "
                        "WHERE _skip IS NOT NULL OR _reason IS NOT NULL ORDER BY _l LIMIT 3")
    first = sorted([*first, *((line, reason) for line, _c, reason, _r in staged.malformed[:3])])[:3]
    read, rejected = report.rows_read, report.rows_rejected
    report.rows_read = report.rows_loaded = report.rows_rejected = report.rows_skipped = 0  # nothing was loaded
    raise FileRefused(f"{name}: refused whole: {rejected:,} of {read:,} rows ({rejected / read:.1%}) would be "
                      f"rejected, more than --max-reject-rate {limit:.1%} allows; nothing was stored. First "
                      f"reasons: {'; '.join(f'line {line}: {reason}' for line, reason in first)}")




#: Lines of a file a warning names (the others are counted), and codes it lists as expected.
WARN_LINES, WARN_CODES = 5, 30


def _lines_words(lines: list[int], total: int) -> str:
    """"line 3", "lines 3 and 7", "lines 3, 7, 9, 11, 12 and 40 more"."""
    shown = [str(n) for n in lines[:WARN_LINES]]
    if total == 1:
        return f"line {shown[0]}"
    if total > len(shown):
        return f"lines {', '.join(shown)} and {total - len(shown):,} more"
    return f"lines {', '.join(shown[:-1])} and {shown[-1]}"


def _read_process_codes(tx: Tx, rule: contract.ProcessCode, name: str, staged: Staged,
                        warnings: list[str]) -> None:
    """Read each valid row's process as the code it names (a code's words, in any case, become the code, so an
    event typed "Prior authorisation" concerns prior_auth's charts); keep a value that names no code, with a
    warning naming the file, its lines, the column, the value and the codes expected."""
    col, kpi_col = qi(rule.column), qi(rule.kpi)
    valid = VALID
    found = tx.fetchall(f"SELECT {kpi_col}, {col}, count(*) FROM _stage WHERE {valid} AND {col} IS NOT NULL "
                        "GROUP BY ALL ORDER BY 1 NULLS FIRST, 2")
    codes_of: dict[str | None, list[str] | None] = {}
    said: list[tuple[int, str]] = []  # (first line, warning): said in the file's order
    for kpi, value, n in found:
        if kpi not in codes_of:
            codes_of[kpi] = annotations.process_codes(tx.fetchall, kpi, registry=True)
        codes = codes_of[kpi]
        code = annotations.code_for(value, codes) if codes is not None else None
        if code == value:
            continue
        where = f"{valid} AND {kpi_col} IS NOT DISTINCT FROM ? AND {col} = ?"
        lines = [int(r[0]) for r in tx.fetchall(f"SELECT {staged.line_sql} AS _l FROM _stage s {staged.line_join} "
                                                f"WHERE {where} ORDER BY _l LIMIT {WARN_LINES}", [kpi, value])]
        at = f"{name} {_lines_words(lines, n)}, column {rule.column}"
        shown = f'"{readers.printable(value, MESSAGE_VALUE_CHARS)}"'
        if code is not None:
            tx.execute(f"UPDATE _stage SET {col} = ? WHERE {where}", [code, kpi, value])
            said.append((lines[0], f"{at}: read {shown} as the code {code} ({labels.value_word(code)})"))
        elif codes is None:
            kpi_label = catalog.get(kpi).label
            said.append((lines[0], f"{at}: found {shown}, but {kpi_label} is measured on records that have no "
                                   f"process or queue; expected it empty. The event is kept, but no chart of "
                                   f"{kpi_label} shows it"))
        else:
            listed = ", ".join(f"{c} ({labels.value_word(c)})" for c in codes[:WARN_CODES])
            listed += f" and {len(codes) - WARN_CODES} more" if len(codes) > WARN_CODES else ""
            said.append((lines[0], f"{at}: found {shown}, which is neither a process or queue code nor the words "
                                   f"of one; expected one of the codes {listed}, or their words, or empty for every "
                                   "process. The event is kept, but no chart of one process shows it"))
    warnings.extend(w for _, w in sorted(said))
