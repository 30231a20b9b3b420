"""Every action, by every party, from every status, through the desk and the database.

tests/test_lifecycle.py checks the table; this drives each (status, action, party) through
``desk.act`` on a stored request and checks what is stored: a legal move changes the status
and appends exactly one history row (who, from, to, note); a refused one changes nothing.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.clock import FakeClock, to_epoch
from bot.config import Settings
from bot.lifecycle import RULES, Action, Party, Status, TransitionRefused
from bot.requests import NotFound
from bot.services import Services
from scenarios.roster import ADMIN_ID, ALICE_ID, OFFICIAL_ID, Cast, make_cast
from storage.requests import Request
from tests.conftest import START
from tests.postgres import storage_for
from tests.test_requests_domain import new

# Opens the bot's database (tests/postgres.py: on SQLite and on PostgreSQL).
pytestmark = pytest.mark.storage

ACTING = {Party.OWNER: ALICE_ID, Party.HOLDER: OFFICIAL_ID, Party.ADMIN: ADMIN_ID}
UNHELD = {Status.SUBMITTED, Status.RETURNED}  # nobody holds these: the official is no holder
NOTE = "理由：<依据>"


@pytest.fixture
async def desk(tmp_path: Path) -> AsyncIterator[tuple[Services, Cast]]:
    settings = Settings.model_validate(
        {"storage": storage_for(tmp_path, "l.sqlite3"), "admins": {"telegram_ids": [ADMIN_ID]}}
    )
    services = await Services.open(settings, clock=FakeClock(START))
    try:
        yield services, await make_cast(services)
    finally:
        await services.close()


async def request_in(services: Services, cast: Cast, status: Status) -> Request:
    """A new request of Alice's firm, put straight into ``status`` (held by the official
    wherever the status has a holder)."""
    alice = await services.actor(ALICE_ID)
    request = (await services.desk.submit(alice, new(cast))).request
    now = to_epoch(services.clock.now())
    await services.db.execute(
        "UPDATE requests SET status = ?, official_id = ?, waiting_since = ?, resolved_at = ?"
        " WHERE id = ?",
        (
            status,
            None if status in UNHELD else cast.official.id,
            now if status is Status.WAITING else None,
            now if status is Status.RESOLVED else None,
            request.id,
        ),
    )
    stored = await services.requests.get(request.id)
    assert stored is not None and stored.status is status
    return stored


def legal(status: Status, action: Action, party: Party) -> bool:
    rule = RULES[action]
    is_party = party is not Party.HOLDER or status not in UNHELD
    return is_party and party in rule.parties and status in rule.sources


@pytest.mark.parametrize("status", list(Status))
async def test_every_action_by_every_party_from(
    status: Status, desk: tuple[Services, Cast]
) -> None:
    services, cast = desk
    wrong: list[str] = []
    for action in Action:
        for party, telegram_id in ACTING.items():
            request = await request_in(services, cast, status)
            before = await services.requests.history(request.id)
            actor = await services.actor(telegram_id)
            case = f"{party} {action} from {status}"
            try:
                changed = await services.desk.act(
                    actor, request.id, action, note=NOTE, official_id=cast.other_official.id
                )
            except (TransitionRefused, NotFound):
                after = await services.requests.get(request.id)
                unchanged = after == request
                if legal(status, action, party):
                    wrong.append(f"{case}: refused")
                elif not unchanged:
                    wrong.append(f"{case}: refused but changed")
                elif await services.requests.history(request.id) != before:
                    wrong.append(f"{case}: refused but history grew")
                continue
            if not legal(status, action, party):
                wrong.append(f"{case}: allowed")
                continue
            history = await services.requests.history(request.id)
            added = history[len(before) :]
            expected = (telegram_id, status, RULES[action].target, NOTE)
            if changed.status is not RULES[action].target or [
                (h.actor_id, h.from_status, h.to_status, h.note) for h in added
            ] != [expected]:
                wrong.append(f"{case}: stored {changed.status}, history {added}")
    assert wrong == []
