"""The few SQL fragments SQLite and PostgreSQL spell differently (issue 21).

Everything else the repositories write is in the subset both speak. A repository builds a
statement that needs one of these once per dialect (``{d: build(SQL[d]) for d in SQL}``) and
picks it by :attr:`storage.database.Database.dialect`, so no statement is assembled per call.
JSON comes back as text on both, as SQLite gives it, for storage/rows.py to read.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from storage.database import Dialect


@dataclass(frozen=True)
class Sql:
    dialect: Dialect

    @property
    def postgres(self) -> bool:
        return self.dialect == "postgresql"

    def json_text(self, column: str, key: str) -> str:
        """The text (or, for an object or array, the JSON text) at ``key`` of a JSON column."""
        if self.postgres:
            return f"({column}::json ->> '{key}')"
        return f"json_extract({column}, '$.{key}')"

    def json_int(self, column: str, key: str) -> str:
        """The integer at ``key`` of a JSON column."""
        if self.postgres:
            return f"CAST({column}::json ->> '{key}' AS BIGINT)"
        return f"json_extract({column}, '$.{key}')"

    def json_set_text(self, column: str, key: str) -> str:
        """The JSON column with ``key`` set to the text of the next ``?`` parameter."""
        if self.postgres:
            return f"jsonb_set({column}::jsonb, '{{{key}}}', to_jsonb(CAST(? AS TEXT)))::text"
        return f"json_set({column}, '$.{key}', ?)"

    def json_object(self, **members: str) -> str:
        """A JSON object, as text, of these members (name: SQL expression)."""
        pairs = ", ".join(f"'{name}', {expression}" for name, expression in members.items())
        if self.postgres:
            return f"json_build_object({pairs})::text"
        return f"json_object({pairs})"

    def json_value(self, column: str) -> str:
        """A column of JSON text, embedded as JSON (not as a string) in :meth:`json_object`."""
        return f"{column}::json" if self.postgres else f"json({column})"

    def json_array_of(self, expression: str) -> str:
        """Aggregate: the JSON array, as text, of ``expression`` over the group ('[]' if none)."""
        if self.postgres:
            return f"COALESCE(json_agg({expression}), '[]')::text"
        return f"json_group_array({expression})"

    def joined(self, expression: str, separator: str) -> str:
        """Aggregate: the texts of the group joined by ``separator``."""
        if self.postgres:
            return f"string_agg({expression}, '{separator}')"
        return f"group_concat({expression}, '{separator}')"

    def least(self, *expressions: str) -> str:
        """The smallest of these values (SQLite's ``min`` with several arguments)."""
        name = "LEAST" if self.postgres else "min"
        return f"{name}({', '.join(expressions)})"

    def index_hint(self, index: str) -> str:
        """SQLite's planner told which index to read (PostgreSQL's chooses by its statistics)."""
        return "" if self.postgres else f" INDEXED BY {index}"

    def unindexed(self, column: str) -> str:
        """``column`` in a condition SQLite's planner must not pick an index for (``+column``;
        PostgreSQL's planner weighs the indexes by their statistics)."""
        return column if self.postgres else f"+{column}"

    def insertion_order(self, alias: str) -> str:
        """What orders the rows of a table without a surrogate key as they were inserted."""
        prefix = f"{alias}." if alias else ""
        return f"{prefix}ctid" if self.postgres else f"{prefix}rowid"

    def in_list(self, column: str) -> str:
        """``column`` is one of the values of the next ``?`` parameter (:meth:`list_of`): one
        statement text whatever the number of values, so a server keeps one plan for it where
        ``IN (?, ?, …)`` would be a statement of its own, planned again, for each length."""
        if self.postgres:
            return f"{column} = ANY(?)"
        return f"{column} IN (SELECT value FROM json_each(?))"

    def not_in_list(self, column: str) -> str:
        """``column`` is none of the values of the next ``?`` parameter (:meth:`list_of`);
        true for an empty list."""
        if self.postgres:
            return f"NOT ({column} = ANY(?))"
        return f"{column} NOT IN (SELECT value FROM json_each(?))"

    def list_of(self, values: Sequence[int] | Sequence[str]) -> Any:
        """The parameter :meth:`in_list` and :meth:`not_in_list` take: an array on
        PostgreSQL, a JSON array on SQLite (which has no arrays)."""
        return list(values) if self.postgres else json.dumps(list(values))


SQL: dict[Dialect, Sql] = {"sqlite": Sql("sqlite"), "postgresql": Sql("postgresql")}
