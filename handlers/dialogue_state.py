"""Which dialogue of the shared conversation a user is in, and its state so far.

The intake keeps its draft in ``drafts``; the short dialogues (writing on a request, a site
visit, registering an enterprise) are kept by bot/dialogues.py, in memory and in the database.
Starting one dialogue ends the others, whichever conversation or store they are in (the rule of
handlers/journeys.py), so /cancel and unexpected input are answered by the right one.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from telegram import Update

from bot.dialogues import BROADCAST, COMPOSE, INTAKE, REGISTRATION, REPORT, VERIFY, VISIT
from handlers.cards import answer_query, send_here
from handlers.context import AppContext
from handlers.liaison_bot import Markup

__all__ = [
    "BROADCAST",
    "COMPOSE",
    "INTAKE",
    "REGISTRATION",
    "REPORT",
    "VERIFY",
    "VISIT",
    "active",
    "advance",
    "begin",
    "enter",
    "forget",
    "state",
]


def _user_id(update: Update) -> int:
    assert update.effective_user is not None
    return update.effective_user.id


def state(update: Update, context: AppContext) -> Mapping[str, Any]:
    """What the user told their short dialogue so far (empty outside one)."""
    dialogue = context.services.dialogues.current(_user_id(update))
    return {} if dialogue is None else dialogue.state


def active(update: Update, context: AppContext) -> str:
    """The dialogue the user is in: a short one, or the intake by default."""
    dialogue = context.services.dialogues.current(_user_id(update))
    return INTAKE if dialogue is None else dialogue.kind


async def enter(update: Update, context: AppContext, kind: str, **values: Any) -> None:
    """Start dialogue ``kind`` with ``values`` as its state, leaving any other."""
    await context.services.dialogues.enter(_user_id(update), kind, values)


async def begin(
    update: Update,
    context: AppContext,
    kind: str,
    question: str,
    markup: Markup | None = None,
    **values: Any,
) -> None:
    """Open dialogue ``kind`` from its command or menu button: the press answered, the dialogue
    entered with ``values`` as its state (leaving any other), its first ``question`` asked."""
    await answer_query(update)
    await enter(update, context, kind, **values)
    await send_here(update, context, question, markup)


async def advance(update: Update, context: AppContext, **values: Any) -> None:
    """Keep what the user just answered."""
    await context.services.dialogues.advance(_user_id(update), **values)


async def forget(update: Update, context: AppContext) -> bool:
    """Leave every short dialogue; whether the user was in one."""
    return await context.services.dialogues.forget(_user_id(update))
