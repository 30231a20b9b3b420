"""Webhook mode over real HTTP on loopback: the stand-in posts updates to our aiohttp server."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

import aiohttp
import pytest
from prometheus_client.parser import text_string_to_metric_families

from bot.clock import FakeClock
from bot.config import Settings
from runtime.application import BotApplication, build_application
from runtime.cli import EXIT_USAGE, main
from runtime.monitoring import Metrics
from runtime.webhook import SECRET_HEADER, running_webhook
from storage.models import InviteKind
from tests.conftest import register_settings_secrets

if TYPE_CHECKING:
    from standin import TelegramStandin

SECRET = "webhook-secret-never-logged_42"
EVE_ID = 770001


@pytest.fixture
def hook_settings(settings: Settings) -> Settings:
    return register_settings_secrets(
        settings.model_copy(
            update={
                "webhook": settings.webhook.model_copy(
                    update={"enabled": True, "port": 0, "secret_token": _secret(SECRET)}
                )
            }
        )
    )


def _secret(value: str) -> Any:
    from pydantic import SecretStr

    return SecretStr(value)


@pytest.fixture
async def hooked(
    hook_settings: Settings, clock: FakeClock
) -> AsyncIterator[tuple[BotApplication, str]]:
    app = build_application(hook_settings, clock=clock)
    async with running_webhook(app, hook_settings) as port:
        yield app, f"http://127.0.0.1:{port}"


def _update(update_id: int, user_id: int, text: str) -> dict[str, Any]:
    sender = {"id": user_id, "is_bot": False, "first_name": "Eve", "language_code": "en"}
    return {
        "update_id": update_id,
        "message": {
            "message_id": 1,
            "date": 1_772_416_800,
            "chat": {"id": user_id, "type": "private", "first_name": "Eve"},
            "from": sender,
            "text": text,
        },
    }


async def _post(url: str, body: dict[str, Any], secret: str | None) -> tuple[int, str]:
    headers = {} if secret is None else {SECRET_HEADER: secret}
    async with (
        aiohttp.ClientSession() as session,
        session.post(url, json=body, headers=headers) as response,
    ):
        return response.status, await response.text()


async def test_good_secret_user_gets_the_answer_through_the_webhook(
    standin: TelegramStandin, hooked: tuple[BotApplication, str], caplog: pytest.LogCaptureFixture
) -> None:
    (set_call,) = standin.calls_to("setWebhook")
    assert set_call.params["secret_token"] == SECRET
    assert set_call.params["url"] == hooked[1] + "/telegram"
    guest = standin.user(EVE_ID, first_name="Eve", language_code="en")
    await guest.send("/start")
    reply = await guest.expect_message()
    assert "Enterprise Liaison" in reply.text
    assert standin.calls_to("getUpdates") == []
    assert standin.errors == []
    assert SECRET not in caplog.text


@pytest.mark.parametrize("secret", [None, "", "wrong-secret", SECRET + "x"])
async def test_wrong_or_missing_secret_is_refused_and_nothing_handled(
    standin: TelegramStandin, hooked: tuple[BotApplication, str], secret: str | None
) -> None:
    eve = standin.user(EVE_ID, first_name="Eve", language_code="en")
    await eve.send("/start")  # the chat exists, so a handled forgery would show
    await eve.expect_message()
    update = _update(10_000_001, EVE_ID, "/help")
    assert await _post(hooked[1] + "/telegram", update, secret) == (403, "")
    await eve.expect_no_message(within=0.3)
    services = hooked[0].bot_data.services
    assert await services.db.fetch_value("SELECT count(*) FROM processed_updates") == 1


async def test_same_update_id_twice_is_answered_once(
    standin: TelegramStandin, hooked: tuple[BotApplication, str]
) -> None:
    eve = standin.user(EVE_ID, first_name="Eve", language_code="en")
    message = await eve.send("/start")
    assert "Enterprise Liaison" in (await eve.expect_message()).text
    services = hooked[0].bot_data.services
    update_id = await services.db.fetch_value("SELECT max(update_id) FROM processed_updates")
    again = {"update_id": update_id, "message": message}  # Telegram delivering it again
    assert await _post(hooked[1] + "/telegram", again, SECRET) == (200, "")
    await eve.expect_no_message(within=0.3)
    fresh = {"update_id": update_id + 1, "message": message}
    assert await _post(hooked[1] + "/telegram", fresh, SECRET) == (200, "")
    assert "Enterprise Liaison" in (await eve.expect_message()).text  # a new id is handled
    assert standin.errors == []


async def test_a_body_that_is_not_json_gets_400(hooked: tuple[BotApplication, str]) -> None:
    async with (
        aiohttp.ClientSession() as session,
        session.post(
            hooked[1] + "/telegram", data=b"not json", headers={SECRET_HEADER: SECRET}
        ) as response,
    ):
        assert response.status == 400


async def test_healthz_answers_ok(hooked: tuple[BotApplication, str]) -> None:
    async with aiohttp.ClientSession() as session, session.get(hooked[1] + "/healthz") as resp:
        assert (resp.status, await resp.text()) == (200, "ok active")


async def test_polling_deletes_the_webhook_first(
    standin: TelegramStandin, bot: BotApplication
) -> None:
    assert len(standin.calls_to("deleteWebhook")) >= 1
    assert standin.calls_to("deleteWebhook")[0].params.get("drop_pending_updates") in (None, False)


async def test_old_update_ids_are_pruned(
    hooked: tuple[BotApplication, str], clock: FakeClock
) -> None:
    seen = hooked[0].bot_data.services.processed_updates
    assert await seen.claim(1, clock.now())
    assert not await seen.claim(1, clock.now())
    clock.advance(timedelta(hours=49))
    assert await seen.claim(2, clock.now())
    assert await seen.prune(clock.now() - timedelta(hours=48)) == 1
    assert await seen.claim(1, clock.now())


def test_run_webhook_without_url_or_secret_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = tmp_path / "config.toml"
    config.write_text(
        '[telegram]\ntoken = "123456789:TEST-token-never-logged"\n'
        f'[storage]\npath = "{tmp_path / "bot.sqlite3"}"\n',
        encoding="utf-8",
    )
    assert main(["--config", str(config), "run", "--webhook"]) == EXIT_USAGE
    assert "url and secret_token" in capsys.readouterr().err


async def test_healthz_is_503_when_the_database_does_not_answer(
    hooked: tuple[BotApplication, str],
) -> None:
    services = hooked[0].bot_data.services
    await services.db.close()
    async with aiohttp.ClientSession() as session, session.get(hooked[1] + "/healthz") as resp:
        assert resp.status == 503


async def _post_raw(url: str, body: bytes) -> tuple[int, str]:
    async with (
        aiohttp.ClientSession() as session,
        session.post(url, data=body, headers={SECRET_HEADER: SECRET}) as response,
    ):
        return response.status, await response.text()


@pytest.mark.parametrize(
    "body",
    [
        *(b"[]", b"[1, 2]", b"5", b'"a string"', b"null", b"true", b"{}", b'{"update_id": "7"}'),
        b"[" * 100_000 + b"]" * 100_000,  # deeper than the JSON parser goes
    ],
    ids=["empty array", "array", "number", "string", "null", "true", "no id", "text id", "deep"],
)
async def test_json_that_is_not_an_update_gets_400_not_500(
    hooked: tuple[BotApplication, str], body: bytes, caplog: pytest.LogCaptureFixture
) -> None:
    status, text = await _post_raw(hooked[1] + "/telegram", body)
    assert (status, text) == (400, "")
    assert [r for r in caplog.records if r.levelno >= logging.ERROR] == []
    services = hooked[0].bot_data.services
    assert await services.db.fetch_value("SELECT count(*) FROM processed_updates") == 0


async def test_an_update_the_library_cannot_read_is_skipped_once_without_its_content(
    standin: TelegramStandin,
    hooked: tuple[BotApplication, str],
    clock: FakeClock,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Telegram would deliver it again and again after a 400: it gets 200, is recorded like
    any update and is skipped; the log names its id, never its content."""
    services = hooked[0].bot_data.services
    official = await services.directory.add_official(
        external_id="W-1", name="吴兰", now=clock.now()
    )
    invite = await services.invites.issue(
        kind=InviteKind.OFFICIAL,
        official_id=official.id,
        now=clock.now(),
        ttl=timedelta(hours=1),
    )
    garbage = {"update_id": 9_000_001, "message": {"text": f"/start {invite.payload}"}}
    url = hooked[1] + "/telegram"
    assert await _post(url, garbage, SECRET) == (200, "")
    assert await _post(url, garbage, SECRET) == (200, "")  # delivered again: dropped
    standin.inject_update({"callback_query": 7})  # through the stand-in's own delivery
    eve = standin.user(EVE_ID, first_name="Eve", language_code="en")
    await eve.send("/start")
    assert "Enterprise Liaison" in (await eve.expect_message()).text
    skipped = [r for r in caplog.records if "could not be read" in r.getMessage()]
    assert len(skipped) == 2  # one line per unreadable update, its id only
    assert "9000001" in skipped[0].getMessage()
    assert invite.payload.removeprefix("inv_") not in caplog.text
    assert [r for r in caplog.records if r.levelno >= logging.ERROR] == []
    assert await services.officials.by_telegram_id(EVE_ID) is None


