"""Systemic issues (系统性问题), the requests linked to them, and what admins did to each.

Every change bumps the issue's ``version``; a change decided on an issue as read is written
only if the version is still the same (``UPDATE … WHERE id = ? AND version = ?``), so a
resolution reaches exactly the requests that were linked when the admin decided it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from bot.clock import to_epoch
from bot.lifecycle import FINAL, Status
from storage.db import Database, Transaction
from storage.dialect import SQL
from storage.rows import row_to, rows_to
from storage.scope import EVERYWHERE, Scope


class IssueChanged(Exception):
    """The issue changed (or was resolved) since it was read; nothing was written."""


class IssueStatus(StrEnum):
    OPEN = "open"
    IN_PROGRESS = "in_progress"
    RESOLVED = "resolved"


_COLUMNS = (
    "i.id, i.title, i.status, i.created_by, i.created_at, i.resolved_at, i.version, i.office,"
    " (SELECT COUNT(*) FROM requests r WHERE r.systemic_issue_id = i.id) AS linked,"
    " (SELECT COUNT(DISTINCT r.enterprise_id) FROM requests r"
    "  WHERE r.systemic_issue_id = i.id) AS enterprises"
)
_OPEN_REQUESTS = ",".join(f"'{s.value}'" for s in Status if s not in FINAL)
# How much of a request's description takes part in matching: the start says what it is about.
MATCHED_DESCRIPTION = 600


@dataclass(frozen=True, slots=True)
class Issue:
    id: int
    title: str
    status: IssueStatus
    created_by: int
    created_at: datetime
    resolved_at: datetime | None
    version: int
    linked: int
    enterprises: int
    office: str = "province"  # the office that opened it (issue 18)


@dataclass(frozen=True, slots=True)
class LinkedRequest:
    id: int
    number: str
    enterprise_id: int
    enterprise: str
    summary: str
    status: Status
    systemic_issue_id: int | None
    city: str = ""  # the enterprise's


@dataclass(frozen=True, slots=True)
class IssueEvent:
    at: datetime
    actor_id: int | None
    kind: str
    detail: str
    request_number: str | None


@dataclass(frozen=True, slots=True)
class Page:
    items: list[Issue]
    total: int


_LINKED_COLUMNS = (
    "r.id, r.number, r.enterprise_id, e.name AS enterprise, r.summary, r.status,"
    " r.systemic_issue_id, e.city"
    " FROM requests r JOIN enterprises e ON e.id = r.enterprise_id"
)


class SystemicIssueRepository:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def insert(
        self, tx: Transaction, title: str, *, actor_id: int, now: datetime, office: str
    ) -> int:
        """A new open issue of ``office`` in ``tx``, with its first event; its id."""
        at = to_epoch(now)
        cursor = await tx.execute(
            "INSERT INTO systemic_issues (title, status, created_by, created_at, updated_at,"
            " office) VALUES (?, 'open', ?, ?, ?, ?) RETURNING id",
            (title, actor_id, at, at, office),
        )
        row = await cursor.fetchone()
        assert row is not None
        await _event(tx, row[0], at, actor_id, "created", title)
        return int(row[0])

    async def get(self, issue_id: int) -> Issue | None:
        row = await self._db.fetch_one(
            f"SELECT {_COLUMNS} FROM systemic_issues i WHERE i.id = ?", (issue_id,)
        )
        return None if row is None else row_to(Issue, row)

    async def page(
        self,
        statuses: tuple[IssueStatus, ...],
        *,
        limit: int,
        offset: int,
        scope: Scope = EVERYWHERE,
    ) -> Page:
        """Issues in ``statuses`` (a city office's own), the most recently changed first."""
        marks = ",".join("?" * len(statuses))
        clause, office = scope.where("i.office")
        total = await self._db.fetch_value(
            f"SELECT COUNT(*) FROM systemic_issues i WHERE i.status IN ({marks}){clause}",
            (*statuses, *office),
        )
        rows = await self._db.fetch_all(
            f"SELECT {_COLUMNS} FROM systemic_issues i WHERE i.status IN ({marks}){clause}"
            " ORDER BY COALESCE(i.updated_at, i.created_at) DESC, i.id DESC LIMIT ? OFFSET ?",
            (*statuses, *office, limit, offset),
        )
        return Page(rows_to(Issue, rows), int(total))

    async def linked(self, issue_id: int) -> list[LinkedRequest]:
        rows = await self._db.fetch_all(
            f"SELECT {_LINKED_COLUMNS} WHERE r.systemic_issue_id = ? ORDER BY r.id", (issue_id,)
        )
        return rows_to(LinkedRequest, rows)

    async def request(self, request_id: int) -> LinkedRequest | None:
        row = await self._db.fetch_one(f"SELECT {_LINKED_COLUMNS} WHERE r.id = ?", (request_id,))
        return None if row is None else row_to(LinkedRequest, row)

    async def events(self, issue_id: int, *, limit: int) -> list[IssueEvent]:
        """The latest ``limit`` events, oldest first."""
        rows = await self._db.fetch_all(
            "SELECT * FROM (SELECT ev.id, ev.at, ev.actor_id, ev.kind, ev.detail,"
            " r.number AS request_number"
            " FROM systemic_issue_events ev LEFT JOIN requests r ON r.id = ev.request_id"
            " WHERE ev.issue_id = ? ORDER BY ev.id DESC LIMIT ?) AS newest ORDER BY id",
            (issue_id, limit),
        )
        return rows_to(IssueEvent, rows)

    async def last_note(self, issue_id: int) -> str:
        value = await self._db.fetch_value(
            "SELECT detail FROM systemic_issue_events WHERE issue_id = ? AND kind = 'note'"
            " ORDER BY id DESC LIMIT 1",
            (issue_id,),
        )
        return "" if value is None else str(value)

    async def add_note(
        self, tx: Transaction, issue_id: int, text: str, *, actor_id: int, now: datetime
    ) -> None:
        await _event(tx, issue_id, to_epoch(now), actor_id, "note", text)

    async def link(
        self, tx: Transaction, issue: Issue, request_id: int, *, actor_id: int, now: datetime
    ) -> int | None:
        """Link the request to ``issue`` (as read) in ``tx``; it leaves the issue it was in,
        whose id is returned (None if it was in none). IssueChanged if ``issue`` changed."""
        at = to_epoch(now)
        await _bump(tx, issue, at)
        cursor = await tx.execute(
            "SELECT systemic_issue_id FROM requests WHERE id = ?", (request_id,)
        )
        row = await cursor.fetchone()
        previous: int | None = None if row is None else row[0]
        if previous is not None:
            await tx.execute(
                "UPDATE systemic_issues SET version = version + 1, updated_at = ? WHERE id = ?",
                (at, previous),
            )
            await _event(tx, previous, at, actor_id, "unlink", "", request_id)
        await tx.execute(
            "UPDATE requests SET systemic_issue_id = ? WHERE id = ?", (issue.id, request_id)
        )
        await _event(tx, issue.id, at, actor_id, "link", "", request_id)
        return previous

    async def unlink(
        self, tx: Transaction, issue: Issue, request_id: int, *, actor_id: int, now: datetime
    ) -> None:
        """Take the request out of ``issue`` in ``tx``; IssueChanged if ``issue`` changed,
        NotLinked if the request was not in it (the caller rolls back: the issue was bumped)."""
        at = to_epoch(now)
        await _bump(tx, issue, at)
        cursor = await tx.execute(
            "UPDATE requests SET systemic_issue_id = NULL WHERE id = ? AND systemic_issue_id = ?",
            (request_id, issue.id),
        )
        if cursor.rowcount != 1:
            raise NotLinked(request_id)
        await _event(tx, issue.id, at, actor_id, "unlink", "", request_id)

    async def set_status(
        self, tx: Transaction, issue: Issue, to: IssueStatus, *, actor_id: int, now: datetime
    ) -> None:
        """Move ``issue`` (as read) to ``to`` in ``tx``; IssueChanged if it changed meanwhile."""
        at = to_epoch(now)
        cursor = await tx.execute(
            "UPDATE systemic_issues SET status = ?, version = version + 1, updated_at = ?,"
            " resolved_at = CASE WHEN ? = 'resolved' THEN ? ELSE resolved_at END"
            " WHERE id = ? AND version = ?",
            (to, at, to, at, issue.id, issue.version),
        )
        if cursor.rowcount != 1:
            raise IssueChanged(issue.id)
        await _event(tx, issue.id, at, actor_id, "status", f"{issue.status}>{to}")

    async def recipients(self, issue_id: int) -> dict[int, list[str]]:
        """Each Telegram user who speaks for an enterprise with a request in the issue, and the
        numbers of those requests."""
        rows = await self._db.fetch_all(
            "SELECT c.telegram_id, r.number FROM requests r"
            " JOIN enterprise_contacts c ON c.enterprise_id = r.enterprise_id"
            " WHERE r.systemic_issue_id = ? AND c.telegram_id IS NOT NULL"
            " ORDER BY c.telegram_id, r.number",
            (issue_id,),
        )
        found: dict[int, list[str]] = {}
        for row in rows:
            found.setdefault(row[0], []).append(row[1])
        return found

    async def matchable_issues(self) -> list[tuple[Issue, str]]:
        """Issues not yet resolved, each with the text it is matched by: its title and the
        summaries of its requests."""
        rows = await self._db.fetch_report(
            f"SELECT {_COLUMNS}, i.title || ' ' || COALESCE((SELECT"
            f" {SQL[self._db.dialect].joined('r.summary', ' ')} FROM requests r"
            "  WHERE r.systemic_issue_id = i.id), '') AS text"
            " FROM systemic_issues i WHERE i.status != 'resolved' ORDER BY i.id",
        )
        return [(row_to(Issue, row), row["text"]) for row in rows]

    async def matchable_requests(
        self, *, limit: int, exclude: int | None, scope: Scope = EVERYWHERE
    ) -> list[tuple[LinkedRequest, str]]:
        """The newest ``limit`` open requests (a city office's: of its enterprises), each with
        its summary and description."""
        clause, city = scope.where("e.city")
        rows = await self._db.fetch_report(
            f"SELECT {_LINKED_COLUMNS.replace(' FROM', ', r.description FROM', 1)}"
            f" WHERE r.status IN ({_OPEN_REQUESTS}) AND r.id != ?{clause}"
            " ORDER BY r.created_at DESC, r.id DESC LIMIT ?",
            (exclude or 0, *city, limit),
        )
        return [
            (
                row_to(LinkedRequest, row),
                f"{row['summary']} {row['description'][:MATCHED_DESCRIPTION]}",
            )
            for row in rows
        ]


class NotLinked(Exception):
    """The request is not in the issue: roll the transaction back."""


async def _bump(tx: Transaction, issue: Issue, at: int) -> None:
    """A new version of an issue that is unchanged since read and not resolved."""
    cursor = await tx.execute(
        "UPDATE systemic_issues SET version = version + 1, updated_at = ?"
        " WHERE id = ? AND version = ? AND status != 'resolved'",
        (at, issue.id, issue.version),
    )
    if cursor.rowcount != 1:
        raise IssueChanged(issue.id)


async def _event(
    tx: Transaction,
    issue_id: int,
    at: int,
    actor_id: int | None,
    kind: str,
    detail: str,
    request_id: int | None = None,
) -> None:
    """The issue's own log, and the same deed in the audit log (what /audit shows of a user)."""
    await tx.execute(
        "INSERT INTO systemic_issue_events (issue_id, at, actor_id, kind, detail, request_id)"
        " VALUES (?, ?, ?, ?, ?, ?)",
        (issue_id, at, actor_id, kind, detail, request_id),
    )
    await tx.execute(
        "INSERT INTO audit_log (at, actor_id, action, subject, result, detail)"
        " VALUES (?, ?, ?, '#' || ? || COALESCE(' ' || (SELECT number FROM requests"
        " WHERE id = ?), ''), 'ok', ?)",
        (at, actor_id, f"systemic_issue.{kind}", issue_id, request_id, detail),
    )
