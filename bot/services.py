"""Everything a handler or job needs, opened once at start and closed at shutdown."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from datetime import timedelta

from bot.accounts import Accounts
from bot.backups import BackupJob
from bot.broadcast_delivery import Broadcaster
from bot.clock import Clock, SystemClock
from bot.config import Settings
from bot.deadlines import calendar_for
from bot.delivery import Sender
from bot.dialogues import Dialogues
from bot.dispatch import Notices
from bot.holiday_schedule import sync_calendar
from bot.marks import MarkPort, Marks
from bot.offices import Offices
from bot.outbox import Outbox, QuietHours
from bot.privacy import Privacy
from bot.reminders import ReminderPlanner, deliver_now
from bot.requests import RequestDesk
from bot.roles import Actor, identify
from bot.systemic_issues import SystemicDesk
from bot.verification import Verifier
from storage.admins import AdminRepository
from storage.audit import AuditLog
from storage.broadcasts import BroadcastStore
from storage.db import Database
from storage.dialogues import DialogueRepository
from storage.digests import DigestRepository
from storage.enterprises import EnterpriseRepository
from storage.holidays import HolidayScheduleRepository
from storage.invites import InviteRepository
from storage.marks import MarkRepository
from storage.officials import OfficialRepository
from storage.outbox import OutboxRepository
from storage.privacy import PrivacyRepository
from storage.processed_updates import ProcessedUpdates
from storage.reminders import ReminderRepository
from storage.requests import RequestRepository
from storage.rosters import RosterRepository
from storage.stats import StatsRepository
from storage.systemic_issues import SystemicIssueRepository
from storage.users import UserRepository
from storage.verification import VerificationRepository
from storage.visits import VisitRepository


@dataclass
class AlarmState:
    """The scheduler's wake-ups never overlap; recovery after a restart runs once."""

    lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    recovered: bool = False
    # The (year, week) the admins were last reminded of a missing holiday schedule for.
    schedule_reminded: tuple[int, int] | None = None


@dataclass
class Services:
    settings: Settings
    db: Database
    clock: Clock = field(default_factory=SystemClock)
    bot_username: str = "liaison_bot"
    sender: Sender | None = None
    # Set at start when [verification] telegram_mark is on (handlers/marks.py).
    mark_port: MarkPort | None = None

    def __post_init__(self) -> None:
        self.users = UserRepository(self.db)
        self.officials = OfficialRepository(self.db)
        self.enterprises = EnterpriseRepository(self.db)
        self.invites = InviteRepository(self.db)
        self.audit = AuditLog(self.db)
        self.offices = Offices(
            AdminRepository(self.db),
            self.settings.admins.telegram_ids,
            invites=self.invites,
            audit=self.audit,
        )
        self.processed_updates = ProcessedUpdates(self.db)
        storage = self.settings.storage
        self.backups = BackupJob(
            self.db,
            self.clock,
            storage.backup_dir,
            timedelta(hours=storage.backup_interval_hours),
            storage.backups_kept,
        )
        self.rosters = RosterRepository(self.db)
        self.stats = StatsRepository(self.db)
        self.requests = RequestRepository(self.db)
        self.visits = VisitRepository(self.db)
        self.dialogues = Dialogues(
            DialogueRepository(self.db),
            self.clock,
            timeout=timedelta(seconds=self.settings.requests.conversation_timeout_seconds),
        )
        self.verification = VerificationRepository(self.db)
        self.verifier = Verifier(
            self.verification, self.officials, self.audit, self.settings, self.db
        )
        self.accounts = Accounts(self.users, default_language=self.settings.locale.default_language)
        # One calendar for the whole bot: a loaded holiday schedule changes it in place.
        self.calendar = calendar_for(self.settings)
        self.holiday_schedules = HolidayScheduleRepository(self.db)
        self.quiet = QuietHours(self.settings.quiet_hours, self.calendar)
        self.outbox = Outbox(
            OutboxRepository(self.db),
            quiet=self.quiet,
            settings=self.settings.reminders,
            accounts=self.accounts,
            admin_ids=self.settings.admins.telegram_ids,
            max_in_flight=self.settings.delivery.max_in_flight,
        )
        self.systemic = SystemicDesk(
            SystemicIssueRepository(self.db),
            self.outbox,
            self.accounts,
            self.settings.systemic,
            self.clock,
            self.db,
        )
        self.marks = Marks(
            MarkRepository(self.db),
            outbox=self.outbox,
            accounts=self.accounts,
            settings=self.settings.verification,
            admin_ids=self.settings.admins.telegram_ids,
            uow=self.db,
        )
        self.reminders = ReminderRepository(self.db)
        self.digests = DigestRepository(self.db)
        self.alarm = AlarmState()
        self.planner = ReminderPlanner(self.settings, self.calendar, self.quiet, self.clock)
        self.desk = RequestDesk(
            self.requests,
            self.officials,
            self.enterprises,
            self.settings,
            self.clock,
            calendar=self.calendar,
            uow=self.db,
            planner=self.planner,
            notifier=Notices(
                officials=self.officials,
                enterprises=self.enterprises,
                accounts=self.accounts,
                outbox=self.outbox,
                offices=self.offices,
            ),
            wake=self.deliver_soon,
        )
        self._delivery: asyncio.Task[None] | None = None
        self._delivery_wanted = False
        self.privacy = Privacy(
            PrivacyRepository(self.db),
            audit=self.audit,
            accounts=self.accounts,
            dialogues=self.dialogues,
            clock=self.clock,
            hash_key=self.settings.security.hash_key.get_secret_value().encode(),
            tz=self.settings.locale.tz,
            settings=self.settings.privacy,
            uow=self.db,
        )
        self.broadcasts = Broadcaster(
            BroadcastStore(self.db),
            self.accounts,
            settings=self.settings.broadcast,
            clock=self.clock,
            default_language=self.settings.locale.default_language,
        )

    async def actor(self, telegram_id: int) -> Actor:
        """Who ``telegram_id`` is right now: admin, official, enterprise contact, or a guest."""
        return await identify(
            telegram_id,
            offices=self.offices,
            officials=self.officials,
            enterprises=self.enterprises,
        )

    def deliver_soon(self) -> None:
        """Something just queued messages (notices, a receipt): send them now rather than at
        the next wake-up (one task at a time; changes while it runs make it go round once
        more)."""
        self._delivery_wanted = True
        if self._delivery is None or self._delivery.done():
            self._delivery = asyncio.get_running_loop().create_task(self._deliver_while_wanted())

    async def _deliver_while_wanted(self) -> None:
        while self._delivery_wanted:
            self._delivery_wanted = False
            await deliver_now(self)

    @classmethod
    async def open(cls, settings: Settings, clock: Clock | None = None) -> Services:
        db = await Database.open(
            settings.storage.path, busy_timeout_ms=settings.storage.busy_timeout_ms
        )
        try:
            services = cls(settings=settings, db=db, clock=clock or SystemClock())
            await services.dialogues.load()
            await sync_calendar(services)
            return services
        except BaseException:
            await db.close()  # an open connection would keep the process from exiting
            raise

    async def close(self) -> None:
        if self._delivery is not None:
            await asyncio.gather(self._delivery, return_exceptions=True)
        await self.db.close()
