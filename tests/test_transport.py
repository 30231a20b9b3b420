"""The aiohttp transport (runtime/transport.py) as python-telegram-bot uses it, over loopback.

Every end-to-end test already runs through it; these pin what those do not reach: uploads
arriving byte for byte, and each way a call can fail (refused, held past the read time-out, an
HTML error page from a proxy) becoming the error python-telegram-bot and our handlers expect.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import AsyncIterator, Awaitable, Callable

import pytest
from aiohttp import web
from telegram import Bot, InlineKeyboardButton, InlineKeyboardMarkup
from telegram.constants import ParseMode
from telegram.error import Forbidden, NetworkError, TelegramError, TimedOut
from telegram.request import BaseRequest, RequestData
from telegram.request._requestparameter import RequestParameter

from bot.config import Settings, TelegramSettings
from runtime.application import build_application
from runtime.transport import AiohttpRequest
from standin import TelegramStandin

TOKEN = "123456789:TRANSPORT-token"
USER_ID = 620001
QUICK = TelegramSettings(connect_timeout=1.0, send_timeout=0.3, read_timeout=1.0)


@pytest.fixture
async def bot(standin: TelegramStandin) -> AsyncIterator[Bot]:
    standin.user(USER_ID, first_name="企业", started=True)
    async with Bot(
        TOKEN,
        base_url=standin.api_base_url,
        base_file_url=standin.file_base_url,
        request=AiohttpRequest.for_calls(QUICK),
        get_updates_request=AiohttpRequest.for_updates(QUICK),
    ) as bot:
        yield bot


async def serve(handler: Callable[[web.Request], Awaitable[web.StreamResponse]]) -> web.AppRunner:
    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", handler)
    runner = web.AppRunner(app)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    return runner


def base_url(runner: web.AppRunner) -> str:
    host, port = runner.addresses[0][:2]
    return f"http://{host}:{port}/bot"


async def test_text_html_and_a_keyboard_arrive_as_sent(bot: Bot, standin: TelegramStandin) -> None:
    text = "诉求 <b>LN-20260302-0001</b> &amp; 🚀 “引号” 第二行\n第三行"
    keyboard = InlineKeyboardMarkup([[InlineKeyboardButton("✅ 确认", callback_data="r:1:ack")]])

    sent = await bot.send_message(USER_ID, text, parse_mode=ParseMode.HTML, reply_markup=keyboard)

    seen = standin.user(USER_ID).messages[-1]
    assert sent.text == seen.text == "诉求 LN-20260302-0001 & 🚀 “引号” 第二行\n第三行"
    assert seen.markup == keyboard.to_dict()


async def test_an_upload_arrives_byte_for_byte(bot: Bot, standin: TelegramStandin) -> None:
    content = bytes(range(256)) * 1024 + "台账".encode()

    sent = await bot.send_document(
        USER_ID, content, filename="台账 2026.xlsx", caption="<i>台账</i>", parse_mode="HTML"
    )

    assert sent.document is not None and sent.document.file_name == "台账 2026.xlsx"
    assert sent.caption == "台账"
    downloaded = await (await bot.get_file(sent.document.file_id)).download_as_bytearray()
    assert bytes(downloaded) == content


async def test_a_refused_connection_is_a_network_error() -> None:
    async def anything(request: web.Request) -> web.Response:
        return web.json_response({"ok": True, "result": True})

    runner = await serve(anything)
    url = base_url(runner)
    await runner.cleanup()  # nothing listens on that port any more
    request = AiohttpRequest.for_calls(QUICK)
    await request.initialize()
    try:
        with pytest.raises(NetworkError) as raised:
            await request.post(f"{url}/getMe")
        assert not isinstance(raised.value, TimedOut)
    finally:
        await request.shutdown()


async def test_an_answer_held_past_the_read_timeout_is_timed_out_and_the_next_call_works() -> None:
    release = asyncio.Event()
    held = 0

    async def answer(request: web.Request) -> web.Response:
        nonlocal held
        if request.path.endswith("/sendMessage") and held == 0:
            held += 1
            await release.wait()
        return web.json_response({"ok": True, "result": True})

    runner = await serve(answer)
    request = AiohttpRequest.for_calls(QUICK)
    await request.initialize()
    try:
        with pytest.raises(TimedOut):
            await request.post(f"{base_url(runner)}/sendMessage")
        assert await request.post(f"{base_url(runner)}/sendMessage") is True
    finally:
        release.set()
        await request.shutdown()
        await runner.cleanup()


async def test_a_proxy_error_page_is_a_network_error() -> None:
    async def bad_gateway(request: web.Request) -> web.Response:
        return web.Response(
            status=502, text="<html>502 Bad Gateway</html>", content_type="text/html"
        )

    runner = await serve(bad_gateway)
    request = AiohttpRequest.for_calls(QUICK)
    await request.initialize()
    try:
        with pytest.raises(NetworkError, match="Bad Gateway"):
            await request.post(f"{base_url(runner)}/sendMessage")
    finally:
        await request.shutdown()
        await runner.cleanup()


async def test_an_answer_that_is_not_json_is_an_error_and_its_body_is_not_logged(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """python-telegram-bot logs such a body whole, with a traceback: it could be anything,
    an invite link in an update included."""
    body = '{"ok": true, "result": [{"update_id": 1, "message": "/start inv_s3cr3t-b0dy"'

    async def cut_short(request: web.Request) -> web.Response:
        return web.Response(status=200, text=body, content_type="application/json")

    runner = await serve(cut_short)
    request = AiohttpRequest.for_updates(QUICK)
    await request.initialize()
    try:
        with pytest.raises(TelegramError, match="Invalid server response"):
            await request.post(f"{base_url(runner)}/getUpdates")
    finally:
        await request.shutdown()
        await runner.cleanup()
    assert "s3cr3t" not in caplog.text
    assert [r for r in caplog.records if r.levelno >= logging.ERROR] == []


async def test_parameters_go_as_one_json_body() -> None:
    bodies: list[tuple[str, dict[str, str]]] = []

    async def record(request: web.Request) -> web.Response:
        bodies.append((request.content_type, json.loads(await request.read())))
        return web.json_response({"ok": True, "result": True})

    runner = await serve(record)
    request = AiohttpRequest.for_calls(QUICK)
    await request.initialize()
    try:
        data = RequestData([RequestParameter.from_input("text", "营商环境 100%&=?")])
        await request.post(f"{base_url(runner)}/sendMessage", request_data=data)
    finally:
        await request.shutdown()
        await runner.cleanup()
    assert bodies == [("application/json", {"text": "营商环境 100%&=?"})]


async def test_a_call_before_initialize_is_refused() -> None:
    request = AiohttpRequest.for_calls(QUICK)
    with pytest.raises(RuntimeError, match="not initialized"):
        await request.do_request("http://127.0.0.1:9/bot/getMe", "POST")


async def test_send_text_sends_html_with_its_keyboard_like_send_message(
    standin: TelegramStandin, settings: Settings
) -> None:
    standin.user(USER_ID, first_name="企业", started=True)
    blocked = standin.user(USER_ID + 1, first_name="已屏蔽", started=True)
    await blocked.block()
    bot = build_application(settings).bot
    keyboard = InlineKeyboardMarkup([[InlineKeyboardButton("💬 回复", callback_data="r:7:reply")]])
    async with bot:
        assert await bot.send_text(USER_ID, "<b>LN-1</b> 已收到 &lt;附件&gt;", keyboard) is None
        with pytest.raises(Forbidden):
            await bot.send_text(blocked.id, "不会送达")

    seen = standin.user(USER_ID).messages[-1]
    assert seen.text == "LN-1 已收到 <附件>"
    assert seen.data["entities"][0]["type"] == "bold"
    assert seen.markup == keyboard.to_dict()


def test_the_application_calls_telegram_over_aiohttp(settings: Settings) -> None:
    app = build_application(settings)
    calls: BaseRequest = app.bot.request
    assert isinstance(calls, AiohttpRequest)
    assert calls.read_timeout == settings.telegram.send_timeout
