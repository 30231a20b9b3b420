"""Each official's daily digest: what is open, due soon and overdue, in one message a day."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from bot.i18n import Translator
from storage.outbox import enqueue
from storage.reminders import fold_into_digest
from storage.requests import Request

if TYPE_CHECKING:
    from bot.services import Services

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


async def send_digests(services: Services, now: datetime) -> int:
    """On a working day, from digest time on, queue today's digest for every official due one."""
    calendar = services.calendar
    today = calendar.local(now).date()
    start = calendar.at(today, services.settings.quiet_hours.digest_time)
    if now < start or not calendar.is_workday(today) or services.quiet.is_quiet(now):
        return 0
    soon = calendar.add_workdays(now, 1)  # the end of the next working day
    # Only reminders already due when the digest goes out are folded into it; a later one
    # the same morning (e.g. half time at 11:59) is sent on its own, on time.
    fold_until = now
    queued = 0
    for official_id, chat_id in await services.digests.recipients(today):
        requests = await services.digests.open_requests(official_id)
        texts = Translator(await services.accounts.language_of(chat_id))
        text = render(services, texts, requests, now=now, soon=soon)
        message = services.outbox.message(
            chat_id, "digest", text, at=now, dedupe_key=f"digest:{official_id}:{today}"
        )
        # Queued and the morning's reminders folded into it together, once a day.
        async with services.db.transaction() as tx:
            if await services.digests.record(tx, official_id, today, now=now):
                await enqueue(tx, [message], now=now)
                await fold_into_digest(tx, official_id, FOLDABLE, fold_until, now)
                queued += 1
    return queued


def render(
    services: Services,
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
        when = "" if due is None else f"{services.calendar.local(due):%m-%d %H:%M}"
        key = "digest.waiting" if request.status == "waiting" else "digest.item"
        sections[section].append(
            texts(key, number=request.number, summary=request.summary[:SUMMARY_CHARS], due=when)
        )
    limit = services.settings.reminders.digest_max_items
    parts = [texts("digest.title", count=len(requests))]
    for name, lines in sections.items():
        if not lines:
            continue
        parts.append(texts(f"digest.{name}", count=len(lines)))
        parts.extend(lines[:limit])
        if len(lines) > limit:
            parts.append(texts("digest.more", count=len(lines) - limit))
    return "\n".join(parts)
