"""Every dialogue survives a restart: writing on a request, a site visit, a registration, the
intake, the impostor report, the announcement composer, the code and number checks.

Each test starts a dialogue, stops the bot and starts a new Application on the same database,
then sends what the step expected, as Telegram would.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from datetime import date, timedelta

import pytest

from bot.clock import FakeClock
from bot.config import Settings
from bot.credit_code import make_credit_code
from bot.lifecycle import Action, Status
from bot.pacing import PacingClock
from bot.services import Services
from runtime.application import BotApplication, build_application, running
from scenarios.roster import ADMIN_ID, ALICE_ID, OFFICIAL_ID, Cast, make_cast
from standin import StoredMessage, TelegramStandin, TestUser
from standin.botapi import ApiCall
from storage.dialogues import DialogueRepository
from storage.models import EnterpriseStatus
from tests.driving import settle
from tests.test_requests_flow import file_request

TOO_MANY_REQUESTS = 429

CAROL_ID = 650001


@asynccontextmanager
async def bot_on(
    settings: Settings, clock: FakeClock, pacing_clock: PacingClock | None = None
) -> AsyncIterator[BotApplication]:
    """One run of the bot; a second one on the same settings is a restart. ``pacing_clock``:
    the clock the stand-in's limits run on, so that the bot paces by the same one."""
    app = build_application(settings, clock=clock, pacing_clock=pacing_clock)
    async with running(app, poll_timeout=1) as app:
        yield app


def errors_but_flood_control(standin: TelegramStandin) -> list[ApiCall]:
    """Calls answered with an error, 429s aside: a restarted bot does not know how much it
    had just sent to a chat, so its first answer there may meet Telegram's flood control
    (and goes out after the wait: the tests see it arrive)."""
    return [call for call in standin.errors if call.status != TOO_MANY_REQUESTS]


@pytest.fixture(autouse=True)
def no_error_but_flood_control(standin: TelegramStandin) -> Iterator[None]:
    """Every test here ends with no call Telegram refused, flood control aside."""
    yield
    assert errors_but_flood_control(standin) == []


def services_of(app: BotApplication) -> Services:
    return app.bot_data.services


async def stored_kinds(services: Services) -> list[str]:
    return [d.kind for d in await DialogueRepository(services.db).all()]


async def nothing_posted_nor_kept(services: Services, request_id: int) -> None:
    assert await services.requests.messages(request_id, internal=True) == []
    assert await stored_kinds(services) == []


async def begin(app: BotApplication, user: TestUser, command: str, prompt: str = "") -> None:
    """The first run: the cast on the roster, then ``user`` starts a dialogue with ``command``
    and is asked its first question (which says ``prompt``)."""
    await make_cast(services_of(app))
    await user.send(command)
    assert prompt in (await user.expect_message()).text


async def dialogue_over(app: BotApplication, user: TestUser) -> None:
    """Nothing kept of the finished dialogue: the user's next text gets the menu, as anyone's."""
    assert await stored_kinds(services_of(app)) == []
    await user.send("再说一句")
    assert "请选择您要做的事" in (await user.expect_message()).text


async def official_presses_reply(
    standin: TelegramStandin, services: Services
) -> tuple[TestUser, int]:
    """The official presses "reply" on a new request's card and is asked for the text."""
    await make_cast(services)
    standin.user(ALICE_ID, first_name="Alice", language_code="zh-hans", started=True)
    official = standin.user(OFFICIAL_ID, first_name="王建国", language_code="zh-hans", started=True)
    request_id = await file_request(services)
    card = await official.expect_message()
    await official.press(card, "💬 回复")
    assert "LN-20260302-0001" in (await official.expect_message()).text
    assert await stored_kinds(services) == ["compose"]
    return official, request_id


async def test_a_reply_begun_before_a_restart_is_posted_after_it(
    standin: TelegramStandin, settings: Settings, clock: FakeClock
) -> None:
    async with bot_on(settings, clock) as app:
        official, request_id = await official_presses_reply(standin, services_of(app))
    clock.advance(timedelta(minutes=30))
    async with bot_on(settings, clock) as app:
        await official.send("已联系欠款单位，本周内答复。")
        assert "已发送到 LN-20260302-0001" in (await official.expect_message()).text
        delivered = await standin.user(ALICE_ID).expect_message()
        assert "已联系欠款单位" in delivered.text and "LN-20260302-0001" in delivered.text
        services = services_of(app)
        thread = await services.requests.messages(request_id, internal=True)
        assert [m.text for m in thread] == ["已联系欠款单位，本周内答复。"]
        await dialogue_over(app, official)
        assert len(await services.requests.messages(request_id, internal=True)) == 1


