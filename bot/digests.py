"""Each official's daily digest: what is open, due soon and overdue, in one message a day."""

from __future__ import annotations

from datetime import datetime, time

from bot.accounts import Accounts
from bot.i18n import Translator
from bot.outbox import Outbox, QuietHours
from bot.uow import UnitOfWork
from bot.workdays import WorkCalendar
from storage.digests import DigestRepository
from storage.outbox import enqueue
from storage.reminders import fold_into_digest
from storage.requests import Request

# Reminders to the official that the digest replaces when they are due by the time it is sent.
FOLDABLE = ("ack_half", "ack_last", "resolve_half", "resolve_last")
SUMMARY_CHARS = 40


def active_deadline(request: Request) -> datetime | None:
    """The deadline the official is working against now (none while waiting)."""
    if request.status in ("submitted", "assigned"):
        return request.acknowledge_due_at
    if request.status in ("acknowledged", "in_progress", "reopened"):
        return request.resolve_due_at
    return None


class Digests:
    """Queues each official's digest once a working day, folding in the reminders it replaces."""

    def __init__(
        self,
        repo: DigestRepository,
        *,
        accounts: Accounts,
        outbox: Outbox,
        calendar: WorkCalendar,
        quiet: QuietHours,
        digest_time: time,
        max_items: int,
        uow: UnitOfWork,
    ) -> None:
        self._repo = repo
        self._accounts = accounts
        self._outbox = outbox
        self._calendar = calendar
        self._quiet = quiet
        self._digest_time = digest_time
        self._max_items = max_items
        self._uow = uow

    async def send(self, now: datetime) -> int:
        """On a working day, from digest time on, queue today's digest for every official due
        one."""
        calendar = self._calendar
        today = calendar.local(now).date()
        start = calendar.at(today, self._digest_time)
        if now < start or not calendar.is_workday(today) or self._quiet.is_quiet(now):
            return 0
        soon = calendar.add_workdays(now, 1)  # the end of the next working day
        # Only reminders already due when the digest goes out are folded into it; a later one
        # the same morning (e.g. half time at 11:59) is sent on its own, on time.
        fold_until = now
        queued = 0
        for official_id, chat_id in await self._repo.recipients(today):
            requests = await self._repo.open_requests(official_id)
            texts = Translator(await self._accounts.language_of(chat_id))
            text = self.render(texts, requests, now=now, soon=soon)
            message = self._outbox.message(
                chat_id, "digest", text, at=now, dedupe_key=f"digest:{official_id}:{today}"
            )
            # Queued and the morning's reminders folded into it together, once a day.
            async with self._uow.transaction() as tx:
                if await self._repo.record(tx, official_id, today, now=now):
                    await enqueue(tx, [message], now=now)
                    await fold_into_digest(tx, official_id, FOLDABLE, fold_until, now)
                    queued += 1
        return queued

    def render(
        self,
        texts: Translator,
        requests: list[Request],
        *,
        now: datetime,
        soon: datetime,
    ) -> str:
        sections: dict[str, list[str]] = {"overdue": [], "due_soon": [], "open": []}
        for request in requests:
            due = active_deadline(request)
            section = (
                "open"
                if due is None
                else "overdue"
                if due <= now
                else ("due_soon" if due <= soon else "open")
            )
            when = "" if due is None else f"{self._calendar.local(due):%m-%d %H:%M}"
            key = "digest.waiting" if request.status == "waiting" else "digest.item"
            sections[section].append(
                texts(key, number=request.number, summary=request.summary[:SUMMARY_CHARS], due=when)
            )
        limit = self._max_items
        parts = [texts("digest.title", count=len(requests))]
        for name, lines in sections.items():
            if not lines:
                continue
            parts.append(texts(f"digest.{name}", count=len(lines)))
            parts.extend(lines[:limit])
            if len(lines) > limit:
                parts.append(texts("digest.more", count=len(lines) - limit))
        return "\n".join(parts)
