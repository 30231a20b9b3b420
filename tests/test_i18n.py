"""Message catalogs: both languages have every key, with the same placeholders."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from bot.i18n import (
    Html,
    MissingText,
    Translator,
    catalog,
    pick_language,
    placeholders,
    say_when,
    translate,
)


def test_every_key_exists_in_both_languages() -> None:
    zh, en = catalog("zh"), catalog("en")
    assert sorted(set(zh) - set(en)) == []
    assert sorted(set(en) - set(zh)) == []


def test_placeholders_match_between_languages() -> None:
    zh, en = catalog("zh"), catalog("en")
    mismatched = [key for key in zh if placeholders(zh[key]) != placeholders(en[key])]
    assert mismatched == []


def test_values_are_escaped_unless_marked_html() -> None:
    text = translate("en", "start.official", name="<b>Eve</b> & co")
    assert "&lt;b&gt;Eve&lt;/b&gt; &amp; co" in text
    assert "<i>x</i>" in translate("en", "start.official", name=Html("<i>x</i>"))


def test_missing_key_is_an_error() -> None:
    with pytest.raises(MissingText):
        translate("zh", "no.such.key")


@pytest.mark.parametrize(
    ("chosen", "telegram", "expected"),
    [
        (None, "en-US", "en"),
        (None, "zh-hans", "zh"),
        (None, "ru", "zh"),
        ("zh", "en", "zh"),
        (None, None, "zh"),
    ],
)
def test_language_choice(chosen: str | None, telegram: str | None, expected: str) -> None:
    assert pick_language(chosen, telegram, "zh") == expected


def test_a_moment_says_tomorrow_or_its_date_when_it_is_not_today() -> None:
    tz = ZoneInfo("Asia/Shanghai")
    now = datetime(2026, 3, 3, 23, 55, tzinfo=tz)
    zh, en = Translator("zh"), Translator("en")
    cases = [
        (datetime(2026, 3, 3, 23, 59, tzinfo=tz), "23:59", "23:59"),
        (datetime(2026, 3, 4, 0, 24, tzinfo=tz), "明天 00:24", "tomorrow at 00:24"),
        (datetime(2026, 3, 5, 9, 0, tzinfo=tz), "2026-03-05 09:00", "2026-03-05 at 09:00"),
        (datetime(2026, 3, 2, 23, 59, tzinfo=tz), "2026-03-02 23:59", "2026-03-02 at 23:59"),
    ]
    for moment, in_zh, in_en in cases:
        # The same moment in UTC: the day is the reader's (Shanghai), not the server's.
        utc = moment.astimezone(UTC)
        assert say_when(zh, utc, now=now.astimezone(UTC), tz=tz) == in_zh
        assert say_when(en, utc, now=now.astimezone(UTC), tz=tz) == in_en