async def test_a_stale_reply_is_not_posted_and_the_user_is_told_what_to_press(
    standin: TelegramStandin, settings: Settings, clock: FakeClock
) -> None:
    async with bot_on(settings, clock) as app:
        official, request_id = await official_presses_reply(standin, services_of(app))
    clock.advance(timedelta(seconds=settings.requests.conversation_timeout_seconds + 1))
    async with bot_on(settings, clock) as app:
        await official.send("已联系欠款单位，本周内答复。")
        told = (await official.expect_message()).text
        assert "没有记入 LN-20260302-0001" in told and "/open LN-20260302-0001" in told
        await standin.user(ALICE_ID).expect_no_message(within=0.2)
        await nothing_posted_nor_kept(services_of(app), request_id)


async def test_cancel_before_or_after_a_restart_drops_the_reply(
    standin: TelegramStandin, settings: Settings, clock: FakeClock
) -> None:
    async with bot_on(settings, clock) as app:
        official, request_id = await official_presses_reply(standin, services_of(app))
        await official.send("/cancel")
        assert "已取消" in (await official.expect_message()).text
        assert await stored_kinds(services_of(app)) == []
    async with bot_on(settings, clock) as app:
        await official.send("这句不是回复")
        assert "请选择您要做的事" in (await official.expect_message()).text
        await official.press(official.messages[0], "💬 回复")
        await official.expect_message()
    async with bot_on(settings, clock) as app:
        await official.send("/cancel")
        assert "已取消" in (await official.expect_message()).text
        await official.send("这句也不是")
        assert "请选择您要做的事" in (await official.expect_message()).text
        await nothing_posted_nor_kept(services_of(app), request_id)


async def test_a_resumed_reply_on_a_request_that_moved_on_is_refused(
    standin: TelegramStandin, settings: Settings, clock: FakeClock
) -> None:
    async with bot_on(settings, clock) as app:
        official, request_id = await official_presses_reply(standin, services_of(app))
    async with bot_on(settings, clock) as app:
        services = services_of(app)
        alice = await services.actor(ALICE_ID)
        await services.desk.act(alice, request_id, Action.WITHDRAW, note="已自行解决")
        await services.courier.deliver_now()
        assert "企业撤回了诉求" in (await official.expect_message()).text
        await official.send("已联系欠款单位，本周内答复。")
        refused = (await official.expect_message()).text
        assert "已撤回" in refused and "不适用" in refused
        await settle(standin, app)
        await nothing_posted_nor_kept(services, request_id)
        request = await services.requests.get(request_id)
        assert request is not None and request.status is Status.WITHDRAWN


async def official_visiting(
    standin: TelegramStandin, services: Services
) -> tuple[TestUser, Cast, StoredMessage]:
    """The official records a visit to Alice's enterprise and is asked its date."""
    cast = await make_cast(services)
    official = standin.user(OFFICIAL_ID, first_name="王建国", language_code="zh-hans", started=True)
    await official.send("/visit")
    await official.press(await official.expect_message(), "沈阳北方精密机械有限公司")
    when = await official.expect_message()
    assert "走访日期" in when.text
    return official, cast, when


async def test_a_visit_goes_on_at_the_stored_step_after_a_restart(
    standin: TelegramStandin, settings: Settings, clock: FakeClock
) -> None:
    async with bot_on(settings, clock) as app:
        official, cast, when = await official_visiting(standin, services_of(app))
    async with bot_on(settings, clock) as app:
        await official.send("2099-01-01")
        assert "不晚于今天" in (await official.expect_message()).text
        await official.press(when, "昨天")
        assert "走访情况" in (await official.expect_message()).text
    async with bot_on(settings, clock) as app:
        await official.send("企业反映用电紧张。")
        assert "已记录：2026-03-01" in (await official.expect_message()).text
        services = services_of(app)
        visits = await services.visits.of_enterprise(cast.alice_enterprise.id)
        assert [(v.visited_on, v.notes) for v in visits] == [
            (date(2026, 3, 1), "企业反映用电紧张。")
        ]
        assert await stored_kinds(services) == []


