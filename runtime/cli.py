"""``python -m bot``: run the bot, manage the database, create invite links."""

from __future__ import annotations

import argparse
import asyncio
import html
import logging
import sys
from collections.abc import Callable, Coroutine, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from bot.channels import ChannelHasher
from bot.cities import parse_city
from bot.clock import SystemClock
from bot.config import ConfigError, Settings, load_settings
from bot.deadlines import calendar_for
from bot.directory import Directory
from bot.i18n import Translator
from bot.invite_sheet import issue_roster_invites, write_invites
from bot.invites import Invites
from bot.ledger import write_ledger
from bot.logs import configure_logging
from bot.offices import Offices, parse_office
from bot.rosters import Report, RosterKind, describe_report, export_roster, import_roster
from bot.tables import UnreadableFile
from bot.tiers import parse_tier
from runtime.eventloop import use_fast_event_loop
from runtime.instance import AlreadyRunning, InstanceLock
from storage.admins import AdminRepository
from storage.audit import AuditLog
from storage.database import BackupFailed
from storage.db import Database, open_database
from storage.enterprises import EnterpriseRepository
from storage.invites import InviteRepository
from storage.ledger import LedgerFilter, LedgerRepository
from storage.models import InviteKind
from storage.officials import OfficialRepository
from storage.rosters import RosterRepository
from storage.scope import EVERYWHERE, Scope

if TYPE_CHECKING:
    from runtime.standby import ActiveLock
    from storage.postgres import Fence

EXIT_USAGE = 2
EXIT_INTERRUPTED = 130  # as a shell reports a command ended by Ctrl-C (128 + SIGINT)
MAX_PORT = 65535

BOTFATHER_HELP = (
    "No Telegram token is configured.\n"
    "  1. In Telegram, open @BotFather, send /newbot and follow the steps;"
    " it answers with a token.\n"
    '  2. Put it in config.toml under [telegram] token = "...", or export BOT_TELEGRAM__TOKEN.\n'
    "  Without a token, `python -m bot sandbox` runs everything locally in a browser."
)