async def _scrape(base: str) -> dict[str, float]:
    """GET /metrics over HTTP, parsed by prometheus-client's own parser: sample -> value."""
    async with aiohttp.ClientSession() as session, session.get(base + "/metrics") as resp:
        assert resp.status == 200
        assert resp.headers["Content-Type"].startswith("text/plain; version=")
        text = await resp.text()
    samples: dict[str, float] = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            labels = ",".join(f"{k}={v}" for k, v in sorted(sample.labels.items()))
            samples[f"{sample.name}{{{labels}}}" if labels else sample.name] = sample.value
    return samples


async def test_metrics_are_served_beside_healthz_and_follow_the_bot(
    standin: TelegramStandin, hooked: tuple[BotApplication, str], clock: FakeClock
) -> None:
    app, base = hooked
    before = await _scrape(base)
    assert {
        "liaison_updates_handled_total",
        "liaison_updates_dropped_total",
        "liaison_telegram_429_total",
        "liaison_outbox_backlog",
        "liaison_outbox_oldest_age_seconds",
        "liaison_requests_overdue",
        "liaison_instance_role{liaison_instance_role=active}",
        "liaison_instance_role{liaison_instance_role=standby}",
    } <= before.keys()
    assert before["liaison_instance_role{liaison_instance_role=active}"] == 1
    assert before["liaison_instance_role{liaison_instance_role=standby}"] == 0
    assert before["liaison_outbox_backlog"] == before["liaison_outbox_oldest_age_seconds"] == 0
    assert before["liaison_requests_overdue"] == 0

    # A user writes, and Telegram answers the bot's first reply with a 429.
    eve = standin.user(EVE_ID, first_name="Eve", language_code="en")
    standin.inject_error("sendMessage", chat_id=EVE_ID, error_code=429, retry_after=1)
    await eve.send("/start")
    assert "Enterprise Liaison" in (await eve.expect_message(timeout=5)).text

    async def counted() -> bool:
        return (await _scrape(base))["liaison_updates_handled_total"] > before[
            "liaison_updates_handled_total"
        ]

    await standin.wait_for_async(counted)
    after = await _scrape(base)
    assert after["liaison_telegram_429_total"] == before["liaison_telegram_429_total"] + 1

    # The gauges are read from the database at scrape time: a row being sent for a minute.
    services = app.bot_data.services
    due = int(clock.now().timestamp()) - 60
    await services.db.execute(
        "INSERT INTO outbox (recipient_id, kind, payload, not_before, status, created_at)"
        " VALUES (?, 'notice', '{}', ?, 'sending', ?)",
        (EVE_ID, due, due),
    )
    stuck = await _scrape(base)
    assert stuck["liaison_outbox_backlog"] == 1
    assert stuck["liaison_outbox_oldest_age_seconds"] == 60


async def test_metrics_are_503_when_the_database_does_not_answer(
    hooked: tuple[BotApplication, str],
) -> None:
    await hooked[0].bot_data.services.db.close()
    async with aiohttp.ClientSession() as session, session.get(hooked[1] + "/metrics") as resp:
        assert resp.status == 503


async def test_metrics_can_be_turned_off(hook_settings: Settings, clock: FakeClock) -> None:
    settings = hook_settings.model_copy(
        update={"metrics": hook_settings.metrics.model_copy(update={"enabled": False})}
    )
    app = build_application(settings, clock=clock)
    async with (
        running_webhook(app, settings) as port,
        aiohttp.ClientSession() as session,
        session.get(f"http://127.0.0.1:{port}/metrics") as resp,
    ):
        assert resp.status == 404


async def test_each_application_has_a_registry_of_its_own(hook_settings: Settings) -> None:
    first, second = build_application(hook_settings), build_application(hook_settings)
    assert Metrics(first).registry is not Metrics(second).registry  # no "duplicated timeseries"
