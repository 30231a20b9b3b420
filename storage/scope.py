"""The part of the data an admin's office may see: everything, or one city (issue 18).

Repositories take a :class:`Scope` and put it in their SQL (:meth:`Scope.where`), so a city
admin's query returns only their city's rows; nothing is filtered afterwards in Python.
"""

from __future__ import annotations

from dataclasses import dataclass

# The province office's code (bot/offices.py); every other office is a city's, by its code.
PROVINCE = "province"


@dataclass(frozen=True, slots=True)
class Scope:
    """``city`` None: the whole province; a city code: that city only."""

    city: str | None = None

    @property
    def everywhere(self) -> bool:
        return self.city is None

    def where(self, column: str) -> tuple[str, tuple[str, ...]]:
        """An ``AND`` clause limiting ``column`` (a city code column) to the scope, and its
        parameters; empty for the whole province."""
        if self.city is None:
            return "", ()
        return f" AND {column} = ?", (self.city,)

    def covers(self, city: str | None) -> bool:
        """Whether a row of ``city`` is in the scope."""
        return self.city is None or self.city == city


EVERYWHERE = Scope()


def scope_of_office(office: str | None) -> Scope:
    """What an admin of ``office`` may see: everything for the province, one city else."""
    return EVERYWHERE if office is None or office == PROVINCE else Scope(city=office)
