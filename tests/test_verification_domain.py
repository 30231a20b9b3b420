"""The verification domain without Telegram: codes, hashes, verdicts, the throttle policy."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from bot.config import VerificationSettings
from bot.verification import (
    ThrottlePolicy,
    Verdict,
    blocked_until,
    card_payload,
    display_code,
    generate_code,
    guess_odds,
    hash_code,
    judge,
    new_card_token,
    parse_code,
    token_from_card_payload,
    valid_for,
)
from storage.verification import StoredCode

NOW = datetime(2026, 3, 2, 2, 0, tzinfo=UTC)
POLICY = ThrottlePolicy.from_settings(VerificationSettings())


def stored(**changes: object) -> StoredCode:
    values: dict[str, object] = {
        "id": 1,
        "code_hash": hash_code("48312907", "k"),
        "official_id": 7,
        "enterprise_id": None,
        "issued_at": NOW,
        "expires_at": NOW + timedelta(minutes=5),
        "used_at": None,
        "portfolio": frozenset({3, 4}),
    }
    values.update(changes)
    return StoredCode(**values)  # type: ignore[arg-type]


def test_codes_have_the_configured_digits_and_group_by_four() -> None:
    codes = {generate_code(8) for _ in range(200)}
    assert all(len(c) == 8 and c.isdigit() for c in codes)
    assert len(codes) > 190
    assert display_code("04831290") == "0483 1290"


def test_typed_codes_are_parsed_leniently_and_strictly() -> None:
    assert parse_code(" 4831 2907 ", 8) == "48312907"
    assert parse_code("4831-2907", 8) == "48312907"
    assert parse_code("４８３１２９０７", 8) == "48312907"
    assert parse_code("4831 290", 8) is None
    assert parse_code("4831 29O7", 8) is None
    assert parse_code("٤٨٣١٢٩٠٧", 8) is None


def test_hashes_are_keyed() -> None:
    assert hash_code("48312907", "a") != hash_code("48312907", "b")
    assert "48312907" not in hash_code("48312907", "a")


def test_every_failure_is_the_same_verdict() -> None:
    computed = hash_code("48312907", "k")
    mine = frozenset({3})
    assert judge(stored(), computed, now=NOW, enterprise_ids=mine, own_official_id=None) is (
        Verdict.VERIFIED
    )
    failures = [
        judge(None, computed, now=NOW, enterprise_ids=mine, own_official_id=None),
        judge(stored(used_at=NOW), computed, now=NOW, enterprise_ids=mine, own_official_id=None),
        judge(
            stored(),
            computed,
            now=NOW + timedelta(minutes=5),
            enterprise_ids=mine,
            own_official_id=None,
        ),
        judge(
            stored(enterprise_id=4), computed, now=NOW, enterprise_ids=mine, own_official_id=None
        ),
        judge(stored(), computed, now=NOW, enterprise_ids=frozenset(), own_official_id=None),
        # An open code of an official whose portfolio does not hold the user's enterprise.
        judge(
            stored(portfolio=frozenset({4, 5})),
            computed,
            now=NOW,
            enterprise_ids=mine,
            own_official_id=None,
        ),
        # A code for an enterprise the official is no longer assigned to.
        judge(
            stored(enterprise_id=3, portfolio=frozenset({4})),
            computed,
            now=NOW,
            enterprise_ids=mine,
            own_official_id=None,
        ),
    ]
    assert set(failures) == {Verdict.NOT_VERIFIED}
    assert judge(stored(), computed, now=NOW, enterprise_ids=mine, own_official_id=7) is (
        Verdict.OWN_CODE
    )


def test_a_code_is_valid_only_within_the_portfolio() -> None:
    assert valid_for(stored()) == {3, 4}
    assert valid_for(stored(enterprise_id=4)) == {4}
    assert valid_for(stored(enterprise_id=5)) == frozenset()
    assert valid_for(stored(portfolio=frozenset())) == frozenset()
    computed = hash_code("48312907", "k")
    several = frozenset({1, 4})
    assert judge(stored(), computed, now=NOW, enterprise_ids=several, own_official_id=None) is (
        Verdict.VERIFIED
    )


def test_cooldown_starts_at_the_limit_and_grows() -> None:
    minute = timedelta(minutes=1)
    four = [NOW + i * minute for i in range(4)]
    assert blocked_until(four, NOW + 4 * minute, POLICY) is None
    five = [*four, NOW + 4 * minute]
    assert blocked_until(five, NOW + 5 * minute, POLICY) == NOW + 19 * minute
    assert blocked_until(five, NOW + 20 * minute, POLICY) is None
    # Five more after the first cool-down: the day limit (10) holds until a day has passed.
    ten = [*five, *(NOW + (20 + i) * minute for i in range(5))]
    assert blocked_until(ten, NOW + 30 * minute, POLICY) == NOW + timedelta(days=1)


def test_cooldown_doubles_when_the_day_limit_is_higher() -> None:
    policy = ThrottlePolicy(
        per_window=2, window=timedelta(minutes=15), per_day=100, cooldown=timedelta(minutes=10)
    )
    minute = timedelta(minutes=1)
    first = [NOW, NOW + minute]
    assert blocked_until(first, NOW + 2 * minute, policy) == NOW + 11 * minute
    second = [*first, NOW + 20 * minute, NOW + 21 * minute]
    assert blocked_until(second, NOW + 22 * minute, policy) == NOW + 41 * minute


def test_card_payloads_fit_a_deep_link() -> None:
    payload = card_payload(new_card_token())
    assert len(payload) <= 64
    assert all(c.isalnum() or c in "_-" for c in payload)
    assert token_from_card_payload(payload) == payload.removeprefix("card_")
    assert token_from_card_payload("inv_x") is None


def test_guess_odds_with_the_defaults() -> None:
    space, guesses, odds = guess_odds(VerificationSettings())
    assert (space, guesses) == (100_000_000, 10)
    assert odds == 1e-7
    # A contact of two enterprises with two officials each, every one holding a live code.
    assert guess_odds(VerificationSettings(), live_codes=4)[2] == 4e-7
