"""Helpers for reminder tests: a recording sender at the transport boundary, test requests."""

from __future__ import annotations

import itertools
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from bot.clock import FakeClock
from bot.config import Settings
from bot.outbox import DeliveryError
from bot.reminders import replan
from bot.services import Services
from storage.reminders import add_request, move_request, set_deadlines
from tests.roster import ADMIN_ID

_numbers = itertools.count(1)


class RecordingSender:
    """Stands in for Telegram: records what was sent; fails on demand per chat."""

    def __init__(self) -> None:
        self.sent: list[tuple[int, str]] = []
        self.failures: dict[int, list[Callable[[], DeliveryError]]] = {}

    def fail(self, chat_id: int, *errors: Callable[[], DeliveryError]) -> None:
        self.failures.setdefault(chat_id, []).extend(errors)

    async def send(self, chat_id: int, text: str) -> None:
        pending = self.failures.get(chat_id)
        if pending:
            raise pending.pop(0)()
        self.sent.append((chat_id, text))

    def to(self, chat_id: int) -> list[str]:
        return [text for chat, text in self.sent if chat == chat_id]


def domain_settings(tmp_path: Path, **sections: Any) -> Settings:
    return Settings.model_validate(
        {
            "storage": {"path": str(tmp_path / "bot.sqlite3")},
            "admins": {"telegram_ids": [ADMIN_ID]},
            "security": {"hash_key": "test-hash-key"},
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


def deadline(services: Services, start: datetime, days: int) -> datetime:
    """Same clock time ``days`` working days later (how the tests set deadlines)."""
    calendar = services.calendar
    local = calendar.local(start)
    return calendar.at(calendar.add_workdays(local.date(), days), local.time())


async def new_request(
    services: Services,
    *,
    enterprise_id: int,
    official_id: int | None,
    submitted_by: int,
    ack_days: int = 1,
    resolve_days: int = 15,
    urgent: bool = False,
    category: str = "policy",
) -> int:
    """A request just assigned to the official, with its deadlines, reminders planned."""
    now = services.clock.now()
    request_id = await add_request(
        services.db,
        number=f"LN-{services.calendar.local(now):%Y%m%d}-{next(_numbers):04d}",
        enterprise_id=enterprise_id,
        submitted_by=submitted_by,
        category=category,
        summary="厂区用电增容审批 <加急>",
        official_id=official_id,
        now=now,
        acknowledge_due_at=deadline(services, now, ack_days),
        resolve_due_at=deadline(services, now, resolve_days),
        urgent=urgent,
    )
    await replan(services, request_id)
    return request_id


async def move(services: Services, request_id: int, frm: tuple[str, ...], to: str) -> None:
    assert await move_request(
        services.db, request_id, expected=frm, to_status=to, now=services.clock.now()
    )
    await replan(services, request_id)


async def set_resolve_due(services: Services, request_id: int, due: datetime) -> None:
    """What the lifecycle does when the request is acknowledged (deadline from that moment)."""
    await set_deadlines(services.db, request_id, resolve_due_at=due)
    await replan(services, request_id)


def at(clock: FakeClock, moment: datetime) -> None:
    clock.set(moment)


HOUR = timedelta(hours=1)
