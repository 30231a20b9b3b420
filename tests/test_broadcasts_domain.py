"""The broadcast domain without Telegram: audiences, the footer, the pacer, typed times."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from bot.broadcast_delivery import Pacer
from bot.broadcasts import (
    Audience,
    AudienceKind,
    RecipientStatus,
    Tally,
    fits,
    render,
    visible_length,
)
from handlers.broadcast_composer import parse_time

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
