"""From a case to a class (不把个案当终点): admins group similar requests from many enterprises
into one systemic issue (系统性问题), follow it to its own resolution, and every enterprise
whose request is in it hears when it is resolved.

Who sees what: only admins create, link, change or read issues. When a request comes in, the
suggestions of similar issues and requests are cut to what the user may see: an entrepreneur
is told about systemic issues only (their titles, written by admins), never about another
enterprise's request; admins get both.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime

from bot.accounts import Accounts
from bot.clock import Clock
from bot.config import SystemicSettings
from bot.i18n import translate
from bot.offices import PROVINCE
from bot.outbox import Outbox
from bot.roles import Actor
from bot.similarity import Scored, rank
from bot.uow import UnitOfWork
from storage.outbox import NewMessage, enqueue
from storage.systemic_issues import (
    Issue,
    IssueChanged,
    IssueEvent,
    IssueStatus,
    LinkedRequest,
    NotLinked,
    Page,
    SystemicIssueRepository,
)

log = logging.getLogger(__name__)

MAX_TITLE = 100
MAX_NOTE = 1000
EVENTS_SHOWN = 10
# A resolution decided on an issue that changed meanwhile is decided again on what it is now.
ATTEMPTS = 3
NOTICE_KIND = "systemic"
# The admins told that a new request looks like an unresolved systemic issue.
MATCH_KIND = "systemic_match"


class IssueRefused(Exception):
    """The action is not taken; ``reason`` is a catalog key suffix (``systemic.refused.*``)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True, slots=True)
class Suggestions:
    issues: list[Scored[Issue]]
    requests: list[Scored[LinkedRequest]]

    def __bool__(self) -> bool:
        return bool(self.issues or self.requests)


@dataclass(frozen=True, slots=True)
class IssueView:
    issue: Issue
    requests: list[LinkedRequest]
    events: list[IssueEvent]


