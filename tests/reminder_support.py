"""Helpers for reminder tests: a recording sender at the transport boundary, test requests."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from bot.clock import FakeClock
from bot.config import Settings
from bot.deadlines import due_dates
from bot.delivery import DeliveryError, Outgoing
from bot.lifecycle import Action, Party
from bot.services import Services
from scenarios.roster import ADMIN_ID
from storage.requests import NewRequest
from tests.postgres import storage_for

EVERYONE = frozenset(Party)
SH = ZoneInfo("Asia/Shanghai")


def local(*args: int) -> datetime:
    """A moment in Shenyang's local time."""
    return datetime(*args, tzinfo=SH)  # type: ignore[misc]


class RecordingSender:
    """Stands in for Telegram: records what was sent; fails on demand per chat."""

    def __init__(self) -> None:
        self.sent: list[tuple[int, str]] = []
        self.cards: dict[int, list[int | None]] = {}
        self.messages: list[Outgoing] = []
        self.failures: dict[int, list[Callable[[], DeliveryError]]] = {}

    def fail(self, chat_id: int, *errors: Callable[[], DeliveryError]) -> None:
        self.failures.setdefault(chat_id, []).extend(errors)

    async def send(self, message: Outgoing) -> None:
        chat_id = message.chat_id
        pending = self.failures.get(chat_id)
        if pending:
            raise pending.pop(0)()
        self.sent.append((chat_id, message.text))
        self.cards.setdefault(chat_id, []).append(message.card)
        self.messages.append(message)

    def to(self, chat_id: int) -> list[str]:
        return [text for chat, text in self.sent if chat == chat_id]


def domain_settings(tmp_path: Path, **sections: Any) -> Settings:
    return Settings.model_validate(
        {
            "storage": storage_for(tmp_path),
            "admins": {"telegram_ids": [ADMIN_ID]},
            "security": {"hash_key": "test-hash-key-of-32-bytes-long!"},
            **sections,
        }
    )


async def open_domain(settings: Settings, clock: FakeClock) -> Services:
    services = await Services.open(settings, clock=clock)
    services.sender = RecordingSender()
    return services


def recorder(services: Services) -> RecordingSender:
    assert isinstance(services.sender, RecordingSender)
    return services.sender


async def new_request(
    services: Services,
    *,
    enterprise_id: int,
    official_id: int | None,
    submitted_by: int,
    urgent: bool = False,
    category: str = "policy",
) -> int:
    """A request stored and routed as intake does (deadlines included), reminders planned."""
    now = services.clock.now()
    due = due_dates(
        services.settings.deadlines,
        services.calendar,
        category=category,
        urgent=urgent,
        start=now,
    )
    new = NewRequest(
        enterprise_id=enterprise_id,
        submitted_by=submitted_by,
        category=category,
        urgent=urgent,
        summary="厂区用电增容审批 <加急>",
        description="",
        details={},
    )
    async with services.db.transaction() as tx:
        request = await services.requests.insert(
            tx,
            new,
            day=services.calendar.local(now).strftime("%Y%m%d"),
            official_id=official_id,
            due=(due.acknowledge, due.resolve),
            route_note="",
            now=now,
        )
    await replan(services, request.id)
    return request.id


async def replan(services: Services, request_id: int) -> None:
    """Make the request's pending reminders match its state (for a request changed here,
    outside the desk)."""
    async with services.db.transaction() as tx:
        await services.planner.replan(tx, request_id)


async def act(services: Services, request_id: int, action: Action, note: str = "") -> None:
    """Move the request through the lifecycle (which re-plans its reminders)."""
    request = await services.requests.get(request_id)
    assert request is not None
    await services.desk.transition(request, action, parties=EVERYONE, actor_id=None, note=note)
