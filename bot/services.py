"""Everything a handler or job needs, opened once at start and closed at shutdown."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta
from typing import TYPE_CHECKING

from bot.accounts import Accounts
from bot.alarm import Alarm, Courier
from bot.backups import BackupJob
from bot.broadcast_delivery import Broadcaster
from bot.clock import Clock, SystemClock
from bot.config import Settings
from bot.deadlines import calendar_for
from bot.delivery import Sender
from bot.dialogues import Dialogues
from bot.digests import Digests
from bot.directory import Directory
from bot.dispatch import Notices
from bot.holiday_schedule import HolidaySchedules
from bot.impostors import ImpostorReports
from bot.intake import Drafts
from bot.invites import Invites
from bot.marks import MarkPort, Marks
from bot.notices import ContactNotices
from bot.offices import Offices
from bot.outbox import Outbox, QuietHours
from bot.privacy import Privacy
from bot.reminders import ReminderFiring, ReminderPlanner
from bot.requests import RequestDesk
from bot.roles import Actor, Ownerships, identify
from bot.systemic_issues import SystemicDesk
from bot.verification import Verifier
from bot.visits import SiteVisits
from storage.admins import AdminRepository
from storage.audit import AuditLog
from storage.broadcasts import BroadcastStore
from storage.db import Database, open_database
from storage.dialogues import DialogueRepository
from storage.digests import DigestRepository
from storage.enterprises import EnterpriseRepository
from storage.holidays import HolidayScheduleRepository
from storage.identities import IdentityRepository
from storage.invites import InviteRepository
from storage.marks import MarkRepository
from storage.officials import OfficialRepository
from storage.outbox import OutboxRepository
from storage.privacy import PrivacyRepository
from storage.processed_updates import ProcessedUpdates
from storage.reminders import ReminderRepository
from storage.requests import RequestRepository
from storage.stats import StatsRepository
from storage.systemic_issues import SystemicIssueRepository
from storage.users import UserRepository
from storage.verification import VerificationRepository
from storage.visits import VisitRepository

if TYPE_CHECKING:
    from storage.postgres import Fence


@dataclass
class Services:
    settings: Settings
    db: Database
    clock: Clock = field(default_factory=SystemClock)
    bot_username: str = "liaison_bot"

    def __post_init__(self) -> None:
        self.users = UserRepository(self.db)
        self.officials = OfficialRepository(self.db)
        self.enterprises = EnterpriseRepository(self.db)
        self.identities = IdentityRepository(self.db)
        self.invites = Invites(InviteRepository(self.db), uow=self.db)
        self.directory = Directory(self.officials, self.enterprises, uow=self.db)
        self.audit = AuditLog(self.db)
        self.offices = Offices(
            AdminRepository(self.db),
            self.settings.admins.telegram_ids,
            invites=self.invites,
            audit=self.audit,
            uow=self.db,
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
        self.stats = StatsRepository(self.db)
        self.requests = RequestRepository(self.db)
        self.drafts = Drafts(self.requests, self.clock)
        self.dialogues = Dialogues(
            DialogueRepository(self.db),
            self.clock,
            timeout=timedelta(seconds=self.settings.requests.conversation_timeout_seconds),
            uow=self.db,
        )
        self.verification = VerificationRepository(self.db)
        self.verifier = Verifier(
            self.verification, self.officials, self.audit, self.settings, self.db
        )
        self.notices = ContactNotices(
            self.verification, officials=self.officials, clock=self.clock, uow=self.db
        )
        self.impostors = ImpostorReports(self.verification, clock=self.clock, uow=self.db)
        self.accounts = Accounts(
            self.users, default_language=self.settings.locale.default_language, uow=self.db
        )
        # One calendar for the whole bot: a loaded holiday schedule changes it in place.
        self.calendar = calendar_for(self.settings)
        self.quiet = QuietHours(self.settings.quiet_hours, self.calendar)
        self.outbox = Outbox(
            OutboxRepository(self.db),
            quiet=self.quiet,
            settings=self.settings.reminders,
            accounts=self.accounts,
            admins=self.offices.province_admins,
            uow=self.db,
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
        marks = Marks(
            MarkRepository(self.db),
            outbox=self.outbox,
            accounts=self.accounts,
            settings=self.settings.verification,
            admins=self.offices.province_admins,
            uow=self.db,
        )
        self.reminders = ReminderRepository(self.db)
        self.courier = Courier(self.outbox, self.clock)
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
            wake=self.courier.deliver_soon,
            drafts=self.drafts,
        )
        self.visits = SiteVisits(
            VisitRepository(self.db),
            officials=self.officials,
            clock=self.clock,
            uow=self.db,
            wake=self.courier.deliver_soon,
        )
        self.firing = ReminderFiring(
            self.reminders,
            planner=self.planner,
            desk=self.desk,
            officials=self.officials,
            accounts=self.accounts,
            outbox=self.outbox,
            offices=self.offices,
            batch_size=self.settings.reminders.batch_size,
            uow=self.db,
        )
        self.holidays = HolidaySchedules(
            HolidayScheduleRepository(self.db),
            calendar=self.calendar,
            clock=self.clock,
            planner=self.planner,
            officials=self.officials,
            enterprises=self.enterprises,
            accounts=self.accounts,
            outbox=self.outbox,
            locale=self.settings.locale,
            offices=self.offices,
            uow=self.db,
            wake=self.courier.deliver_soon,
        )
        digests = Digests(
            DigestRepository(self.db),
            accounts=self.accounts,
            outbox=self.outbox,
            calendar=self.calendar,
            quiet=self.quiet,
            digest_time=self.settings.quiet_hours.digest_time,
            max_items=self.settings.reminders.digest_max_items,
            uow=self.db,
        )
        self.alarm = Alarm(
            self.courier,
            clock=self.clock,
            holidays=self.holidays,
            digests=digests,
            firing=self.firing,
            marks=marks,
        )
        self.privacy = Privacy(
            PrivacyRepository(self.db),
            audit=self.audit,
            accounts=self.accounts,
            dialogues=self.dialogues,
            drafts=self.drafts,
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
            uow=self.db,
        )
        self.ownerships = Ownerships(
            requests=self.requests,
            verification=self.verification,
            officials=self.officials,
            enterprises=self.enterprises,
            users=self.users,
            admins=self.offices.repo,
            issues=self.systemic.repo,
            broadcasts=self.broadcasts.store,
        )

    async def actor(self, telegram_id: int) -> Actor:
        """Who ``telegram_id`` is right now: admin, official, enterprise contact, or a guest."""
        return await identify(telegram_id, offices=self.offices, identities=self.identities)

    def deliver_soon(self) -> None:
        """Something just queued messages: send them now (:meth:`Courier.deliver_soon`)."""
        self.courier.deliver_soon()

    @property
    def sender(self) -> Sender | None:
        """The one sender, given at start by the Telegram side (handlers/reminders.py)."""
        return self.courier.sender

    @sender.setter
    def sender(self, sender: Sender | None) -> None:
        self.courier.sender = sender

    @property
    def mark_port(self) -> MarkPort | None:
        """Set at start when [verification] telegram_mark is on (handlers/marks.py)."""
        return self.alarm.mark_port

    @mark_port.setter
    def mark_port(self, port: MarkPort | None) -> None:
        self.alarm.mark_port = port

    @classmethod
    async def open(
        cls, settings: Settings, clock: Clock | None = None, fence: Fence | None = None
    ) -> Services:
        """The services on the database the settings name; ``fence``: on PostgreSQL, the
        active instance's of a pair (storage/postgres.py)."""
        db = await open_database(
            settings.storage.target, busy_timeout_ms=settings.storage.busy_timeout_ms, fence=fence
        )
        try:
            services = cls(settings=settings, db=db, clock=clock or SystemClock())
            await services.dialogues.load()
            await services.holidays.sync()
            return services
        except BaseException:
            await db.close()  # an open connection would keep the process from exiting
            raise

    async def close(self) -> None:
        await self.courier.close()
        await self.db.close()