@dataclass
class SystemicDesk:
    repo: SystemicIssueRepository
    outbox: Outbox
    accounts: Accounts
    settings: SystemicSettings
    clock: Clock
    uow: UnitOfWork

    # -- suggestions ------------------------------------------------------------------------

    async def suggest(self, actor: Actor, text: str, *, exclude: int | None = None) -> Suggestions:
        """Unresolved issues like ``text``, and for admins open requests like it too."""
        issues = await self.issues_like(text)
        if not actor.is_admin:
            return Suggestions(issues, [])
        candidates = await self.repo.matchable_requests(
            limit=self.settings.max_candidates, exclude=exclude, scope=actor.scope
        )
        limit, minimum = self.settings.max_suggestions, self.settings.min_similarity
        return Suggestions(issues, rank(text, candidates, limit=limit, minimum=minimum))

    async def issues_like(self, text: str) -> list[Scored[Issue]]:
        """Unresolved issues like ``text``, best first; issue titles are for anyone to see."""
        return rank(
            text,
            await self.repo.matchable_issues(),
            limit=self.settings.max_suggestions,
            minimum=self.settings.min_similarity,
        )

    # -- reading (admins) -----------------------------------------------------------------

    async def page(self, actor: Actor, *, resolved: bool, page: int) -> Page:
        _require_admin(actor)
        statuses = (
            (IssueStatus.RESOLVED,) if resolved else (IssueStatus.OPEN, IssueStatus.IN_PROGRESS)
        )
        size = self.settings.page_size
        return await self.repo.page(
            statuses, limit=size, offset=max(page, 0) * size, scope=actor.scope
        )

    async def view(self, actor: Actor, issue_id: int) -> IssueView:
        issue = await self._issue(actor, issue_id)
        return IssueView(
            issue,
            await self.repo.linked(issue.id),
            await self.repo.events(issue.id, limit=EVENTS_SHOWN),
        )

    async def request(self, actor: Actor, request_id: int) -> LinkedRequest:
        _require_admin(actor)
        found = await self.repo.request(request_id)
        if found is None or not actor.scope.covers(found.city):  # a city admin: their city's
            raise IssueRefused("request_not_found")
        return found

    # -- changing (admins) ----------------------------------------------------------------

    async def create(self, actor: Actor, title: str, *, request_id: int | None = None) -> Issue:
        """A new open issue, with a first request in it when one is given."""
        _require_admin(actor)
        title = " ".join(title.split())
        if not title or len(title) > MAX_TITLE:
            raise IssueRefused("title")
        if request_id is not None:
            await self.request(actor, request_id)
        async with self.uow.transaction() as tx:
            issue_id = await self.repo.insert(
                tx,
                title,
                actor_id=actor.telegram_id,
                now=self.clock.now(),
                office=actor.office or PROVINCE,
            )
        issue = await self._issue(actor, issue_id)
        if request_id is not None:
            issue = await self.link(actor, issue.id, request_id)
        return issue

    async def link(self, actor: Actor, issue_id: int, request_id: int) -> Issue:
        """Put the request in the issue (taking it out of any other)."""
        issue = await self._issue(actor, issue_id)
        request = await self.request(actor, request_id)
        if request.systemic_issue_id == issue.id:
            raise IssueRefused("already_linked")
        self._not_resolved(issue)
        try:
            async with self.uow.transaction() as tx:
                await self.repo.link(
                    tx, issue, request.id, actor_id=actor.telegram_id, now=self.clock.now()
                )
        except IssueChanged:
            raise IssueRefused("changed") from None
        return await self._issue(actor, issue.id)

    async def unlink(self, actor: Actor, issue_id: int, request_id: int) -> Issue:
        issue = await self._issue(actor, issue_id)
        self._not_resolved(issue)
        try:
            async with self.uow.transaction() as tx:
                await self.repo.unlink(
                    tx, issue, request_id, actor_id=actor.telegram_id, now=self.clock.now()
                )
        except IssueChanged:
            raise IssueRefused("changed") from None
        except NotLinked:
            raise IssueRefused("not_linked") from None
        return await self._issue(actor, issue.id)

    async def note(self, actor: Actor, issue_id: int, text: str) -> Issue:
        issue = await self._issue(actor, issue_id)
        text = text.strip()
        if not text or len(text) > MAX_NOTE:
            raise IssueRefused("note")
        async with self.uow.transaction() as tx:
            await self.repo.add_note(
                tx, issue.id, text, actor_id=actor.telegram_id, now=self.clock.now()
            )
        return issue

    async def set_status(
        self, actor: Actor, issue_id: int, status: IssueStatus
    ) -> tuple[Issue, int]:
        """Change the issue's status; resolving it queues a notice to every contact of every
        enterprise with a request in it, in the same transaction (durable, quiet hours kept).
        Returns the issue now and how many notices were queued."""
        for _ in range(ATTEMPTS):
            issue = await self._issue(actor, issue_id)
            if issue.status is status:
                raise IssueRefused("same_status")
            notices = await self._notices(issue) if status is IssueStatus.RESOLVED else []
            now = self.clock.now()
            try:
                async with self.uow.transaction() as tx:
                    await self.repo.set_status(
                        tx, issue, status, actor_id=actor.telegram_id, now=now
                    )
                    await enqueue(tx, notices, now=now)
            except IssueChanged:
                log.info("systemic issue %s changed while its status was set; again", issue.id)
                continue
            return await self._issue(actor, issue.id), len(notices)
        raise IssueRefused("changed")

    # -- helpers ------------------------------------------------------------------------------

    async def _issue(self, actor: Actor, issue_id: int) -> Issue:
        _require_admin(actor)
        issue = await self.repo.get(issue_id)
        # A city admin's issues are their office's; the province's are all of them.
        if issue is None or not actor.scope.covers(issue.office):
            raise IssueRefused("not_found")
        return issue

    def _now(self) -> datetime:
        return self.clock.now()

    @staticmethod
    def _not_resolved(issue: Issue) -> None:
        if issue.status is IssueStatus.RESOLVED:
            raise IssueRefused("resolved")

    async def _notices(self, issue: Issue) -> list[NewMessage]:
        """One message per contact: the issue, their own requests in it, the latest note."""
        now = self.clock.now()
        note = await self.repo.last_note(issue.id)
        messages = []
        for chat_id, numbers in (await self.repo.recipients(issue.id)).items():
            language = await self.accounts.language_of(chat_id)
            text = translate(
                language,
                "systemic.resolved_notice",
                title=issue.title,
                numbers=", ".join(numbers),
                note=note or translate(language, "systemic.no_note"),
            )
            # The version this resolution creates: a later re-resolution notifies again.
            key = f"sys:{issue.id}:{issue.version + 1}:{chat_id}"
            messages.append(self.outbox.message(chat_id, NOTICE_KIND, text, at=now, dedupe_key=key))
        return messages


def _require_admin(actor: Actor) -> None:
    if not actor.is_admin:
        raise IssueRefused("forbidden")
