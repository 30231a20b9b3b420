"""Everything a handler or job needs, opened once at start and closed at shutdown."""

from __future__ import annotations

from dataclasses import dataclass, field

from bot.accounts import Accounts
from bot.broadcast_delivery import Broadcaster
from bot.clock import Clock, SystemClock
from bot.config import Settings
from bot.requests import RequestDesk
from bot.verification import Verifier
from storage.audit import AuditLog
from storage.broadcasts import BroadcastStore
from storage.db import Database
from storage.enterprises import EnterpriseRepository
from storage.invites import InviteRepository
from storage.officials import OfficialRepository
from storage.requests import RequestRepository
from storage.rosters import RosterRepository
from storage.stats import StatsRepository
from storage.users import UserRepository
from storage.verification import VerificationRepository
from storage.visits import VisitRepository


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
        self.invites = InviteRepository(self.db)
        self.audit = AuditLog(self.db)
        self.rosters = RosterRepository(self.db)
        self.stats = StatsRepository(self.db)
        self.requests = RequestRepository(self.db)
        self.visits = VisitRepository(self.db)
        self.desk = RequestDesk(
            self.requests, self.officials, self.enterprises, self.settings, self.clock
        )
        self.verification = VerificationRepository(self.db)
        self.verifier = Verifier(self.verification, self.officials, self.audit, self.settings)
        self.accounts = Accounts(self.users, default_language=self.settings.locale.default_language)
        self.broadcasts = Broadcaster(
            BroadcastStore(self.db),
            self.accounts,
            settings=self.settings.broadcast,
            clock=self.clock,
            default_language=self.settings.locale.default_language,
        )

    @classmethod
    async def open(cls, settings: Settings, clock: Clock | None = None) -> Services:
        db = await Database.open(
            settings.storage.path, busy_timeout_ms=settings.storage.busy_timeout_ms
        )
        return cls(settings=settings, db=db, clock=clock or SystemClock())

    async def close(self) -> None:
        await self.db.close()
