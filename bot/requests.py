"""Requests (诉求) as the domain sees them: submit, act on, talk about, and who may do what.

Every change of status goes through :meth:`RequestDesk.transition`, which checks the lifecycle
table, computes the columns that change with it (timestamps, the paused deadline clock, the
holder) and writes it with optimistic concurrency. The desk owns the unit of work: it opens
the transaction, writes the change through the repository, re-plans the reminders and queues
the notices the change causes in that same transaction (so a crash cannot keep the change and
lose them), commits, then wakes the outbox. A receipt for the user who acted ("received, your
number is …", "sent") is queued in that transaction too (bot/receipts.py), rendered by the
caller from what was stored.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

from bot.clock import Clock, to_epoch
from bot.config import Settings
from bot.deadlines import due_dates, extend, paused_workdays
from bot.intake import Drafts
from bot.lifecycle import (
    FINAL,
    Action,
    Party,
    Status,
    TransitionRefused,
    allowed,
    check,
    check_note,
)
from bot.receipts import queue_receipt
from bot.roles import Actor
from bot.routing import Route, route
from bot.threads import Thread, reads_notes
from bot.uow import UnitOfWork
from bot.workdays import WorkCalendar
from storage.db import Transaction
from storage.enterprises import EnterpriseRepository
from storage.models import Contact, Official
from storage.officials import OfficialRepository
from storage.outbox import NewMessage as QueuedMessage
from storage.outbox import enqueue
from storage.requests import (
    Attachment,
    HistoryEntry,
    Message,
    NewMessage,
    NewRequest,
    Request,
    RequestRepository,
)

# The text of the receipt for the user who acted, from the request as stored (its number, its
# holder); called inside the transaction, so it must not wait on anything.
ReceiptText = Callable[[Request], str]


@dataclass(frozen=True, slots=True)
class Known:
    """Who a change's or a message's notices go to, read before its transaction began, off
    the writer connection (on PostgreSQL a write transaction holds the one writer across each
    of its round trips): officials by id, an enterprise's contacts by its id. The notifier
    reads in the transaction only what is not here. Read a moment earlier than the
    transaction's own writes: a contact bound in that moment is missed as one bound a moment
    after the commit would be."""

    officials: Mapping[int, Official | None] = field(default_factory=dict)
    contacts: Mapping[int, Sequence[Contact]] = field(default_factory=dict)


NOTHING_KNOWN = Known()


@dataclass(frozen=True, slots=True)
class Change:
    """A change of a request as its effects see it, inside the change's transaction."""

    before: Request | None  # None for a new request
    after: Request
    action: Action | None  # None for a new request
    note: str
    now: datetime
    known: Known = NOTHING_KNOWN


@dataclass(frozen=True, slots=True)
class Posted:
    """A message added to a request's thread, as its effects see it, inside its transaction."""

    request: Request  # after the change of status the message brought, if any
    post: NewMessage
    sender: Actor
    now: datetime
    known: Known = NOTHING_KNOWN


class Notifier(Protocol):
    """Queues, in the caller's transaction, what a change or a thread message tells others
    (bot/dispatch.py); each returns how many messages it queued."""

    async def queue_change(self, tx: Transaction, change: Change) -> int: ...

    async def queue_posted(self, tx: Transaction, posted: Posted) -> int: ...


class Planner(Protocol):
    """Re-plans a request's reminders in the caller's transaction (bot/reminders.py)."""

    async def replan(
        self, tx: Transaction, request_id: int, *, current: Request | None = None
    ) -> None: ...


# Something was queued and committed: deliver it now rather than at the next wake-up.
Wake = Callable[[], None]


class NotFound(Exception):
    """No such request, or not one this user may see: both look the same to the user."""


class Stale(TransitionRefused):
    """Somebody else changed the request first; nothing was written."""

    def __init__(self, status: Status) -> None:
        super().__init__("stale", status)


@dataclass(frozen=True, slots=True)
class Submitted:
    request: Request
    route: Route


def parties(actor: Actor, request: Request) -> frozenset[Party]:
    """How ``actor`` relates to ``request``: owner, holder, admin, or nothing at all."""
    found = set()
    if actor.speaks_for(request.enterprise_id):
        found.add(Party.OWNER)
    if actor.official is not None and actor.official.id == request.official_id:
        found.add(Party.HOLDER)
    if actor.is_admin and actor.scope.covers(request.city):  # a city admin: their city's
        found.add(Party.ADMIN)
    return frozenset(found)


# Notes the router writes for the record, not for people.
ROUTE_NOTES = frozenset({"designated", "rule", "queue"})
# Statuses whose history note is for officials and admins only: the return reason (退单).
INTERNAL_NOTE_TARGETS = frozenset({Status.RETURNED})


