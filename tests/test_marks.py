"""Telegram's verification mark on officials' accounts, end to end through the stand-in."""

from __future__ import annotations

from datetime import timedelta

import pytest

from bot.clock import FakeClock
from bot.config import Settings
from bot.marks import mark_description
from bot.services import Services
from scenarios.roster import (
    ADMIN_ID,
    OFFICIAL_ID,
    OTHER_OFFICIAL_ID,
    bind_official,
    make_cast,
)
from standin import TelegramStandin
from storage.marks import MarkRepository
from storage.models import Official
from storage.rosters import OfficialRecord, RosterRepository

VICE_GOVERNOR = "辽宁省人民政府 副省长"
NEW_ACCOUNT = 800077


@pytest.fixture
def settings(settings: Settings) -> Settings:
    marks = settings.verification.model_copy(update={"telegram_mark": True})
    return settings.model_copy(update={"verification": marks})


def people(standin: TelegramStandin) -> None:
    for user_id in (OFFICIAL_ID, OTHER_OFFICIAL_ID, NEW_ACCOUNT, ADMIN_ID):
        standin.user(user_id, started=True, language_code="zh-hans")


def admin_texts(standin: TelegramStandin) -> list[str]:
    return [m.text or "" for m in standin.user(ADMIN_ID).messages]


@pytest.mark.usefixtures("bot")
async def test_the_mark_follows_binding_title_and_deactivation(
    standin: TelegramStandin, services: Services, clock: FakeClock
) -> None:
    people(standin)
    standin.allow_verification()
    cast = await make_cast(services)
    await services.alarm.tick()
    assert standin.verification(OFFICIAL_ID) == VICE_GOVERNOR
    assert standin.verification(OTHER_OFFICIAL_ID) == "大连市人民政府 副市长"

    # The official binds a new account: the old one loses the mark, the new one gets it.
    await bind_official(services, cast.official, NEW_ACCOUNT)
    await services.alarm.tick()
    assert standin.verification(OFFICIAL_ID) is None
    assert standin.verification(NEW_ACCOUNT) == VICE_GOVERNOR

    # A roster import changes the title: removed, then set again with the new one.
    before = len(standin.calls)
    async with services.db.transaction() as tx:
        await RosterRepository(services.db).import_officials(
            tx,
            [
                OfficialRecord(
                    "LN-001", "王建国", "常务副省长", "辽宁省人民政府", "province", "", ""
                )
            ],
            now=clock.now(),
        )
    await services.alarm.tick()
    calls = [(c.method, c.params.get("custom_description")) for c in standin.calls[before:]]
    assert [c for c in calls if c[0] != "getUpdates"] == [
        ("removeUserVerification", None),
        ("verifyUser", "辽宁省人民政府 常务副省长"),
    ]
    assert standin.verification(NEW_ACCOUNT) == "辽宁省人民政府 常务副省长"

    # Deactivated: the mark goes. Nothing more to do afterwards: no further calls.
    async with services.db.transaction() as tx:
        await tx.execute("UPDATE officials SET active = 0 WHERE external_id = 'LN-001'")
    await services.alarm.tick()
    assert standin.verification(NEW_ACCOUNT) is None
    before = len(standin.calls_to("verifyUser")) + len(standin.calls_to("removeUserVerification"))
    await services.alarm.tick()
    after = len(standin.calls_to("verifyUser")) + len(standin.calls_to("removeUserVerification"))
    assert after == before
    assert admin_texts(standin) == []


@pytest.mark.usefixtures("bot")
async def test_not_approved_is_reported_once_retried_and_the_bot_works_without_it(
    standin: TelegramStandin, services: Services, clock: FakeClock
) -> None:
    people(standin)
    await make_cast(services)
    await services.alarm.tick()
    assert standin.verification(OFFICIAL_ID) is None
    reports = [t for t in admin_texts(standin) if "认证标记" in t]
    assert len(reports) == 1
    assert "2 个账号" in reports[0] and "王建国" in reports[0] and "李娜" in reports[0]
    assert "BOT_VERIFIER_FORBIDDEN" in reports[0].upper()

    # Before the retry time nothing is called; after it, still refused, but not reported again.
    calls = len(standin.calls_to("verifyUser"))
    await services.alarm.tick()
    assert len(standin.calls_to("verifyUser")) == calls
    clock.advance(timedelta(seconds=services.settings.verification.mark_retry_base_seconds))
    await services.alarm.tick()
    assert len(standin.calls_to("verifyUser")) == calls + 2
    assert len([t for t in admin_texts(standin) if "认证标记" in t]) == 1

    # The bot answers as usual meanwhile.
    official = standin.user(OFFICIAL_ID)
    await official.send("/help")
    assert await official.expect_message()

    # Telegram approves the bot: the next retry sets both marks.
    standin.allow_verification()
    clock.advance(timedelta(hours=services.settings.verification.mark_retry_max_hours))
    await services.alarm.tick()
    assert standin.verification(OFFICIAL_ID) == VICE_GOVERNOR
    assert standin.verification(OTHER_OFFICIAL_ID) == "大连市人民政府 副市长"
    records = await MarkRepository(services.db).records()
    assert {r.telegram_id: r.failure for r in records.values()} == {
        OFFICIAL_ID: None,
        OTHER_OFFICIAL_ID: None,
    }


@pytest.mark.usefixtures("bot")
async def test_an_account_that_does_not_exist_is_reported_and_not_retried(
    standin: TelegramStandin, services: Services, clock: FakeClock
) -> None:
    standin.user(ADMIN_ID, started=True, language_code="zh-hans")
    standin.allow_verification()
    await make_cast(services)  # neither official's account exists on Telegram
    await services.alarm.tick()
    [report] = [t for t in admin_texts(standin) if "认证标记" in t]
    assert "不存在或已注销" in report
    calls = len(standin.calls_to("verifyUser"))
    clock.advance(timedelta(days=2))
    await services.alarm.tick()
    assert len(standin.calls_to("verifyUser")) == calls


@pytest.mark.usefixtures("bot")
async def test_a_call_lost_to_a_crash_is_made_again(
    standin: TelegramStandin, services: Services, clock: FakeClock
) -> None:
    """The wanted mark lives in the roster: a verifyUser that failed (as if the process died
    during it) leaves nothing recorded, and the next tick after the retry time makes it."""
    people(standin)
    standin.allow_verification()
    standin.inject_error("verifyUser", error_code=500, times=2)
    await make_cast(services)
    await services.alarm.tick()
    assert standin.verification(OFFICIAL_ID) is None
    assert [t for t in admin_texts(standin) if "认证标记" in t] == []  # transient: not yet
    clock.advance(timedelta(seconds=services.settings.verification.mark_retry_base_seconds))
    await services.alarm.tick()
    assert standin.verification(OFFICIAL_ID) == VICE_GOVERNOR


def test_a_description_fits_telegrams_70_characters_and_keeps_the_title() -> None:
    def official(body: str, title: str, level: str = "province") -> Official:
        return Official(1, "X", "王", title, body, level, "", "", None, None, None, False, True)

    assert mark_description(official("辽宁省人民政府", "副省长")) == VICE_GOVERNOR
    assert mark_description(official("", "副市长", "city")) == "市级 副市长"
    long = mark_description(official("长" * 80, "副省长"))
    assert len(long) == 70 and long.endswith("… 副省长")
