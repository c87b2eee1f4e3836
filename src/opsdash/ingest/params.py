"""Values bound to one statement by number: how ingest builds SQL that carries text from files and mapping
files (and from the contract) without writing any of it into the statement's text."""

from __future__ import annotations

from typing import Any


class Params:
    """The values bound to one statement, written into its text as ``$1``, ``$2``...: calling it with a value
    returns the placeholder (the same one for a value seen before, so a repeated expression binds it once)."""

    def __init__(self) -> None:
        self.values: list[Any] = []
        self._seen: dict[tuple[type, Any], int] = {}

    def __call__(self, value: Any) -> str:
        try:
            key = (type(value), tuple(value) if isinstance(value, list) else value)
            at = self._seen.get(key)
        except TypeError:  # a dict (read_csv's columns): bound as it is, never shared
            key, at = None, None
        if at is None:
            self.values.append(value)
            at = len(self.values)
            if key is not None:
                self._seen[key] = at
        return f"${at}"
