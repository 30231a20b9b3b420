"""Who a user is, read in one statement (storage/identities.py, bot.roles.identify): the same
office, official and enterprises as the three reads it replaced, on either backend."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.clock import FakeClock
from bot.credit_code import make_credit_code
from bot.offices import PROVINCE
from bot.services import Services
from scenarios.roster import (
    ADMIN_ID,
    ALICE_ID,
    BOB_ID,
    DALIAN_ADMIN_ID,
    OFFICIAL_ID,
    add_contact,
    appoint_admin,
    make_cast,
)
from storage.models import EnterpriseStatus, Stage
from tests.reminder_support import domain_settings, open_domain

pytestmark = pytest.mark.storage

GUEST_ID = 900999


@pytest.fixture
async def domain(tmp_path: Path, clock: FakeClock) -> AsyncIterator[Services]:
    services = await open_domain(domain_settings(tmp_path), clock)
    yield services
    await services.close()


async def test_one_read_finds_what_the_three_found(domain: Services) -> None:
    """An official who also speaks for two active enterprises and one rejected one, an
    appointed admin, a bootstrap admin, contacts and a guest."""
    cast = await make_cast(domain)
    now = domain.clock.now()
    for n, status in enumerate((EnterpriseStatus.ACTIVE, EnterpriseStatus.REJECTED)):
        extra = await domain.directory.add_enterprise(
            name=f"企业{n}",
            credit_code=make_credit_code(f"9121020{n:06d}0000"),
            city="dalian",
            stage=Stage.GROWTH,
            status=status,
            now=now,
        )
        await add_contact(domain, extra, OFFICIAL_ID)
    await add_contact(domain, cast.bob_enterprise, OFFICIAL_ID)
    await appoint_admin(domain, DALIAN_ADMIN_ID, "dalian")

    for user in (ADMIN_ID, DALIAN_ADMIN_ID, OFFICIAL_ID, ALICE_ID, BOB_ID, GUEST_ID):
        actor = await domain.actor(user)
        assert actor.office == await domain.offices.office_of(user)
        assert actor.official == await domain.officials.by_telegram_id(user)
        assert list(actor.enterprises) == await domain.enterprises.of_user(user)
    official = await domain.actor(OFFICIAL_ID)
    assert official.official is not None and len(official.enterprises) == 2
    assert (await domain.actor(ADMIN_ID)).office == PROVINCE
    assert (await domain.actor(DALIAN_ADMIN_ID)).office == "dalian"
    assert (await domain.actor(GUEST_ID)).roles == {"guest"}
