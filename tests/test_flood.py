"""The flood guard (bot/flood.py): a person's pace passes, a script's earns one warning."""

from __future__ import annotations

from bot.flood import FloodGuard, Verdict


def guard() -> FloodGuard:
    return FloodGuard(per_second=2.0, burst=5, quiet_seconds=10.0)


def test_a_person_typing_is_never_stopped() -> None:
    flood = guard()
    verdicts = {flood.judge("user", t * 0.7) for t in range(200)}  # a message every 0.7 s
    assert verdicts == {Verdict.TAKE}


def test_a_flood_gets_its_burst_one_warning_then_nothing() -> None:
    flood = guard()
    verdicts = [flood.judge("user", n * 0.01) for n in range(100)]  # 100 a second
    assert verdicts[:5] == [Verdict.TAKE] * 5
    assert verdicts[5] is Verdict.WARN
    assert set(verdicts[6:]) == {Verdict.DROP}
    assert flood.dropped == 95


def test_after_a_quiet_moment_the_user_is_heard_again() -> None:
    flood = guard()
    for n in range(50):
        flood.judge("user", n * 0.01)
    assert flood.judge("user", 0.6) is Verdict.DROP  # still flooding
    assert flood.judge("user", 12.0) is Verdict.TAKE  # ten quiet seconds later


def test_one_user_flooding_does_not_touch_another() -> None:
    flood = guard()
    for n in range(50):
        flood.judge("flooder", n * 0.01)
    assert flood.judge("someone else", 0.5) is Verdict.TAKE


def test_an_album_counts_once() -> None:
    flood = guard()
    verdicts = [flood.judge("user", 0.0, album="album-1") for _ in range(30)]
    assert set(verdicts) == {Verdict.TAKE}
