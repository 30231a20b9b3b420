"""Fictional people and enterprises for tests and benchmarks, made by the real repositories."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from bot.services import Services
from storage.models import Enterprise, InviteKind, Official, Stage

ADMIN_ID = 900001
# An admin of the Dalian office (issue 18), appointed by :func:`appoint_admin`.
DALIAN_ADMIN_ID = 900101
OFFICIAL_ID = 800001
OTHER_OFFICIAL_ID = 800002
ALICE_ID = 700001
BOB_ID = 700002

# Valid unified social credit codes (GB 32100-2015 check characters).
ALICE_CODE = "91210100MA0QC0QX3P"
BOB_CODE = "91210200MA0TG5U81A"


@dataclass(frozen=True)
class Cast:
    official: Official
    other_official: Official
    alice_enterprise: Enterprise
    bob_enterprise: Enterprise


async def bind_official(services: Services, official: Official, telegram_id: int) -> None:
    now = services.clock.now()
    await services.accounts.seen(
        telegram_id, first_name=official.name, username=None, telegram_language="zh-hans", now=now
    )
    invite = await services.invites.issue(
        kind=InviteKind.OFFICIAL,
        official_id=official.id,
        now=now,
        ttl=timedelta(hours=1),
    )
    await services.invites.redeem(invite.token, telegram_id=telegram_id, name="", now=now)


async def appoint_admin(services: Services, telegram_id: int, office: str) -> None:
    """Make ``telegram_id`` an admin of ``office`` the way the bot does: a one-time link
    (issued at the command line) that they open."""
    now = services.clock.now()
    await services.accounts.seen(
        telegram_id, first_name="admin", username=None, telegram_language="zh-hans", now=now
    )
    issued = await services.offices.invite(
        office, by=None, by_office=None, now=now, ttl=timedelta(hours=1)
    )
    await services.invites.redeem(issued.token, telegram_id=telegram_id, name="", now=now)


async def add_contact(services: Services, enterprise: Enterprise, telegram_id: int) -> None:
    now = services.clock.now()
    await services.accounts.seen(
        telegram_id, first_name="contact", username=None, telegram_language="zh-hans", now=now
    )
    await services.directory.add_contact(
        enterprise.id, name="contact", telegram_id=telegram_id, now=now
    )


async def make_cast(services: Services) -> Cast:
    """Vice-governor 王建国 designated for Alice's firm; 李娜 for Bob's; both bound."""
    now = services.clock.now()
    official = await services.directory.add_official(
        external_id="LN-001",
        name="王建国",
        title="副省长",
        body="辽宁省人民政府",
        level="province",
        city="shenyang",
        responsibilities="营商环境、工业和信息化",
        now=now,
    )
    other = await services.directory.add_official(
        external_id="DL-002",
        name="李娜",
        title="副市长",
        body="大连市人民政府",
        level="city",
        city="dalian",
        responsibilities="科技、知识产权",
        now=now,
    )
    alice_ent = await services.directory.add_enterprise(
        name="沈阳北方精密机械有限公司",
        credit_code=ALICE_CODE,
        city="shenyang",
        stage=Stage.GROWTH,
        industry="装备制造",
        now=now,
    )
    bob_ent = await services.directory.add_enterprise(
        name="大连海湾新材料科技有限公司",
        credit_code=BOB_CODE,
        city="dalian",
        stage=Stage.STARTUP,
        industry="新材料",
        now=now,
    )
    await services.directory.assign(official.id, alice_ent.id, now=now)
    await services.directory.assign(other.id, bob_ent.id, now=now)
    await bind_official(services, official, OFFICIAL_ID)
    await bind_official(services, other, OTHER_OFFICIAL_ID)
    await add_contact(services, alice_ent, ALICE_ID)
    await add_contact(services, bob_ent, BOB_ID)
    return Cast(official, other, alice_ent, bob_ent)