def note_seen(entry: HistoryEntry, who: frozenset[Party]) -> str:
    """The note of one history entry as this viewer may read it (blank where hidden)."""
    if entry.note in ROUTE_NOTES:
        return ""
    if entry.to_status in INTERNAL_NOTE_TARGETS and not who & {Party.HOLDER, Party.ADMIN}:
        return ""
    return entry.note


class _Lost(Exception):
    """The request changed meanwhile: roll the whole transaction back."""


class RequestDesk:
    def __init__(
        self,
        repo: RequestRepository,
        officials: OfficialRepository,
        enterprises: EnterpriseRepository,
        settings: Settings,
        clock: Clock,
        *,
        calendar: WorkCalendar,
        uow: UnitOfWork,
        planner: Planner,
        notifier: Notifier,
        wake: Wake,
        drafts: Drafts,
    ) -> None:
        self.repo = repo
        self._drafts = drafts
        self.officials = officials
        self.enterprises = enterprises
        self.settings = settings
        self.clock = clock
        self.calendar = calendar
        self._uow = uow
        self.planner = planner
        self.notifier = notifier
        self.wake = wake

    # -- intake -----------------------------------------------------------------------------

    async def submit(
        self,
        actor: Actor,
        new: NewRequest,
        *,
        from_draft: bool = False,
        receipt: Callable[[Submitted], str] | None = None,
        notices: Callable[[Submitted], Sequence[QueuedMessage]] | None = None,
    ) -> Submitted:
        """Store a new request, numbered and routed, with its ``receipt`` (what the submitter
        is told: "received, your number is …") queued for the submitter in the same
        transaction, and any other ``notices`` it calls for (the admins told that it looks
        like a known systemic issue). ``from_draft``: the submitter's intake draft is used up
        in it too."""
        if not actor.speaks_for(new.enterprise_id):
            raise NotFound(new.enterprise_id)
        # As read when the actor was identified (this update): not read again.
        enterprise = actor.enterprise(new.enterprise_id)
        assert enterprise is not None
        now = self.clock.now()
        found = await route(
            enterprise, new.category, officials=self.officials, rules=self.settings.routing.rules
        )
        due = due_dates(
            self.settings.deadlines,
            self.calendar,
            category=new.category,
            urgent=new.urgent,
            start=now,
        )
        if from_draft:
            self._drafts.forget(new.submitted_by)  # used up in the transaction below
        async with self._uow.transaction() as tx:
            request = await self.repo.insert(
                tx,
                new,
                day=now.astimezone(self.settings.locale.tz).strftime("%Y%m%d"),
                official_id=None if found.official is None else found.official.id,
                due=(due.acknowledge, due.resolve),
                route_note=found.reason,
                now=now,
                drop_draft=from_draft,
            )
            # The holder the router read (before the transaction) is who the card goes to.
            known = NOTHING_KNOWN if found.official is None else _official_known(found.official)
            queued = await self._follow_change(
                tx, Change(None, request, None, "", now, known=known)
            )
            if receipt is not None:
                text = receipt(Submitted(request, found))
                queued += await queue_receipt(tx, actor.telegram_id, text, now=now)
            if notices is not None:
                others = list(notices(Submitted(request, found)))
                await enqueue(tx, others, now=now)
                queued += len(others)
        self._committed(queued)
        return Submitted(request, found)

    # -- reading ----------------------------------------------------------------------------

    async def find(
        self, actor: Actor, *, request_id: int | None = None, number: str = ""
    ) -> Request:
        """The request if ``actor`` may see it (owner, holder or admin); NotFound otherwise."""
        if request_id is not None:
            request = await self.repo.get(request_id)
        else:
            request = await self.repo.by_number(number.strip().upper())
        if request is None or not parties(actor, request):
            raise NotFound(request_id or number)
        return request

    async def thread(self, actor: Actor, request_id: int, *, page: int) -> Thread:
        """A page of the request's thread for ``actor``, who may see it (NotFound as
        :meth:`find`); internal notes only for the holder and admins."""
        request = await self.find(actor, request_id=request_id)
        size = self.settings.requests.thread_page_size
        notes = reads_notes(parties(actor, request))
        found = await self.repo.messages_page(
            request.id, internal=notes, limit=size, offset=page * size
        )
        return Thread(request, found.items, found.total, page, page * size + 1)

    def actions(self, actor: Actor, request: Request) -> list[Action]:
        return allowed(request.status, parties(actor, request))

    # -- acting -----------------------------------------------------------------------------

    async def act(
        self,
        actor: Actor,
        request_id: int,
        action: Action,
        *,
        note: str = "",
        official_id: int | None = None,
        post: NewMessage | None = None,
        receipt: ReceiptText | None = None,
    ) -> Request:
        """Perform ``action`` as ``actor``; NotFound, NotPermitted, IllegalTransition,
        NoteMissing or Stale.
        ``post`` (the actor's words for the thread) and the actor's ``receipt`` are stored in
        the same transaction."""
        request = await self.find(actor, request_id=request_id)
        return await self.transition(
            request,
            action,
            parties=parties(actor, request),
            actor_id=actor.telegram_id,
            note=note,
            official_id=official_id,
            post=post,
            receipt=receipt,
        )

    async def transition(
        self,
        request: Request,
        action: Action,
        *,
        parties: frozenset[Party],
        actor_id: int | None,
        note: str = "",
        official_id: int | None = None,
        post: NewMessage | None = None,
        receipt: ReceiptText | None = None,
    ) -> Request:
        """THE way a request changes status: checked (a note where the rule needs one),
        stored with its history (and a ``receipt`` for ``actor_id``), hooks run."""
        target = check(request.status, action, parties)
        check_note(action, request.status, note)
        now = self.clock.now()
        changes = self._changes(request, action, target, now, official_id)
        try:
            async with self._uow.transaction() as tx:
                if post is not None:  # the message and the change in one round trip
                    _, changed = await self.repo.post_in(
                        tx, request, post, target, changes=changes, now=now, note=note
                    )
                else:
                    changed = await self.repo.transition_in(
                        tx, request, target, actor_id=actor_id, note=note, changes=changes, now=now
                    )
                if changed is None:
                    raise _Lost
                queued = await self._follow_change(tx, Change(request, changed, action, note, now))
                if receipt is not None and actor_id is not None:
                    queued += await queue_receipt(tx, actor_id, receipt(changed), now=now)
        except _Lost:
            raise await self._stale(request) from None
        self._committed(queued)
        return changed

    def _changes(
        self,
        request: Request,
        action: Action,
        target: Status,
        now: datetime,
        official_id: int | None,
    ) -> dict[str, Any]:
        changes: dict[str, Any] = {}
        at = to_epoch(now)
        if request.status is Status.WAITING and target is not Status.WAITING:
            changes.update(self._resume(request, now))
        if action is Action.ASSIGN:
            if official_id is None:
                raise ValueError("assigning needs an official")
            changes["official_id"] = official_id
        elif action is Action.RETURN:
            changes["official_id"] = None
        elif action in (Action.ACKNOWLEDGE, Action.START) and request.acknowledged_at is None:
            changes["acknowledged_at"] = at
        elif action is Action.ASK_INFO:
            changes["waiting_since"] = at
        elif action is Action.RESOLVE:
            changes["resolved_at"] = at
        elif action is Action.CONFIRM:
            changes.update(closed_at=at, outcome="solved")
        elif action is Action.REJECT:
            changes.update(outcome="not_solved", flagged=1)
        elif action is Action.AUTO_CLOSE:
            changes.update(closed_at=at, auto_closed=1)
        if target in FINAL and "closed_at" not in changes:
            changes["closed_at"] = at
        return changes

    def _resume(self, request: Request, now: datetime) -> dict[str, Any]:
        """The deadline clock runs again: both due dates move by the working days paused."""
        changes: dict[str, Any] = {"waiting_since": None}
        if request.waiting_since is None:
            return changes
        paused = paused_workdays(self.calendar, request.waiting_since, now)
        for column in ("acknowledge_due_at", "resolve_due_at"):
            due = getattr(request, column)
            if due is not None:
                changes[column] = to_epoch(extend(self.calendar, due, paused))
        return changes

    async def _follow_change(self, tx: Transaction, change: Change) -> int:
        """What every change writes with it, in its transaction: the request's reminders
        re-planned, then the notices it causes; how many messages were queued."""
        # change.after is the row the change's own statement returned: not read again.
        await self.planner.replan(tx, change.after.id, current=change.after)
        return await self.notifier.queue_change(tx, change)

    async def _stale(self, request: Request) -> Stale:
        current = await self.repo.get(request.id)
        return Stale(current.status if current is not None else request.status)

    def _committed(self, queued: int) -> None:
        """Something was queued and committed: delivery goes now, not at the next wake-up."""
        if queued:
            self.wake()

    # -- the thread ---------------------------------------------------------------------------

    async def post(
        self,
        actor: Actor,
        request_id: int,
        *,
        text: str,
        attachment: Attachment | None = None,
        internal: bool = False,
        receipt: ReceiptText | None = None,
    ) -> tuple[Request, Message]:
        """Add a message to the thread (or an internal note); the status follows:
        an official's first answer starts the work, the enterprise's answer ends a wait.
        The message, the change of status (with its reminders and notices), its delivery to
        the other side and the writer's ``receipt`` ("sent") are stored together or not at all."""
        # An official's message goes to the enterprise's contacts: read beside the request,
        # not after it (on a server, one round trip less before the transaction); used only
        # once ``find`` has found the request the official's to write on.
        request, contacts = await asyncio.gather(
            self.find(actor, request_id=request_id),
            self._official_recipients(actor, request_id, internal=internal),
        )
        who = parties(actor, request)
        role = _sender_role(who, request.status, internal=internal)
        if request.status in FINAL and not internal:
            raise TransitionRefused("final", request.status)
        post = NewMessage(actor.telegram_id, role, text, attachment, internal)
        now = self.clock.now()
        follow = _follow_up(request.status, role, internal=internal)
        target = None if follow is None else check(request.status, follow, who)
        known = NOTHING_KNOWN if internal else await self._recipients(request, role, contacts)
        try:
            async with self._uow.transaction() as tx:
                after, queued = request, 0
                if follow is None or target is None:
                    message = await self.repo.add_message_in(tx, request.id, post, now=now)
                else:
                    changes = self._changes(request, follow, target, now, None)
                    # The message and the change of status in one round trip.
                    message, changed = await self.repo.post_in(
                        tx, request, post, target, changes=changes, now=now
                    )
                    if changed is None:
                        raise _Lost
                    after = changed
                    change = Change(request, after, follow, "", now, known=known)
                    queued += await self._follow_change(tx, change)
                posted = Posted(after, post, actor, now, known=known)
                queued += await self.notifier.queue_posted(tx, posted)
                if receipt is not None:
                    text = receipt(after)
                    queued += await queue_receipt(tx, actor.telegram_id, text, now=now)
        except _Lost:
            raise await self._stale(request) from None
        self._committed(queued)
        return after, message

    async def _official_recipients(
        self, actor: Actor, request_id: int, *, internal: bool
    ) -> list[Contact] | None:
        """The contacts an official's message on the request would go to; None for anyone
        else's, or an internal note (which goes to nobody)."""
        if internal or actor.official is None:
            return None
        return await self.enterprises.contacts_of_request(request_id)

    async def _recipients(
        self, request: Request, role: str, contacts: list[Contact] | None
    ) -> Known:
        """Who a thread message from ``role`` goes to, read before its transaction: the
        enterprise's ``contacts`` (read beside the request) for the official's, the holder
        for the enterprise's."""
        if role == "official":
            # Only the request's holder writes as its official: an official, whose
            # recipients :meth:`_official_recipients` has read.
            assert contacts is not None
            return Known(contacts={request.enterprise_id: contacts})
        if request.official_id is None:
            return NOTHING_KNOWN
        official = await self.officials.get(request.official_id)
        return Known(officials={request.official_id: official})

    async def rate(
        self,
        actor: Actor,
        request_id: int,
        *,
        rating: int | None,
        comment: str | None,
        receipt: str | None = None,
    ) -> Request:
        """The enterprise rates the handling: only once the request is closed as solved (销号),
        not when it says "not solved" and the request is reopened. The ``receipt`` (for a
        comment) is queued in the same transaction."""
        request = await self.find(actor, request_id=request_id)
        if Party.OWNER not in parties(actor, request) or request.outcome is None:
            raise TransitionRefused("forbidden", request.status)
        if request.status is not Status.CLOSED:
            raise TransitionRefused("not_closed", request.status)
        now = self.clock.now()
        async with self._uow.transaction() as tx:
            await self.repo.rate_in(tx, request.id, rating=rating, comment=comment)
            queued = 0
            if receipt is not None:
                queued += await queue_receipt(tx, actor.telegram_id, receipt, now=now)
        self._committed(queued)
        return request


def _official_known(official: Official) -> Known:
    return Known(officials={official.id: official})


def _sender_role(who: frozenset[Party], status: Status, *, internal: bool) -> str:
    """Who the message is from; internal notes are for officials and admins only."""
    if internal:
        if not reads_notes(who):
            raise TransitionRefused("forbidden", status)
        return "official" if Party.HOLDER in who else "admin"
    if Party.HOLDER in who:
        return "official"
    if Party.OWNER in who:
        return "enterprise"
    # Admins write internal notes; the thread is between the official and the enterprise.
    raise TransitionRefused("forbidden", status)


def _follow_up(status: Status, role: str, *, internal: bool) -> Action | None:
    if internal:
        return None
    if role == "official" and status in (Status.ASSIGNED, Status.ACKNOWLEDGED, Status.REOPENED):
        return Action.START
    if role == "enterprise" and status is Status.WAITING:
        return Action.PROVIDE_INFO
    return None
