"""The sandbox: demo data, start and stop, the page's server, the CLI around it."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import aiohttp

from bot.clock import FakeClock
from bot.config import Settings
from bot.credit_code import validate_credit_code
from bot.deadlines import calendar_for
from bot.outbox import QuietHours
from bot.roles import Role
from bot.services import Services
from runtime.cli import build_parser, default_command
from sandbox import Sandbox, demo

ROOT = Path(__file__).resolve().parent.parent


def sandbox_settings(tmp_path: Path) -> Settings:
    return Settings.model_validate(
        {"sandbox": {"port": 0}, "storage": {"path": str(tmp_path / "unused.sqlite3")}}
    )


async def test_demo_cast_is_complete_and_bound(tmp_path: Path, clock: FakeClock) -> None:
    settings = Settings.model_validate(
        {
            "storage": {"path": str(tmp_path / "demo.sqlite3")},
            "admins": {"telegram_ids": [demo.ADMIN.telegram_id]},
        }
    )
    services = await Services.open(settings, clock=clock)
    try:
        assert not await demo.is_seeded(services)
        await demo.seed(services)
        assert await demo.is_seeded(services)
        officials = await services.officials.all_active()
        assert "副省长" in {o.title for o in officials}
        supervised = [o for o in officials if o.supervisor_id is not None]
        assert {o.level for o in supervised} >= {"city", "county"}
        enterprises = [e for e in [await services.enterprises.get(i) for i in range(1, 9)] if e]
        assert len({e.city for e in enterprises}) >= 4
        assert {e.stage for e in enterprises} == {"startup", "growth", "mature"}
        for enterprise in enterprises:
            assert validate_credit_code(enterprise.credit_code) == enterprise.credit_code
            assert await services.officials.designated_for(enterprise.id) is not None

        async def role_of(persona: demo.Persona) -> Role:
            actor = await services.actor(persona.telegram_id)
            return actor.main_role

        assert [await role_of(p) for p in demo.PERSONAS] == [
            Role.ENTREPRENEUR,
            Role.ENTREPRENEUR,
            Role.OFFICIAL,
            Role.ADMIN,
            Role.ADMIN,
        ]
        # The Dalian admin was appointed by the province admin, as /appoint does.
        city_admin = await services.actor(demo.CITY_ADMIN.telegram_id)
        assert city_admin.office == demo.CITY_ADMIN_OFFICE
        assert (await services.actor(demo.ADMIN.telegram_id)).is_province_admin
        vice_governor = await services.officials.by_telegram_id(demo.OFFICIAL.telegram_id)
        assert vice_governor is not None and vice_governor.title == "副省长"
        (first,) = await services.enterprises.of_user(demo.ENTREPRENEUR.telegram_id)
        designated = await services.officials.designated_for(first.id)
        assert designated == vice_governor
        [issue] = (
            await services.systemic.page(
                await services.actor(demo.ADMIN.telegram_id), resolved=False, page=0
            )
        ).items
        assert issue.title == demo.DEMO_ISSUE and issue.linked == 1
    finally:
        await services.close()


async def test_sandbox_runs_the_bot_behind_the_page(tmp_path: Path, clock: FakeClock) -> None:
    async with Sandbox(sandbox_settings(tmp_path), clock=clock) as sandbox:
        assert sandbox.url.startswith("http://127.0.0.1:")
        assert sandbox.settings.telegram.base_url.startswith("http://127.0.0.1:")
        assert demo.ADMIN.telegram_id in sandbox.settings.admins.telegram_ids
        user = f"{demo.ENTREPRENEUR.telegram_id}"
        async with aiohttp.ClientSession(sandbox.url) as http:
            async with http.get("/") as page:
                assert page.status == 200
                assert "default-src 'self'" in page.headers["Content-Security-Policy"]
                assert "/app.js" in await page.text()
            for asset in ("/app.js", "/style.css"):
                async with http.get(asset) as response:
                    assert response.status == 200
            async with http.get("/sandbox/personas") as response:
                personas = (await response.json())["personas"]
            roles = [p["role"] for p in personas]
            assert roles == ["entrepreneur", "entrepreneur", "official", "admin", "admin"]
            action = {"action": "send_text", "text": "/start"}
            async with http.post(f"/_standin/users/{user}/actions", json=action) as response:
                assert (await response.json())["ok"]
            async with http.get(f"/_standin/chats/{user}/view?since=1&timeout=5") as response:
                view = await response.json()
        (greeting,) = view["messages"]
        assert "<b>沈阳远航精密机械有限公司</b>" in greeting["html"]
        assert greeting["reply_markup"]["inline_keyboard"]
        assert {c["command"] for c in view["commands"]} >= {"start", "help"}
        assert sandbox.standin.errors == []
        database = sandbox.database
        assert database.exists()
    assert not database.exists(), "a fresh sandbox database goes away with the sandbox"


async def test_the_demo_plays_at_night_too(tmp_path: Path, clock: FakeClock) -> None:
    operator = Settings.model_validate(
        {"sandbox": {"port": 0}, "quiet_hours": {"weekends": True}, "storage": {"path": "x.db"}}
    )
    night = clock.now().replace(hour=23)
    sunday = clock.now().replace(day=8)
    assert QuietHours(operator.quiet_hours, calendar_for(operator)).is_quiet(night)
    async with Sandbox(operator, clock=clock) as sandbox:
        quiet = QuietHours(sandbox.settings.quiet_hours, calendar_for(sandbox.settings))
        assert not quiet.is_quiet(night)
        assert not quiet.is_quiet(sunday)


async def test_data_keeps_the_database_between_runs(tmp_path: Path, clock: FakeClock) -> None:
    data = tmp_path / "kept" / "sandbox.sqlite3"
    for _ in range(2):
        async with Sandbox(sandbox_settings(tmp_path), data=data, clock=clock) as sandbox:
            count = await _count_officials(sandbox.settings, clock)
        assert count == len(demo.OFFICIALS), "seeded once, not twice"
    assert data.exists()
    async with Sandbox(sandbox_settings(tmp_path), data=data.parent, clock=clock) as sandbox:
        assert sandbox.database == data, "a directory means the sandbox file inside it"


async def _count_officials(settings: Settings, clock: FakeClock) -> int:
    services = await Services.open(settings, clock=clock)
    try:
        return len(await services.officials.all_active())
    finally:
        await services.close()


def test_no_token_means_sandbox_and_a_token_means_run() -> None:
    assert default_command(Settings()) == "sandbox"
    assert default_command(Settings.model_validate({"telegram": {"token": "1:x"}})) == "run"
    args = build_parser().parse_args(["sandbox", "--data", "x.sqlite3", "--port", "9000"])
    assert (args.command, args.data, args.port) == ("sandbox", Path("x.sqlite3"), 9000)


def test_ctrl_c_stops_the_sandbox_cleanly(tmp_path: Path) -> None:
    env = {**os.environ, "BOT_SANDBOX__PORT": "0", "BOT_CONFIG": str(tmp_path / "none.toml")}
    (tmp_path / "none.toml").write_text("", encoding="utf-8")
    process = subprocess.Popen(
        [sys.executable, "-m", "bot"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert process.stdout is not None
    try:
        first = process.stdout.readline()
        assert first.startswith("Sandbox ready: open http://127.0.0.1:"), first
        rest = [process.stdout.readline() for _ in range(4)]
        assert "loopback" in rest[0] and "nothing is sent to Telegram" in rest[1]
        process.send_signal(signal.SIGINT)
        out, err = process.communicate(timeout=15)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    assert process.returncode == 0, err
    assert "Traceback" not in err
    assert out.strip().endswith("Sandbox stopped.")


async def test_demo_requests_cover_the_lifecycle(tmp_path: Path, clock: FakeClock) -> None:
    settings = Settings.model_validate(
        {
            "storage": {"path": str(tmp_path / "demo.sqlite3")},
            "admins": {"telegram_ids": [demo.ADMIN.telegram_id]},
        }
    )
    services = await Services.open(settings, clock=clock)
    try:
        await demo.seed(services)
        (firm,) = await services.enterprises.of_user(demo.ENTREPRENEUR.telegram_id)
        page = await services.requests.of_enterprises([firm.id], limit=20, offset=0)
        by_status = {r.status: r for r in page.items}
        assert set(by_status) == {
            "assigned", "in_progress", "waiting", "resolved", "closed"
        }  # fmt: skip
        replied = by_status["in_progress"]
        assert [m.text for m in await services.requests.messages(replied.id, internal=False)]
        history = await services.requests.history(by_status["closed"].id)
        assert [h.to_status for h in history][-1] == "closed"
        # The invented past is not news: neither its notices nor its replies are sent.
        assert (await services.outbox.repository.counts()).get("pending", 0) == 0
    finally:
        await services.close()


async def test_the_vice_governors_wechat_and_email_can_be_checked(
    tmp_path: Path, clock: FakeClock
) -> None:
    async with Sandbox(sandbox_settings(tmp_path), clock=clock) as sandbox:
        zhang = sandbox.standin.user(demo.ENTREPRENEUR.telegram_id)
        for typed in ("zhoumy_lngov", " zhou.mingyuan@LN-GOV.example "):
            await zhang.send("/check")
            await zhang.expect_message()
            await zhang.send(typed)
            answer = (await zhang.expect_message()).text or ""
            assert answer.startswith("✅") and "周明远\n副省长，辽宁省人民政府" in answer
        assert sandbox.standin.errors == []


async def test_the_page_shows_the_officials_verification_mark(
    tmp_path: Path, clock: FakeClock
) -> None:
    """The sandbox's stand-in approves the bot as a verifier; the bound demo official gets
    Telegram's mark on the first tick, and /_standin/users (the page's source) carries it."""
    async with Sandbox(sandbox_settings(tmp_path), clock=clock) as sandbox:
        official = demo.OFFICIAL.telegram_id
        await sandbox.standin.wait_for(lambda: sandbox.standin.verification(official), timeout=10)
        async with (
            aiohttp.ClientSession(sandbox.url) as http,
            http.get("/_standin/users") as response,
        ):
            users = {u["id"]: u for u in (await response.json())["users"]}
        assert users[official]["verified"] == sandbox.standin.verification(official)
        assert "人民政府" in users[official]["verified"]
        assert users[demo.ENTREPRENEUR.telegram_id]["verified"] is None
    app_js = (Path(__file__).parent.parent / "sandbox" / "app.js").read_text()
    assert "verified-mark" in app_js
