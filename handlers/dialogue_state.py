"""Which dialogue of the shared conversation a user is in, kept in their ``user_data``.

The intake keeps its draft in the database; the short dialogues (writing on a request, a site
visit, registering an enterprise) keep their state here, under one key each. Starting one
dialogue forgets the others, so /cancel and unexpected input are answered by the right one.
"""

from __future__ import annotations

from typing import Any

from handlers.context import AppContext

COMPOSE, VISIT, REGISTRATION = "compose", "visit", "registration"
KEYS = (COMPOSE, VISIT, REGISTRATION)
INTAKE = "intake"


def user_data(context: AppContext) -> dict[Any, Any]:
    assert context.user_data is not None
    return context.user_data


def enter(context: AppContext, key: str, value: Any) -> None:
    """Start dialogue ``key`` with ``value`` as its state, leaving any other."""
    forget(context)
    user_data(context)[key] = value


def forget(context: AppContext) -> bool:
    """Leave every short dialogue; whether the user was in one."""
    data = user_data(context)
    return any([data.pop(key, None) is not None for key in KEYS])


def active(context: AppContext) -> str:
    """The dialogue the user is in: one of KEYS, or the intake by default."""
    data = user_data(context)
    return next((key for key in KEYS if key in data), INTAKE)