async def test_a_registration_goes_on_at_the_stored_step_after_a_restart(
    standin: TelegramStandin, settings: Settings, clock: FakeClock
) -> None:
    carol = standin.user(CAROL_ID, first_name="Carol", language_code="zh-hans", started=True)
    admin = standin.user(ADMIN_ID, first_name="Admin", language_code="zh-hans", started=True)
    code = make_credit_code("91210800MA0YK3L01")
    async with bot_on(settings, clock) as app:
        await make_cast(services_of(app))
        await carol.send("/register")
        await carol.expect_message()
        await carol.send("营口港湾物流有限公司")
        assert "18 位" in (await carol.expect_message()).text
    async with bot_on(settings, clock) as app:
        await carol.send(code)
        cities = await carol.expect_message()
        assert "营口市" in str(cities.reply_markup)
    async with bot_on(settings, clock) as app:
        await carol.press(cities, "营口市")
        await carol.press(await carol.expect_message(), "成熟期")
        await carol.expect_message()
        await carol.send("港口物流")
        summary = await carol.expect_message()
        assert "营口港湾物流有限公司" in summary.text and "营口市" in summary.text
    async with bot_on(settings, clock) as app:
        await carol.press(summary, "✅ 提交审核")
        assert "审核后会通知" in (await carol.expect_message()).text
        services = services_of(app)
        pending = await services.enterprises.by_credit_code(code)
        assert pending is not None and pending.status is EnterpriseStatus.PENDING
        assert (pending.name, pending.city, pending.industry) == (
            "营口港湾物流有限公司",
            "yingkou",
            "港口物流",
        )
        assert await stored_kinds(services) == []
        assert code in (await admin.expect_message()).text


async def test_a_stale_registration_button_says_it_expired(
    standin: TelegramStandin, settings: Settings, clock: FakeClock
) -> None:
    carol = standin.user(CAROL_ID, first_name="Carol", language_code="zh-hans", started=True)
    async with bot_on(settings, clock):
        await carol.send("/register")
        await carol.expect_message()
        await carol.send("营口港湾物流有限公司")
        await carol.expect_message()
        await carol.send(make_credit_code("91210800MA0YK3L01"))
        cities = await carol.expect_message()
    clock.advance(timedelta(hours=2))
    async with bot_on(settings, clock) as app:
        query = await carol.press(cities, "营口市")
        await carol.expect_callback_answer(query)
        told = (await carol.expect_message()).text
        assert "登记已失效" in told and "/register" in told
        assert await stored_kinds(services_of(app)) == []


async def test_a_timed_out_reply_is_dropped_and_not_taken_up_after_a_restart(
    standin: TelegramStandin, settings: Settings, clock: FakeClock
) -> None:
    quick = settings.model_copy(
        update={
            "requests": settings.requests.model_copy(update={"conversation_timeout_seconds": 0.5})
        }
    )
    async with bot_on(quick, clock) as app:
        official, request_id = await official_presses_reply(standin, services_of(app))
        for _ in range(100):  # the conversation's timeout runs on real time
            if not await stored_kinds(services_of(app)):
                break
            await asyncio.sleep(0.05)
        assert services_of(app).dialogues.current(OFFICIAL_ID) is None
    async with bot_on(quick, clock) as app:
        await official.send("超时之后才写的")
        assert "请选择您要做的事" in (await official.expect_message()).text
        await nothing_posted_nor_kept(services_of(app), request_id)


async def alice_describing(standin: TelegramStandin, services: Services) -> TestUser:
    """Alice is at the description step of /new, one message written."""
    await make_cast(services)
    alice = standin.user(ALICE_ID, first_name="Alice", language_code="zh-hans", started=True)
    await alice.send("/new")
    await alice.press(await alice.expect_message(), "政策落实")
    assert "描述" in (await alice.expect_message()).text
    await alice.send("稳岗补贴申报半年未兑现。")
    assert "已记下" in (await alice.expect_message()).text
    return alice


async def draft_waits_for_new(app: BotApplication, alice: TestUser) -> None:
    """The draft holds what was written before the restart only, and /new offers it."""
    draft = await services_of(app).requests.draft(ALICE_ID)
    assert draft is not None and draft["description"] == ["稳岗补贴申报半年未兑现。"]
    await alice.send("/new")
    assert "草稿" in (await alice.expect_message()).text


async def test_an_intake_description_goes_on_after_a_restart(
    standin: TelegramStandin, settings: Settings, clock: FakeClock
) -> None:
    async with bot_on(settings, clock) as app:
        alice = await alice_describing(standin, services_of(app))
    clock.advance(timedelta(minutes=20))
    async with bot_on(settings, clock) as app:
        await alice.send("涉及员工 120 人。")
        added = await alice.expect_message()
        assert "已记下" in added.text
        await alice.send_photo(b"\x89PNG notice", caption="通知")
        assert "已记下" in (await alice.expect_message()).text
        await alice.press(added, "✅ 写完了")
        assert "紧急" in (await alice.expect_message()).text
        draft = await services_of(app).requests.draft(ALICE_ID)
        assert draft is not None
        assert draft["description"] == ["稳岗补贴申报半年未兑现。", "涉及员工 120 人。", "通知"]
        assert len(draft["attachments"]) == 1


