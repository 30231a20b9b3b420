"""The broadcast domain without Telegram: audiences, the footer, the pacer, batched claims and
outcomes under the duplicate bound, typed times."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from bot.broadcast_delivery import (
    Delivery,
    Outcome,
    Pacer,
    burst_of,
    duplicate_bound,
    window_of,
)
from bot.broadcasts import (
    Audience,
    AudienceKind,
    BroadcastStatus,
    RecipientStatus,
    Settled,
    Tally,
    fits,
    render,
    visible_length,
)
from bot.clock import SystemClock
from bot.config import BroadcastSettings
from bot.delivery import Outgoing
from handlers.broadcast_composer import parse_time
from storage.broadcasts import Broadcast, Recipient

SHANGHAI = ZoneInfo("Asia/Shanghai")


def test_audience_round_trips_and_is_validated() -> None:
    audience = Audience(AudienceKind.CITY, "沈阳")
    assert Audience.loads(audience.dumps()) == audience
    assert Audience.loads(Audience(AudienceKind.EVERYONE).dumps()).kind is AudienceKind.EVERYONE
    with pytest.raises(ValueError, match="needs"):
        Audience(AudienceKind.CITY)
    with pytest.raises(ValueError, match="takes no"):
        Audience(AudienceKind.OFFICIALS, "x")
    with pytest.raises(ValueError, match="stage"):
        Audience(AudienceKind.STAGE, "huge")
    with pytest.raises(ValueError, match="category"):
        Audience(AudienceKind.CATEGORY, "tax")
    with pytest.raises(ValueError, match="number"):
        Audience(AudienceKind.PORTFOLIO, "LN-001")


def test_every_announcement_ends_with_the_footer_in_the_readers_language() -> None:
    assert render("<b>通知</b>", "zh").endswith(
        "转账或密码。如遇此类要求，请立即在本机器人中核验并举报。"
    )
    assert "never ask you for money" in render("<b>Notice</b>", "en")


def test_length_is_counted_without_markup_and_with_the_footer() -> None:
    assert visible_length("<b>a &amp; b</b>") == 5
    assert visible_length("😀") == 2  # UTF-16 code units, as Telegram counts
    assert fits("x" * 900, with_media=False)
    assert not fits("x" * 1000, with_media=True)
    assert fits(f"<b>{'x' * 800}</b>", with_media=True)


class Ticker:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_pacer_spaces_sends() -> None:
    clock = Ticker()
    pacer = Pacer(rate=25, burst=1, now=clock)
    waits = [pacer.reserve() for _ in range(4)]
    assert waits == pytest.approx([0.0, 0.04, 0.08, 0.12])


def test_pacer_holds_its_rate_however_long_sends_take() -> None:
    clock = Ticker()
    pacer = Pacer(rate=10, burst=2, now=clock)
    slots = []
    for _ in range(100):
        wait = pacer.reserve()
        clock.now += wait + 0.03  # sleep until the slot, then the send takes 30 ms
        slots.append(clock.now)
    assert (slots[-1] - slots[0]) == pytest.approx(9.9, abs=0.2)


def test_flood_control_pauses_every_send() -> None:
    clock = Ticker()
    pacer = Pacer(rate=25, now=clock)
    pacer.pause(5)
    assert pacer.reserve() == pytest.approx(5.0)


def test_tally_counts_what_remains() -> None:
    tally = Tally.of(
        {RecipientStatus.SENT: 3, RecipientStatus.PENDING: 2, RecipientStatus.SENDING: 1}
    )
    assert (tally.total, tally.remaining) == (6, 3)


@pytest.mark.parametrize(
    ("typed", "expected"),
    [
        ("10:30", datetime(2026, 3, 2, 10, 30, tzinfo=SHANGHAI)),
        ("9:00", datetime(2026, 3, 3, 9, 0, tzinfo=SHANGHAI)),
        ("2026-03-05 08:15", datetime(2026, 3, 5, 8, 15, tzinfo=SHANGHAI)),
        ("25:00", None),
        ("2026-02-30 08:00", None),
        ("tomorrow", None),
    ],
)
def test_typed_times_are_local(typed: str, expected: datetime | None) -> None:
    now = datetime(2026, 3, 2, 10, 0, tzinfo=SHANGHAI)
    assert parse_time(typed, now, SHANGHAI) == expected


class Recorder:
    """A store in memory that records each claim and outcome batch, and how many recipients
    are ``sending`` at most; a sender that takes a millisecond."""

    def __init__(self, ids: list[int]) -> None:
        self.status = dict.fromkeys(ids, RecipientStatus.PENDING)
        self.claims: list[int] = []
        self.flushes: list[int] = []
        self.most_sending = 0
        self.sent: list[int] = []

    async def pending(self, broadcast_id: int, *, page: int) -> AsyncIterator[list[Recipient]]:
        ids = [i for i, s in self.status.items() if s is RecipientStatus.PENDING]
        for first in range(0, len(ids), page):
            yield [Recipient(i, "zh", None, False) for i in ids[first : first + page]]

    @contextlib.asynccontextmanager
    async def transaction(self) -> AsyncIterator[None]:
        """The unit of work the delivery opens around a claim and a flush (nothing here)."""
        yield

    async def claim(self, tx: object, broadcast_id: int, telegram_ids: list[int]) -> set[int]:
        claimed = {i for i in telegram_ids if self.status[i] is RecipientStatus.PENDING}
        self.status.update(dict.fromkeys(claimed, RecipientStatus.SENDING))
        self.claims.append(len(claimed))
        sending = sum(1 for s in self.status.values() if s is RecipientStatus.SENDING)
        self.most_sending = max(self.most_sending, sending)
        return claimed

    async def finish(self, tx: object, broadcast_id: int, outcomes: list[Settled]) -> None:
        self.flushes.append(len(outcomes))
        self.status.update({o.telegram_id: o.status for o in outcomes})

    async def send(self, message: Outgoing) -> None:
        await asyncio.sleep(0.001)
        self.sent.append(message.chat_id)


def test_the_window_scales_with_the_rate_and_bounds_the_duplicates() -> None:
    settings = BroadcastSettings()
    assert (window_of(20, settings), duplicate_bound(20, settings)) == (8, 24)
    assert (window_of(900, settings), duplicate_bound(900, settings)) == (90, 270)
    assert (burst_of(20), burst_of(900)) == (2, 45)  # the free pace keeps its burst of 2


async def test_claims_and_outcomes_go_in_batches_under_the_bound() -> None:
    settings = BroadcastSettings(paid_messages_per_second=1000, send_latency_seconds=0.05)
    ids = list(range(1, 501))
    store = Recorder(ids)
    broadcast = Broadcast(
        1, 1, "<b>通知</b>", None, None, Audience(AudienceKind.EVERYONE),
        BroadcastStatus.SENDING, None, None, None, None, None, datetime.now(UTC), paid=True,
    )  # fmt: skip
    delivery = Delivery(
        broadcast,
        store=store,  # type: ignore[arg-type]
        uow=store,  # type: ignore[arg-type]
        accounts=None,  # type: ignore[arg-type]  # no recipient is unreachable
        settings=settings,
        clock=SystemClock(),
        sender=store,
        cancelled=asyncio.Event(),
        keep_going=lambda: True,
        default_language="zh",
    )
    assert await delivery.run() is Outcome.DONE
    assert sorted(store.sent) == ids  # each once
    assert set(store.status.values()) == {RecipientStatus.SENT}
    window = window_of(1000, settings)
    assert max(store.claims) == window and len(store.claims) < len(ids) / 10
    assert len(store.flushes) < len(ids) / 10
    assert store.most_sending <= duplicate_bound(1000, settings)
