"""Message catalogs: both languages have every key, with the same placeholders."""

from __future__ import annotations

import pytest

from bot.i18n import Html, MissingText, catalog, pick_language, placeholders, translate


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