async def test_an_intake_left_too_long_before_a_restart_is_not_taken_up_but_kept(
    standin: TelegramStandin, settings: Settings, clock: FakeClock
) -> None:
    async with bot_on(settings, clock) as app:
        alice = await alice_describing(standin, services_of(app))
        timeout = services_of(app).settings.requests.conversation_timeout_seconds
    clock.advance(timedelta(seconds=timeout + 60))
    async with bot_on(settings, clock) as app:
        await alice.send("涉及员工 120 人。")
        assert "草稿" not in (await alice.expect_message()).text  # the menu, as for anyone
        await draft_waits_for_new(app, alice)


# -- a dialogue left for another journey (handlers/journeys.py) ---------------------------------


async def test_a_draft_left_for_another_journey_is_not_taken_up_after_a_restart(
    standin: TelegramStandin, settings: Settings, clock: FakeClock
) -> None:
    async with bot_on(settings, clock) as app:
        alice = await alice_describing(standin, services_of(app))
        await alice.send("/verify")
        assert "核验码" in (await alice.expect_message()).text
    async with bot_on(settings, clock) as app:
        # The code check is the dialogue she is in, after the restart too.
        await alice.send("涉及员工 120 人。")
        assert "位数字" in (await alice.expect_message()).text
        await draft_waits_for_new(app, alice)


async def test_the_question_whether_to_go_on_with_a_draft_outlives_a_restart(
    standin: TelegramStandin, settings: Settings, clock: FakeClock
) -> None:
    async with bot_on(settings, clock) as app:
        alice = await alice_describing(standin, services_of(app))
        await alice.send("/new")
        question = await alice.expect_message()
        assert "草稿" in question.text
    async with bot_on(settings, clock) as app:
        await alice.send("涉及员工 120 人。")
        assert "请点击上面的按钮" in (await alice.expect_message()).text
        await alice.press(question, "继续填写")
        assert "请描述遇到的问题" in (await alice.expect_message()).text
        await alice.send("涉及员工 120 人。")
        assert "已记下" in (await alice.expect_message()).text
        draft = await services_of(app).requests.draft(ALICE_ID)
        assert draft is not None
        assert draft["description"] == ["稳岗补贴申报半年未兑现。", "涉及员工 120 人。"]


async def test_a_visit_left_for_another_journey_is_gone_after_a_restart(
    standin: TelegramStandin, settings: Settings, clock: FakeClock
) -> None:
    async with bot_on(settings, clock) as app:
        official, cast, _ = await official_visiting(standin, services_of(app))
        await official.send("/code")
        await official.expect_message()
        assert await stored_kinds(services_of(app)) == []
    async with bot_on(settings, clock) as app:
        await official.send("2026-03-01")
        assert "请选择您要做的事" in (await official.expect_message()).text
        assert await services_of(app).visits.of_enterprise(cast.alice_enterprise.id) == []


async def test_an_impostor_report_goes_on_at_the_stored_step_after_each_restart(
    standin: TelegramStandin, settings: Settings, clock: FakeClock
) -> None:
    """What the reporter typed (a name, a number) is stored, not kept in user_data."""
    alice = standin.user(ALICE_ID, first_name="Alice", language_code="zh-hans", started=True)
    admin = standin.user(ADMIN_ID, first_name="Admin", language_code="zh-hans", started=True)
    async with bot_on(settings, clock) as app:
        await begin(app, alice, "/report", "对方自称是谁")
        await alice.send("张科长，自称税务局")
        ask = await alice.expect_message()
        assert "什么方式" in ask.text
        assert await stored_kinds(services_of(app)) == ["report"]
    async with bot_on(settings, clock) as app:
        await alice.press(ask, "电话")
        assert "号码或账号" in (await alice.expect_edit(ask)).text
    async with bot_on(settings, clock) as app:
        await alice.send("+86 139 0000 1111")
        question = await alice.expect_message()
        await alice.press(question, "费用或转账")
        assert "简要描述" in (await alice.expect_edit(question)).text
        assert dict(app.user_data.get(ALICE_ID, {})) == {}
    async with bot_on(settings, clock) as app:
        await alice.send("要求先交保证金")
        assert "举报已收到" in (await alice.expect_message()).text
        services = services_of(app)
        stored = await services.db.fetch_one("SELECT * FROM impostor_reports")
        assert stored is not None
        assert (stored["claimed_name"], stored["channel"], stored["contact"]) == (
            "张科长，自称税务局",
            "phone",
            "+86 139 0000 1111",
        )
        assert (stored["asked_for"], stored["details"]) == ("money", "要求先交保证金")
        assert "张科长，自称税务局" in (await admin.expect_message()).text
        await dialogue_over(app, alice)


