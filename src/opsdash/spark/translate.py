"""The catalogue's SQL fragments, written once in DuckDB's dialect, rendered for Spark SQL.

A KPI is declared once (catalog.Kpi): its conditions and values are small SQL expressions over the table's
columns. This module parses such an expression into a tree and renders it for Spark with a closed table of
constructs whose meaning is the same on both engines. Anything outside that table - an unknown function, a
cast to another type, a column the table does not have - raises TranslationError naming the fragment and what
was found, so a new declaration that Spark would read differently fails loudly instead of giving other numbers.

Why not a general transpiler: measured on this codebase's SQL, SQLGlot's duckdb->spark let ``quantile_cont``
through as a call Spark rejects, failed on ``epoch`` of an interval, and duckdb->bigquery silently moved weekly
buckets from Monday to Sunday. A closed table is small here (the fragments use a dozen constructs) and every
entry is checked by the parity tests (tests/test_spark.py), KPI by KPI.

Differences the table takes care of:
- ``epoch(a - b)`` (seconds between two times, with microseconds) is ``timestampdiff(MICROSECOND, b, a) / 1e6``;
- ``date_diff('day', a, b)`` is ``datediff(b, a)`` (Spark's argument order is end, start);
- ``list_contains(list, x)`` is ``array_contains(array(...), x)``;
- a decimal literal is taken only when a DOUBLE holds it exactly (``3600.0``, ``0.5``; not ``0.1``), so
  DuckDB's DECIMAL and the DOUBLE it is rendered as are the same number;
- a cast to a whole number rounds half to even on both (DuckDB rounds, Spark would truncate);
- a division only by a literal other than zero (DuckDB gives infinity where Spark's ANSI mode raises);
- a string literal is escaped for Spark, where a backslash escapes and ``'a''b'`` would be two literals joined;
- ``TIMESTAMP`` is ``TIMESTAMP_NTZ`` (opsdash's times carry no zone; Parquet keeps them so).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any


class TranslationError(ValueError):
    """A fragment that has no Spark rendering known to mean the same."""


_TOKEN = re.compile(r"""\s*(?:
    (?P<num>\d+(?:\.\d+)?)
  | (?P<str>'(?:[^']|'')*')
  | (?P<param>\$[A-Za-z_][A-Za-z0-9_]*)
  | (?P<qid>"(?:[^"]|"")+")
  | (?P<id>[A-Za-z_][A-Za-z0-9_]*)
  | (?P<op><=|>=|<>|!=|[-+*/=<>(),])
)""", re.X)

_KEYWORDS = {"AND", "OR", "NOT", "IS", "NULL", "TRUE", "FALSE", "CASE", "WHEN", "THEN", "ELSE", "END", "CAST",
             "AS", "BETWEEN", "IN", "DISTINCT", "FROM", "DATE", "TIMESTAMP", "INTERVAL", "SELECT"}
#: Casts whose meaning is the same on both engines (DuckDB type -> Spark type).
_TYPES = {"DOUBLE": "DOUBLE", "BIGINT": "BIGINT", "INTEGER": "INT", "DATE": "DATE", "TIMESTAMP": "TIMESTAMP_NTZ",
          "VARCHAR": "STRING", "BOOLEAN": "BOOLEAN"}
_UNITS = {"DAY": "DAY", "MICROSECOND": "MICROSECOND", "MONTH": "MONTH", "HOUR": "HOUR", "SECOND": "SECOND"}
_COMPARE = {"=", "<>", "!=", "<", "<=", ">", ">="}


@dataclass(frozen=True)
class Node:
    kind: str  # num, str, bool, null, param, col, date, ts, interval, call, cast, case, unary, binary, is, between, in
    value: Any = None
    args: tuple[Any, ...] = ()


class _Parser:
    def __init__(self, text: str) -> None:
        self.text = text
        self.tokens: list[tuple[str, str]] = []
        pos = 0
        while pos < len(text):
            if text[pos:].strip() == "":
                break
            m = _TOKEN.match(text, pos)
            if not m or m.end() == pos:
                raise TranslationError(f"{text!r}: cannot read {text[pos:].strip()[:20]!r} at character {pos + 1}")
            kind = m.lastgroup or ""
            word = m[kind]
            if kind == "id" and word.upper() in _KEYWORDS:
                kind, word = "kw", word.upper()
            self.tokens.append((kind, word))
            pos = m.end()
        self.i = 0

    def peek(self, k: int = 0) -> tuple[str, str]:
        return self.tokens[self.i + k] if self.i + k < len(self.tokens) else ("end", "")

    def take(self) -> tuple[str, str]:
        tok = self.peek()
        self.i += 1
        return tok

    def accept(self, *words: str) -> bool:
        if self.peek()[1] in words and self.peek()[0] in ("kw", "op"):
            self.i += 1
            return True
        return False

    def expect(self, word: str) -> None:
        if not self.accept(word):
            raise TranslationError(f"{self.text!r}: expected {word}, found {self.peek()[1] or 'the end'!r}")

    def parse(self) -> Node:
        node = self.or_()
        if self.peek()[0] != "end":
            raise TranslationError(f"{self.text!r}: unexpected {self.peek()[1]!r}")
        return node

    def or_(self) -> Node:
        node = self.and_()
        while self.accept("OR"):
            node = Node("binary", "OR", (node, self.and_()))
        return node

    def and_(self) -> Node:
        node = self.not_()
        while self.accept("AND"):
            node = Node("binary", "AND", (node, self.not_()))
        return node

    def not_(self) -> Node:
        if self.accept("NOT"):
            return Node("unary", "NOT", (self.not_(),))
        return self.compare()

    def compare(self) -> Node:
        left = self.add()
        kind, word = self.peek()
        if kind == "op" and word in _COMPARE:
            self.take()
            return Node("binary", "<>" if word == "!=" else word, (left, self.add()))
        if self.accept("IS"):
            negate = self.accept("NOT")
            if self.accept("NULL"):
                return Node("is", "NOT NULL" if negate else "NULL", (left,))
            self.expect("DISTINCT")
            self.expect("FROM")
            return Node("is", "NOT DISTINCT" if negate else "DISTINCT", (left, self.add()))
        negate = self.peek()[1] == "NOT" and self.peek(1)[1] in ("BETWEEN", "IN")
        if negate:
            self.take()
        if self.accept("BETWEEN"):
            lo = self.add()
            self.expect("AND")
            return Node("between", negate, (left, lo, self.add()))
        if self.accept("IN"):
            self.expect("(")
            if self.peek()[1] == "SELECT":
                raise TranslationError(f"{self.text!r}: a subquery has no Spark rendering here")
            items = [self.or_()]
            while self.accept(","):
                items.append(self.or_())
            self.expect(")")
            return Node("in", negate, (left, *items))
        return left

    def add(self) -> Node:
        node = self.mul()
        while self.peek() in (("op", "+"), ("op", "-")):
            node = Node("binary", self.take()[1], (node, self.mul()))
        return node

    def mul(self) -> Node:
        node = self.unary()
        while self.peek() in (("op", "*"), ("op", "/")):
            node = Node("binary", self.take()[1], (node, self.unary()))
        return node

    def unary(self) -> Node:
        if self.peek() == ("op", "-"):
            self.take()
            return Node("unary", "-", (self.unary(),))
        return self.primary()

    def primary(self) -> Node:
        kind, word = self.take()
        if kind == "num":
            return Node("num", word)
        if kind == "str":
            return Node("str", word[1:-1].replace("''", "'"))
        if kind == "param":
            return Node("param", word[1:])
        if kind == "qid":
            return Node("col", word[1:-1].replace('""', '"'))
        if kind == "op" and word == "(":
            node = self.or_()
            self.expect(")")
            return node
        if kind == "kw":
            if word in ("TRUE", "FALSE"):
                return Node("bool", word)
            if word == "NULL":
                return Node("null")
            if word in ("DATE", "TIMESTAMP") and self.peek()[0] == "str":
                return Node("date" if word == "DATE" else "ts", self.take()[1][1:-1])
            if word == "INTERVAL":
                n = self.take()
                unit = self.take()[1].upper()
                if n[0] != "num" or "." in n[1] or unit not in _UNITS:
                    raise TranslationError(f"{self.text!r}: INTERVAL {n[1]} {unit} has no Spark rendering here")
                return Node("interval", (int(n[1]), unit))
            if word == "CAST":
                self.expect("(")
                inner = self.or_()
                self.expect("AS")
                typ = self.take()[1].upper()
                self.expect(")")
                if typ not in _TYPES:
                    raise TranslationError(f"{self.text!r}: a cast to {typ} has no Spark rendering here")
                return Node("cast", typ, (inner,))
            if word == "CASE":
                whens = []
                while self.accept("WHEN"):
                    cond = self.or_()
                    self.expect("THEN")
                    whens.append((cond, self.or_()))
                other = self.or_() if self.accept("ELSE") else None
                self.expect("END")
                if not whens:
                    raise TranslationError(f"{self.text!r}: CASE without WHEN")
                return Node("case", other, tuple(whens))
        if kind == "id":
            if self.accept("("):
                args: list[Node] = []
                if not self.accept(")"):
                    args.append(self.or_())
                    while self.accept(","):
                        args.append(self.or_())
                    self.expect(")")
                return Node("call", word.lower(), tuple(args))
            return Node("col", word)
        raise TranslationError(f"{self.text!r}: unexpected {word or 'end'!r}")


def parse(text: str) -> Node:
    """A fragment as a tree (TranslationError when it is not one opsdash's fragments are made of)."""
    return _Parser(text).parse()


def string(value: str) -> str:
    """A Spark string literal holding exactly `value` (backslashes and quotes escaped)."""
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


class Renderer:
    """Renders fragments for Spark. `columns`: the names a fragment may use; `params`: how each $name is
    rendered (a literal or a :marker); `aliases`: names standing for another fragment (the numerator's `_den`)."""

    def __init__(self, columns: set[str], params: Mapping[str, str], aliases: Mapping[str, str] | None = None) -> None:
        self.columns = columns
        self.params = params
        self.aliases = dict(aliases or {})

    def __call__(self, text: str) -> str:
        self.text = text
        return self.node(parse(text))

    def fail(self, what: str) -> TranslationError:
        return TranslationError(f"{self.text!r}: {what} has no Spark rendering known to mean the same")

    def node(self, n: Node) -> str:
        kind = n.kind
        if kind == "num":
            if "." not in n.value:
                return n.value
            if Decimal(n.value) != Decimal(float(n.value)):
                raise self.fail(f"the decimal {n.value} (no DOUBLE holds it exactly)")
            return f"{n.value}D"
        if kind == "str":
            return string(n.value)
        if kind == "bool":
            return n.value.lower()
        if kind == "null":
            return "NULL"
        if kind == "param":
            if n.value not in self.params:
                raise self.fail(f"the parameter ${n.value}")
            return self.params[n.value]
        if kind == "col":
            if n.value in self.aliases:
                return f"({self.aliases[n.value]})"
            if n.value not in self.columns:
                raise TranslationError(f"{self.text!r}: no column {n.value!r} (expected one of "
                                       f"{', '.join(sorted(self.columns))})")
            return f"`{n.value}`"
        if kind == "date":
            return f"DATE {string(n.value)}"
        if kind == "ts":
            return f"TIMESTAMP_NTZ {string(n.value)}"
        if kind == "interval":
            count, unit = n.value
            return f"INTERVAL {count} {_UNITS[unit]}"
        if kind == "cast":
            inner = self.node(n.args[0])
            if n.value in ("BIGINT", "INTEGER"):  # DuckDB rounds half to even; Spark's cast alone truncates
                return f"CAST(bround({inner}) AS {_TYPES[n.value]})"
            if n.value == "VARCHAR" and n.args[0].kind != "col":
                raise self.fail("a cast to text of anything but a column")
            return f"CAST({inner} AS {_TYPES[n.value]})"
        if kind == "case":
            whens = " ".join(f"WHEN {self.node(c)} THEN {self.node(v)}" for c, v in n.args)
            other = f" ELSE {self.node(n.value)}" if n.value is not None else ""
            return f"(CASE {whens}{other} END)"
        if kind == "unary":
            return f"(NOT {self.node(n.args[0])})" if n.value == "NOT" else f"(-{self.node(n.args[0])})"
        if kind == "binary":
            if n.value == "/" and not (n.args[1].kind == "num" and float(n.args[1].value) != 0):
                raise self.fail("a division by anything but a number other than zero")
            return f"({self.node(n.args[0])} {n.value} {self.node(n.args[1])})"
        if kind == "is":
            left = self.node(n.args[0])
            if n.value in ("NULL", "NOT NULL"):
                return f"({left} IS {n.value})"
            right = self.node(n.args[1])
            return f"({left} <=> {right})" if n.value == "NOT DISTINCT" else f"(NOT ({left} <=> {right}))"
        if kind == "between":
            x, lo, hi = (self.node(a) for a in n.args)
            return f"({x} {'NOT ' if n.value else ''}BETWEEN {lo} AND {hi})"
        if kind == "in":
            x, *items = (self.node(a) for a in n.args)
            return f"({x} {'NOT ' if n.value else ''}IN ({', '.join(items)}))"
        if kind == "call":
            fn = _FUNCTIONS.get(n.value)
            if fn is None:
                raise self.fail(f"the function {n.value}()")
            return fn(self, n.args)
        raise self.fail(kind)  # pragma: no cover - the parser makes no other kind


def _plain(name: str, arity: tuple[int, int]) -> Callable[[Renderer, tuple[Node, ...]], str]:
    def render(r: Renderer, args: tuple[Node, ...]) -> str:
        if not arity[0] <= len(args) <= arity[1]:
            raise r.fail(f"{name}() with {len(args)} arguments")
        return f"{name}({', '.join(r.node(a) for a in args)})"
    return render


def _epoch(r: Renderer, args: tuple[Node, ...]) -> str:
    # Seconds between two times, microseconds kept: only the form epoch(a - b) is known to mean the same.
    if len(args) != 1 or args[0].kind != "binary" or args[0].value != "-":
        raise r.fail("epoch() of anything but the difference of two times")
    later, earlier = args[0].args
    return f"(timestampdiff(MICROSECOND, {r.node(earlier)}, {r.node(later)}) / 1000000D)"


def _date_diff(r: Renderer, args: tuple[Node, ...]) -> str:
    if len(args) != 3 or args[0] != Node("str", "day"):
        raise r.fail("date_diff() in another unit than 'day'")
    return f"datediff({r.node(args[2])}, {r.node(args[1])})"


def _list_contains(r: Renderer, args: tuple[Node, ...]) -> str:
    if len(args) != 2:
        raise r.fail("list_contains() with other than two arguments")
    return f"array_contains({r.node(args[0])}, {r.node(args[1])})"


_FUNCTIONS: dict[str, Callable[[Renderer, tuple[Node, ...]], str]] = {
    "coalesce": _plain("coalesce", (1, 99)),
    "nullif": _plain("nullif", (2, 2)),
    "greatest": _plain("greatest", (2, 99)),
    "least": _plain("least", (2, 99)),
    "epoch": _epoch,
    "date_diff": _date_diff,
    "list_contains": _list_contains,
}
