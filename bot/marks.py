"""Telegram's verification mark on officials' accounts, kept in step with the roster.

An organisation approved by Telegram as a verification platform lets its bot give accounts a
mark with a short description (``verifyUser``). Here, an active official whose Telegram
account is bound carries the mark, described from the roster ("辽宁省人民政府 副省长"); an
account whose official is deactivated or unbound loses it, and a changed title is removed and
set again.

What the mark *should* be is derived from the officials table; what Telegram *was told* is in
``verification_marks``. Every alarm tick, :meth:`Marks.reconcile` compares the two and makes
the calls that close the gap, recording each outcome after the call. A crash between a call
and its record makes the call again (both calls are harmless to repeat): nothing is lost.
A failed call is recorded with its kind, retried with backoff where that makes sense, and
reported once to the admins; the rest of the bot never waits for it.

The domain knows no Telegram: a :class:`MarkPort` makes the calls and raises
:class:`AccountGone`, :class:`MarkRefused` or :class:`MarkUnavailable`.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import TYPE_CHECKING, Protocol

from bot.i18n import translate
from bot.outbox import AdminsOf
from bot.tiers import tier_name
from storage.outbox import enqueue

if TYPE_CHECKING:
    from bot.accounts import Accounts
    from bot.config import VerificationSettings
    from bot.outbox import Outbox
    from bot.uow import UnitOfWork
    from storage.marks import MarkRecord, MarkRepository
    from storage.models import Official

log = logging.getLogger(__name__)

DESCRIPTION_LIMIT = 70  # Telegram's custom_description: 0-70 characters
# Time-outs and server errors are reported only once they keep happening.
REPORT_UNAVAILABLE_AFTER = 3
REPORT_KIND = "mark"
ELLIPSIS = "…"


class MarkError(Exception):
    """A verification call that did not happen."""


class AccountGone(MarkError):
    """The account does not exist (any more): giving it the mark can never work."""


class MarkRefused(MarkError):
    """Telegram said no (the bot is not an approved verifier, the description is refused)."""


class MarkUnavailable(MarkError):
    """A time-out, a server error or flood control: try again later."""


class Failure(StrEnum):
    REFUSED = "refused"
    GONE = "gone"
    UNAVAILABLE = "unavailable"


class MarkPort(Protocol):
    async def verify(self, telegram_id: int, description: str) -> None: ...

    async def remove(self, telegram_id: int) -> None: ...


class Action(StrEnum):
    VERIFY = "verify"
    REMOVE = "remove"


@dataclass(frozen=True, slots=True)
class Step:
    """One call to make: give ``telegram_id`` the mark ``description``, or remove it."""

    telegram_id: int
    official_id: int | None
    action: Action
    description: str | None  # what the account should carry in the end (None: no mark)


def mark_description(official: Official) -> str:
    """The body (or, without one, the tier) and the title, within Telegram's 70 characters.

    A long body is shortened, never the title: "…人民政府 副省长"."""
    body = official.body.strip() or tier_name(official.level, "zh")
    title = official.title.strip()
    text = " ".join(part for part in (body, title) if part)
    if len(text) <= DESCRIPTION_LIMIT:
        return text
    room = DESCRIPTION_LIMIT - len(title) - 1
    if room <= len(ELLIPSIS):
        return title[:DESCRIPTION_LIMIT]
    return f"{body[: room - len(ELLIPSIS)]}{ELLIPSIS} {title}"


def plan(
    wanted: Mapping[int, tuple[int, str]], records: Mapping[int, MarkRecord], now: datetime
) -> list[Step]:
    """The calls that bring Telegram in line with the roster, those waiting for a retry left
    out. ``wanted``: account → (official id, description). A mark whose description changed
    is removed first; the same step then sets the new one."""
    steps = []
    for telegram_id in sorted(wanted.keys() | records.keys()):
        official_id, want = wanted.get(telegram_id, (None, None))
        record = records.get(telegram_id)
        have = record.applied if record is not None else None
        if record is not None and official_id is None:
            official_id = record.official_id
        if want == have and (record is None or record.failure is None):
            continue
        if _waiting(record, want, now):
            continue
        action = Action.REMOVE if have is not None and want != have else Action.VERIFY
        if want is None and have is None:
            action = Action.REMOVE  # only a stale failure to clear
        steps.append(Step(telegram_id, official_id, action, want))
    return steps


def _waiting(record: MarkRecord | None, want: str | None, now: datetime) -> bool:
    """A failed account waits for its retry; one given up on waits for a new description."""
    if record is None or record.failure is None:
        return False
    return record.next_at > now or (want is not None and record.given_up_for == want)


def backoff(settings: VerificationSettings, attempts: int) -> timedelta:
    """Seconds before the next try after ``attempts`` failures: doubling, capped."""
    seconds = settings.mark_retry_base_seconds * 2 ** max(0, attempts - 1)
    return timedelta(seconds=min(seconds, settings.mark_retry_max_hours * 3600))


class Marks:
    """Keeps officials' verification marks in step with the roster (see the module)."""

    def __init__(
        self,
        repo: MarkRepository,
        *,
        outbox: Outbox,
        accounts: Accounts,
        settings: VerificationSettings,
        admins: AdminsOf,
        uow: UnitOfWork,
    ) -> None:
        self._repo = repo
        self._uow = uow
        self._outbox = outbox
        self._accounts = accounts
        self._settings = settings
        self._admins = admins

    async def reconcile(self, port: MarkPort, now: datetime) -> int:
        """Make up to ``mark_calls_per_tick`` steps, then report new failures; returns the
        number of steps made."""
        officials = await self._repo.bound_officials()
        wanted = {o.telegram_id: (o.id, mark_description(o)) for o in officials if o.telegram_id}
        records = await self._repo.records()
        steps = plan(wanted, records, now)[: self._settings.mark_calls_per_tick]
        for step in steps:
            await self._carry_out(port, step, records.get(step.telegram_id), now)
        if steps or any(r.failure and not r.reported for r in records.values()):
            await self._report(now)
        return len(steps)

    async def _carry_out(
        self, port: MarkPort, step: Step, record: MarkRecord | None, now: datetime
    ) -> None:
        have = record.applied if record is not None else None
        attempts = record.attempts if record is not None and record.failure else 0
        try:
            if step.action is Action.REMOVE:
                await self._remove(port, step.telegram_id)
                have = None
            if step.description is not None:
                await port.verify(step.telegram_id, step.description)
                have = step.description
        except MarkError as exc:
            await self._failed(step, have, exc, attempts + 1, now)
            return
        log.info("verification mark of account %s: %s", step.telegram_id, step.action)
        async with self._uow.transaction() as tx:
            await self._repo.succeeded(tx, step.telegram_id, step.official_id, have, now=now)

    @staticmethod
    async def _remove(port: MarkPort, telegram_id: int) -> None:
        """A deleted account carries no mark: removing it from one counts as done."""
        with contextlib.suppress(AccountGone):
            await port.remove(telegram_id)

    async def _failed(
        self, step: Step, have: str | None, exc: MarkError, attempts: int, now: datetime
    ) -> None:
        failure = (
            Failure.GONE
            if isinstance(exc, AccountGone)
            else Failure.REFUSED
            if isinstance(exc, MarkRefused)
            else Failure.UNAVAILABLE
        )
        log.warning("verification mark of %s failed (%s): %s", step.telegram_id, failure, exc)
        async with self._uow.transaction() as tx:
            if have is None and step.action is Action.REMOVE:
                # the removal of a changed title succeeded: what the account carries is recorded
                await self._repo.succeeded(tx, step.telegram_id, step.official_id, None, now=now)
            await self._repo.failed(
                tx,
                step.telegram_id,
                step.official_id,
                failure=failure,
                error=str(exc),
                next_at=now + backoff(self._settings, attempts),
                given_up_for=step.description if failure is Failure.GONE else None,
                now=now,
            )

    async def _report(self, now: datetime) -> None:
        """One message to each admin listing the failures not reported yet."""
        new = [
            r
            for r in (await self._repo.records()).values()
            if r.failure is not None
            and not r.reported
            and (r.failure != Failure.UNAVAILABLE or r.attempts >= REPORT_UNAVAILABLE_AFTER)
        ]
        if not new:
            return
        names = await self._repo.official_names()
        messages = []
        for admin_id in await self._admins():
            language = await self._accounts.language_of(admin_id)
            lines = [
                translate(
                    language,
                    f"mark.failure_{r.failure}",
                    name=names.get(r.official_id or 0, str(r.telegram_id)),
                    error=r.error or "",
                )
                for r in new
            ]
            text = translate(language, "mark.failed", count=len(new)) + "\n" + "\n".join(lines)
            messages.append(self._outbox.message(admin_id, REPORT_KIND, text, at=now))
        # The report and its record together: a crash in between cannot report twice.
        async with self._uow.transaction() as tx:
            await enqueue(tx, messages, now=now)
            await self._repo.mark_reported(tx, [r.telegram_id for r in new], now=now)