class CommandError(Exception):
    """A command that cannot go on; the message is for the operator."""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m bot", description=__doc__)
    parser.add_argument(
        "--config", type=Path, help="TOML config file (default: $BOT_CONFIG or ./config.toml)"
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    run = sub.add_parser("run", help="run the bot against Telegram (long polling or webhook)")
    run.add_argument(
        "--webhook", action="store_true", help="receive updates by webhook ([webhook] settings)"
    )
    sandbox = sub.add_parser(
        "sandbox", help="try the bot in a browser: local Telegram stand-in, demo data, no token"
    )
    sandbox.add_argument(
        "--data", type=Path, help="keep the sandbox database in this file (default: a fresh one)"
    )
    sandbox.add_argument(
        "--port", type=int, help="the page's port on 127.0.0.1 (default: [sandbox] port)"
    )
    sub.add_parser("migrate", help="apply pending database migrations and exit")
    backup = sub.add_parser(
        "backup",
        help="write an online backup of the database (safe while running): a SQLite file,"
        " or pg_dump's custom format on PostgreSQL",
    )
    backup.add_argument("dest", type=Path)
    move = sub.add_parser(
        "migrate-to",
        help="copy the SQLite database ([storage] path) into an empty PostgreSQL database,"
        " checked row by row",
    )
    move.add_argument("url", help="postgresql://user@host/database (empty)")
    invite = sub.add_parser("invite", help="create a one-time invite link")
    who = invite.add_mutually_exclusive_group(required=True)
    who.add_argument("--official", metavar="OFFICIAL_ID", help="the official's roster id")
    who.add_argument("--enterprise", metavar="CREDIT_CODE", help="a contact of this enterprise")
    who.add_argument(
        "--admin", metavar="OFFICE", help="an admin of an office: 省 (province) or a city (大连)"
    )
    official = sub.add_parser("add-official", help="add one official to the roster")
    official.add_argument("external_id")
    official.add_argument("name")
    official.add_argument("--title", default="")
    official.add_argument("--body", default="")
    official.add_argument("--city", default="", help="city code or name (大连, dalian)")
    official.add_argument(
        "--level", default="city", help="tier: 省级/市级/县级, province/city/county"
    )
    kinds = [kind.value for kind in RosterKind]
    roster_in = sub.add_parser("import", help="import a roster (.xlsx or .csv); all or nothing")
    roster_in.add_argument("kind", choices=kinds)
    roster_in.add_argument("file", type=Path)
    roster_out = sub.add_parser("export", help="export a roster to .xlsx or .csv")
    roster_out.add_argument("kind", choices=kinds)
    roster_out.add_argument("file", type=Path)
    roster_out.add_argument(
        "--city", help="only this city's rows (大连, 大连市 or dalian), as its office exports them"
    )
    invites = sub.add_parser(
        "invites", help="invite links for a whole roster (.xlsx/.csv) plus a printable QR sheet"
    )
    whom = invites.add_mutually_exclusive_group(required=True)
    whom.add_argument("--all-officials", action="store_true", help="officials not joined yet")
    whom.add_argument("--all-enterprises", action="store_true", help="one per enterprise")
    invites.add_argument("out", type=Path)
    holidays = sub.add_parser(
        "holidays",
        help="holiday schedules: load next year's, see where each year's days come from",
    )
    holiday_commands = holidays.add_subparsers(dest="holidays_command", metavar="ACTION")
    holiday_commands.required = True
    load = holiday_commands.add_parser(
        "load", help="load a year's schedule (.toml, see docs/reminders.md); takes effect at once"
    )
    load.add_argument("file", type=Path)
    holiday_commands.add_parser("status", help="where this year's and next year's days come from")
    holiday_template = holiday_commands.add_parser(
        "template", help="print a schedule file for YEAR with its statutory holidays (estimate)"
    )
    holiday_template.add_argument("year", type=int)
    ledger = sub.add_parser("ledger", help="write the ledger (.xlsx or .csv), one row per request")
    ledger.add_argument("out", type=Path)
    ledger.add_argument("--from", dest="since", type=date.fromisoformat, help="YYYY-MM-DD")
    ledger.add_argument("--to", dest="until", type=date.fromisoformat, help="YYYY-MM-DD, excluded")
    ledger.add_argument("--city", help="city code or name")
    ledger.add_argument("--official", help="the official's roster id")
    ledger.add_argument("--tier", help="the holder's tier: 省级/市级/县级 or province/city/county")
    ledger.add_argument("--language", choices=["zh", "en"], default="zh")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        settings = load_settings(args.config)
    except ConfigError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    token = settings.telegram.token.get_secret_value() if settings.telegram.token else ""
    hook_secret = settings.webhook.secret_token
    secrets = [token, hook_secret.get_secret_value() if hook_secret else ""]
    configure_logging(logging.DEBUG if args.verbose else logging.INFO, secrets=secrets)
    command = args.command or default_command(settings)
    use_fast_event_loop()
    try:
        return COMMANDS[command](settings, args)
    except CommandError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_USAGE


def default_command(settings: Settings) -> str:
    """With a token the bot runs for real; without one, the sandbox shows what it does."""
    return "run" if settings.telegram.token is not None else "sandbox"


def cmd_run(settings: Settings, args: argparse.Namespace) -> int:
    from runtime.application import build_application, run_polling

    if settings.telegram.token is None:
        print(BOTFATHER_HELP, file=sys.stderr)
        return EXIT_USAGE
    webhook = getattr(args, "webhook", False) or settings.webhook.enabled
    if webhook and (not settings.webhook.url or settings.webhook.secret_token is None):
        raise CommandError("webhook mode needs [webhook] url and secret_token")
    from runtime.webhook import run_webhook  # imported before a standby waits, not after

    with one_bot_per_database(settings, standby=True, webhook=webhook) as held:
        if not held.active:
            return 0  # stopped while standing by
        app = build_application(settings, fence=held.fence)
        if webhook:
            run_webhook(app, settings)
        else:
            run_polling(app, settings)
    return 0


def cmd_sandbox(settings: Settings, args: argparse.Namespace) -> int:
    from sandbox import serve

    data: Path | None = getattr(args, "data", None)
    port: int | None = getattr(args, "port", None)
    if port is not None and not 0 <= port <= MAX_PORT:
        raise CommandError(f"--port {port}: use a port between 0 and {MAX_PORT}")
    try:
        asyncio.run(serve(settings, data=data, port=port))
    except AlreadyRunning as exc:
        raise CommandError(str(exc)) from None
    except OSError as exc:
        where = f"{settings.sandbox.host}:{settings.sandbox.port if port is None else port}"
        raise CommandError(
            f"cannot start the sandbox on {where}: {exc.strerror or exc}; try --port N"
        ) from None
    return 0


def cmd_migrate(settings: Settings, args: argparse.Namespace) -> int:
    """Refused while a bot runs on the database: it would meet a schema it does not know (a
    bot migrates at its own start anyway)."""

    async def migrate(db: Database) -> None:
        print(f"schema version {await db.schema_version()}")

    with one_bot_per_database(settings):
        return _with_db(settings, migrate)


def cmd_backup(settings: Settings, args: argparse.Namespace) -> int:
    """SQLite: a copy of the file by its online backup API; PostgreSQL: pg_dump's custom format
    (docs/postgresql.md, "Backup and restore"). Both are safe while the bot runs."""
    dest: Path = args.dest
    if dest.exists():
        raise CommandError(f"{dest} already exists; choose a new file name")

    async def backup(db: Database) -> None:
        try:
            await db.backup(dest)
        except BackupFailed as exc:
            raise CommandError(str(exc)) from None
        if db.dialect == "postgresql":
            print(
                f"backup written to {dest} (pg_dump's custom format; restore into an empty"
                f" database with: pg_restore --no-owner --dbname=URL {dest})"
            )
        else:
            print(f"backup written to {dest}")

    return _with_db(settings, backup)


def cmd_migrate_to(settings: Settings, args: argparse.Namespace) -> int:
    """Copy ``[storage] path`` into the empty PostgreSQL database ``URL`` (storage/transfer.py).

    Safe while a bot runs on the file: the copy is read from one snapshot, which it says, since
    what the bot writes afterwards is not in it. Prints one line per table; a check that fails
    leaves the target empty (exit code 1), a non-empty target is refused (exit code 2)."""
    from storage.transfer import (
        TransferRefused,
        VerificationFailed,
        describe_target,
        migrate_to,
    )

    url: str = args.url
    source = settings.storage.path
    try:
        if source.is_file():
            InstanceLock(source).acquire().release()
    except AlreadyRunning:
        print(
            f"note: a bot is running on {source}; the copy is of one moment (a read snapshot)"
            " and what it writes afterwards is not in it: stop it before moving for good"
        )
    try:
        transfer = migrate_to(source, url)
    except TransferRefused as exc:
        raise CommandError(str(exc)) from None
    except VerificationFailed as exc:
        print(f"error: the copy differs, nothing was kept: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("interrupted: nothing was kept (the copy is one transaction)", file=sys.stderr)
        return EXIT_INTERRUPTED
    width = max(len(table.name) for table in transfer.tables)
    for table in transfer.tables:
        print(f"{table.name:<{width}}  {table.rows:>9} rows  same  sha256 {table.digest[:16]}")
    print(
        f"{len(transfer.tables)} tables, {transfer.rows} rows copied from {source} to"
        f" {describe_target(url)} (schema version {transfer.schema_version}) and checked row by"
        f" row in {transfer.seconds:.1f} s; identities continue after the largest ids."
        " Now set [storage] url (or BOT_STORAGE__URL) and start the bot."
    )
    return 0


def cmd_invite(settings: Settings, args: argparse.Namespace) -> int:
    async def invite(db: Database) -> None:
        now = SystemClock().now()
        ttl = timedelta(hours=settings.security.invite_ttl_hours)
        repo = Invites(InviteRepository(db), uow=db)
        if args.admin:
            office = parse_office(args.admin)
            if office is None:
                raise CommandError(f"no office {args.admin!r} (省, or a city such as 大连)")
            offices = Offices(
                AdminRepository(db),
                settings.admins.telegram_ids,
                invites=repo,
                audit=AuditLog(db),
                uow=db,
            )
            issued = await offices.invite(office, by=None, by_office=None, now=now, ttl=ttl)
        elif args.official:
            official = await OfficialRepository(db).by_external_id(args.official)
            if official is None:
                raise CommandError(f"no official with roster id {args.official!r}")
            issued = await repo.issue(
                kind=InviteKind.OFFICIAL, official_id=official.id, now=now, ttl=ttl
            )
        else:
            enterprise = await EnterpriseRepository(db).by_credit_code(args.enterprise.upper())
            if enterprise is None:
                raise CommandError(f"no enterprise with credit code {args.enterprise!r}")
            issued = await repo.issue(
                kind=InviteKind.CONTACT, enterprise_id=enterprise.id, now=now, ttl=ttl
            )
        print(issued.link(settings_bot_username(settings)))
        print(
            f"valid until {issued.expires_at.astimezone(settings.locale.tz):%Y-%m-%d %H:%M}, once"
        )

    return _with_db(settings, invite)


def cmd_add_official(settings: Settings, args: argparse.Namespace) -> int:
    city = parse_city(args.city) if args.city else ""
    if city is None:
        raise CommandError(f"unknown city {args.city!r}")
    level = _tier(args.level)

    async def add(db: Database) -> None:
        repo = OfficialRepository(db)
        if await repo.by_external_id(args.external_id) is not None:
            raise CommandError(f"official {args.external_id!r} already exists")
        directory = Directory(repo, EnterpriseRepository(db), uow=db)
        official = await directory.add_official(
            external_id=args.external_id,
            name=args.name,
            title=args.title,
            body=args.body,
            city=city,
            level=level or "city",
            now=SystemClock().now(),
        )
        print(f"added official {official.external_id}: {official.name}")

    return _with_db(settings, add)


def cmd_import(settings: Settings, args: argparse.Namespace) -> int:
    path: Path = args.file
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise CommandError(f"cannot read {path}: {exc.strerror}") from None
    texts = Translator("en")
    outcome: list[Report] = []

    async def run(db: Database) -> None:
        try:
            report = await import_roster(
                db,
                RosterRepository(db),
                RosterKind(args.kind),
                data,
                path.name,
                hasher=ChannelHasher(settings.security.hash_key.get_secret_value().encode()),
                now=SystemClock().now(),
            )
        except UnreadableFile as exc:
            raise CommandError(f"cannot read {path}: {exc}") from None
        print(html.unescape(describe_report(report, texts, limit=10_000)))
        outcome.append(report)

    _with_db(settings, run)
    return 0 if outcome and outcome[0].ok else 1


def cmd_export(settings: Settings, args: argparse.Namespace) -> int:
    scope = EVERYWHERE
    if args.city is not None:
        city = parse_city(args.city)
        if city is None:
            raise CommandError(f"no city {args.city!r} (a city of Liaoning, such as 大连)")
        scope = Scope(city=city)

    async def run(db: Database) -> None:
        count = await export_roster(
            RosterRepository(db),
            RosterKind(args.kind),
            args.file,
            language=settings.locale.default_language,
            scope=scope,
        )
        print(f"{count} {args.kind} written to {args.file}")

    return _with_db(settings, run)


def cmd_invites(settings: Settings, args: argparse.Namespace) -> int:
    kind = InviteKind.OFFICIAL if args.all_officials else InviteKind.CONTACT

    async def run(db: Database) -> None:
        lines = await issue_roster_invites(
            db,
            kind,
            bot_username=settings_bot_username(settings),
            now=SystemClock().now(),
            ttl=timedelta(hours=settings.security.invite_ttl_hours),
        )
        written = write_invites(lines, args.out, settings.locale.tz)
        print(f"{len(lines)} invite links written to " + " and ".join(map(str, written)))

    return _with_db(settings, run)


def cmd_ledger(settings: Settings, args: argparse.Namespace) -> int:
    tz = settings.locale.tz
    city = None
    if args.city:
        city = parse_city(args.city)
        if city is None:
            raise CommandError(f"unknown city {args.city!r}")
    where = LedgerFilter(
        since=None if args.since is None else datetime.combine(args.since, time(), tz),
        until=None if args.until is None else datetime.combine(args.until, time(), tz),
        city=city,
        official=args.official,
        tier=_tier(args.tier),
    )

    async def run(db: Database) -> None:
        count = await write_ledger(
            LedgerRepository(db), args.out, where, Translator(args.language),
            tz=tz, now=SystemClock().now(),
        )  # fmt: skip
        print(f"{count} requests written to {args.out}")

    return _with_db(settings, run)


def _tier(value: str | None) -> str | None:
    if value is None:
        return None
    tier = parse_tier(value)
    if tier is None:
        raise CommandError(f"unknown tier {value!r} (省级/市级/县级, province/city/county)")
    return tier.value


def cmd_holidays(settings: Settings, args: argparse.Namespace) -> int:
    """Holiday schedules: ``load FILE`` (as if an admin sent it to the bot: checked, stored,
    in effect at once in a running bot, deadlines moved and people told, audited),
    ``status``, ``template YEAR``."""
    from bot.holiday_schedule import (
        FIRST_YEAR,
        LAST_YEAR,
        ScheduleRejected,
        describe_loaded,
        describe_rejection,
        parse_schedule,
        status_lines,
        template,
    )
    from bot.services import Services

    texts = Translator("en")
    if args.holidays_command == "template":
        if not FIRST_YEAR <= args.year <= LAST_YEAR:
            raise CommandError(f"year {args.year}: use a year from {FIRST_YEAR} to {LAST_YEAR}")
        print(template(args.year, calendar_for(settings)), end="")
        return 0
    data = b""
    if args.holidays_command == "load":
        path: Path = args.file
        try:
            data = path.read_bytes()
        except OSError as exc:
            raise CommandError(f"cannot read {path}: {exc.strerror}") from None
    outcome: list[bool] = []

    async def run() -> None:
        services = await Services.open(settings)
        try:
            calendar = services.calendar
            if args.holidays_command == "status":
                today = calendar.local_day(services.clock.now())
                for line in status_lines(calendar, today, texts):
                    print(line)
                for stored in await services.holidays.repo.all():
                    kind = "official" if stored.schedule.official else "estimate"
                    loaded_at = stored.loaded_at.astimezone(calendar.tz)
                    print(
                        f"loaded {stored.schedule.year} ({kind}) from {stored.file_name}"
                        f" at {loaded_at:%Y-%m-%d %H:%M}"
                    )
                outcome.append(True)
                return
            try:
                schedule = parse_schedule(data)
                loaded = await services.holidays.load(
                    schedule,
                    file_name=args.file.name,
                    file_text=data.decode("utf-8-sig"),
                    actor_id=None,
                )
            except ScheduleRejected as rejected:
                await services.audit.record(
                    now=services.clock.now(),
                    actor_id=None,
                    action="holidays.load",
                    result="rejected",
                    detail=f"{args.file.name}: {rejected}",
                )
                print(html.unescape(describe_rejection(rejected, args.file.name, texts)))
                outcome.append(False)
                return
            print(html.unescape(describe_loaded(loaded, texts, calendar.tz)))
            if loaded.moved:
                print("The notices are queued: the running bot sends them within seconds.")
            outcome.append(True)
        finally:
            await services.close()

    asyncio.run(run())
    return 0 if outcome and outcome[0] else 1


@contextmanager
def one_bot_per_database(
    settings: Settings, *, standby: bool = False, webhook: bool = False
) -> Iterator[Held]:
    """Hold the database's instance lock for as long as the command runs; yields whether it
    is held (not only for a standby stopped before it took over) and, on PostgreSQL, the
    fence that keeps the bot's writes to while it holds it.

    On SQLite (runtime/instance.py) another bot on the database already means one line and
    exit code 2. On PostgreSQL (runtime/standby.py) ``run`` (``standby``) waits as the standby
    until the active one stops; ``migrate`` is refused like on SQLite.

    Taken by ``run``, ``run --webhook``, ``sandbox`` (in sandbox/) and ``migrate``. The
    other commands only read (``backup``, ``export``, ``ledger``, ``migrate-to``, which reads
    the SQLite file from one snapshot) or write in short
    transactions the running bot waits for (``invite``, ``invites``, ``add-official``,
    ``import``, ``holidays``): they run alongside the bot without the lock
    (docs/hardening.md, "One bot per database").
    """
    if settings.storage.url is not None:
        with _active_on_server(settings, standby=standby, webhook=webhook) as held:
            yield Held(held is not None, None if held is None else held.fence())
        return
    try:
        lock = InstanceLock(settings.storage.path).acquire()
    except AlreadyRunning as exc:
        raise CommandError(str(exc)) from None
    try:
        yield Held(active=True)
    finally:
        lock.release()


@dataclass(frozen=True)
class Held:
    """What :func:`one_bot_per_database` holds: whether this process is the active bot, and on
    PostgreSQL the fence its writes go through (storage/postgres.py :class:`Fence`)."""

    active: bool
    fence: Fence | None = None


@contextmanager
def _active_on_server(
    settings: Settings, *, standby: bool, webhook: bool
) -> Iterator[ActiveLock | None]:
    import psycopg

    from runtime.standby import ActiveLock, describe, take_the_lead

    assert settings.storage.url is not None
    url = settings.storage.url.get_secret_value()
    if standby:
        try:
            lock = take_the_lead(settings, webhook=webhook)
        except OSError as exc:  # the standby's /healthz port taken
            raise CommandError(f"cannot serve /healthz while standing by: {exc}") from None
    else:
        lock = ActiveLock(url, settings.failover)
        try:
            taken = lock.try_acquire()
        except psycopg.Error as exc:
            raise CommandError(f"cannot reach {describe(url)}: {exc}") from None
        if not taken:
            holder = lock.holder()
            lock.release()
            raise CommandError(
                f"another bot is already running on {describe(url)} ({holder});"
                " stop it first, or give this one another [storage] url"
            )
    try:
        yield lock
    finally:
        if lock is not None:
            lock.release()


def settings_bot_username(settings: Settings) -> str:
    """The bot's username for links printed offline; asked of Telegram when the bot runs."""
    return settings.telegram.username or "your_bot"


def _with_db(settings: Settings, action: Callable[[Database], Coroutine[Any, Any, None]]) -> int:
    async def go() -> None:
        db = await open_database(
            settings.storage.target, busy_timeout_ms=settings.storage.busy_timeout_ms
        )
        try:
            await action(db)
        finally:
            await db.close()

    asyncio.run(go())
    return 0


COMMANDS: dict[str, Callable[[Settings, argparse.Namespace], int]] = {
    "run": cmd_run,
    "sandbox": cmd_sandbox,
    "migrate": cmd_migrate,
    "backup": cmd_backup,
    "migrate-to": cmd_migrate_to,
    "invite": cmd_invite,
    "add-official": cmd_add_official,
    "import": cmd_import,
    "export": cmd_export,
    "invites": cmd_invites,
    "ledger": cmd_ledger,
    "holidays": cmd_holidays,
}