async def test_the_announcement_composer_goes_on_at_the_stored_step_after_each_restart(
    standin: TelegramStandin, settings: Settings, clock: FakeClock
) -> None:
    """The announcement typed, the values offered and the broadcast being scheduled are
    stored, not kept in user_data."""
    admin = standin.user(ADMIN_ID, first_name="管理员", language_code="zh-hans", started=True)
    async with bot_on(settings, clock) as app:
        await begin(app, admin, "/broadcast", "请发送公告内容")
        assert await stored_kinds(services_of(app)) == ["broadcast"]
    async with bot_on(settings, clock) as app:
        await admin.send("本周五召开政策宣讲会")
        kinds = await admin.expect_message()
    async with bot_on(settings, clock) as app:
        await admin.press(kinds, "按城市")
        cities = await admin.expect_edit(kinds)
        assert dict(app.user_data.get(ADMIN_ID, {})) == {}
    async with bot_on(settings, clock) as app:
        await admin.press(cities, "沈阳市")
        preview = await admin.expect_message()
        assert preview.source is not None and preview.source.startswith("本周五召开政策宣讲会")
        summary = await admin.expect_message()
        assert "接收对象：按城市: 沈阳市" in summary.text
        assert await stored_kinds(services_of(app)) == []
        await admin.press(summary, "🕒 定时发送")
        assert "请输入发送时间" in (await admin.expect_message()).text
    async with bot_on(settings, clock) as app:
        await admin.send("2099-01-01 09:00")
        assert "确认在" in (await admin.expect_message()).text
        services = services_of(app)
        drafts = await services.db.fetch_all("SELECT text_html, scheduled_at FROM broadcasts")
        assert len(drafts) == 1 and drafts[0]["scheduled_at"] is not None
        await dialogue_over(app, admin)


@pytest.mark.parametrize(
    ("user_id", "command", "sent", "told"),
    [
        pytest.param(ALICE_ID, "/report", "张科长", "举报已失效", id="impostor report"),
        pytest.param(
            ADMIN_ID, "/broadcast", "本周五召开政策宣讲会", "公告编辑已失效", id="composer"
        ),
        pytest.param(ALICE_ID, "/verify", "0000 0000", "没有核验", id="code check"),
    ],
)
async def test_a_stale_dialogue_of_a_conversation_of_its_own_says_it_expired(
    standin: TelegramStandin,
    settings: Settings,
    clock: FakeClock,
    user_id: int,
    command: str,
    sent: str,
    told: str,
) -> None:
    """Left longer than the conversation timeout before the restart: what the user sends is
    not taken, they are told so, and nothing is kept (no report, no announcement)."""
    user = standin.user(user_id, first_name="Alice", language_code="zh-hans", started=True)
    async with bot_on(settings, clock) as app:
        await begin(app, user, command)
    clock.advance(timedelta(seconds=settings.requests.conversation_timeout_seconds + 1))
    async with bot_on(settings, clock) as app:
        await user.send(sent)
        assert told in (await user.expect_message()).text
        await dialogue_over(app, user)
        db = services_of(app).db
        assert await db.fetch_all("SELECT id FROM broadcasts") == []
        assert await db.fetch_all("SELECT id FROM impostor_reports") == []


async def test_a_code_check_and_a_number_check_go_on_after_a_restart(
    standin: TelegramStandin, settings: Settings, clock: FakeClock
) -> None:
    alice = standin.user(ALICE_ID, first_name="Alice", language_code="zh-hans", started=True)
    async with bot_on(settings, clock) as app:
        await begin(app, alice, "/verify", "核验码")
        assert await stored_kinds(services_of(app)) == ["verify"]
    async with bot_on(settings, clock) as app:
        await alice.send("12")
        assert "位数字" in (await alice.expect_message()).text
    async with bot_on(settings, clock) as app:
        await alice.send("0000 0000")
        verdict = (await alice.expect_message()).text
        assert "请选择您要做的事" not in verdict and "位数字" not in verdict
        assert await stored_kinds(services_of(app)) == []
        await alice.send("/check")
        assert "电话号码" in (await alice.expect_message()).text
    async with bot_on(settings, clock) as app:
        await alice.send("+86 139 0000 1111")
        answer = (await alice.expect_message()).text
        assert "请选择您要做的事" not in answer
        assert "可以举报" in (await alice.expect_message()).text
        await dialogue_over(app, alice)
