"""End to end through the stand-in: the official reminded, the admin and the entrepreneur told."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from bot.clock import FakeClock
from bot.services import Services
from scenarios.roster import ADMIN_ID, ALICE_ID, OFFICIAL_ID, make_cast
from standin import TelegramStandin
from tests.reminder_support import new_request

SH = ZoneInfo("Asia/Shanghai")


async def test_digest_escalation_and_entrepreneur_told(
    standin: TelegramStandin, services: Services, clock: FakeClock
) -> None:
    official = standin.user(OFFICIAL_ID, first_name="王建国", language_code="zh-hans", started=True)
    alice = standin.user(ALICE_ID, first_name="Alice", language_code="zh-hans", started=True)
    admin = standin.user(ADMIN_ID, first_name="Admin", language_code="en", started=True)
    await admin.send("/start")
    await admin.expect_message()
    cast = await make_cast(services)
    request_id = await new_request(
        services,
        enterprise_id=cast.alice_enterprise.id,
        official_id=cast.official.id,
        submitted_by=ALICE_ID,
    )
    clock.set(datetime(2026, 3, 3, 8, 30, tzinfo=SH))
    await services.alarm.tick()
    digest = await official.expect_message()
    assert digest.text is not None and "今日诉求提醒" in digest.text
    assert "厂区用电增容审批 <加急>" in digest.text
    clock.set(datetime(2026, 3, 4, 8, 0, tzinfo=SH))  # missed at midnight, told after quiet hours
    await services.alarm.tick()
    overdue = await official.expect_message()
    assert overdue.text is not None and "已超过受理期限" in overdue.text
    escalation = await admin.expect_message()
    assert escalation.text is not None and escalation.text.startswith("🔔 Escalation: request")
    told = await alice.expect_message()
    assert told.text is not None and "已提交督办" in told.text
    state = await services.reminders.request(request_id)
    assert state is not None and state.escalated_at is not None
    assert standin.errors == []
    await services.alarm.tick()
    await official.expect_no_message(within=0.2)


async def test_blocked_entrepreneur_is_recorded(
    standin: TelegramStandin, services: Services, clock: FakeClock
) -> None:
    standin.user(OFFICIAL_ID, language_code="zh-hans", started=True)
    admin = standin.user(ADMIN_ID, language_code="zh-hans", started=True)
    alice = standin.user(ALICE_ID, language_code="zh-hans", started=True)
    alice.block()
    cast = await make_cast(services)
    await new_request(
        services,
        enterprise_id=cast.alice_enterprise.id,
        official_id=cast.official.id,
        submitted_by=ALICE_ID,
    )
    clock.set(datetime(2026, 3, 4, 8, 0, tzinfo=SH))
    await services.alarm.tick()
    escalation = await admin.expect_message()
    report = await admin.expect_message()
    assert escalation.text is not None and "督办" in escalation.text
    assert report.text is not None and "未能确认送达" in report.text
    [message] = await services.outbox.repository.to_recipient(ALICE_ID)
    assert message.status == "failed"
    user = await services.users.get(ALICE_ID)
    assert user is not None and user.unreachable_at is not None
    assert [call.method for call in standin.errors] == ["sendMessage"]
