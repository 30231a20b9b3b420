"""Telegram HTML parsing, the text limits and the safe rendering for the sandbox."""

from __future__ import annotations

import pytest

from standin.errors import ApiError
from standin.formatting import message_text, strip
from standin.html import parse_html, utf16_len
from standin.render import render_html


def test_tags_become_entities_with_utf16_offsets() -> None:
    text, entities = parse_html(
        '😀 <b>bold <i>both</i></b> <a href="https://x.org/?a=1&amp;b">l</a>'
    )
    assert text == "😀 bold both l"
    assert entities == [
        {"type": "bold", "offset": 3, "length": 9},
        {"type": "italic", "offset": 8, "length": 4},
        {"type": "text_link", "offset": 13, "length": 1, "url": "https://x.org/?a=1&b"},
    ]


@pytest.mark.parametrize(
    ("source", "entity"),
    [
        ("<s>x</s>", {"type": "strikethrough", "offset": 0, "length": 1}),
        ("<ins>x</ins>", {"type": "underline", "offset": 0, "length": 1}),
        ('<span class="tg-spoiler">x</span>', {"type": "spoiler", "offset": 0, "length": 1}),
        ("<tg-spoiler>x</tg-spoiler>", {"type": "spoiler", "offset": 0, "length": 1}),
        ("<code>x</code>", {"type": "code", "offset": 0, "length": 1}),
        (
            '<pre><code class="language-python">x</code></pre>',
            {"type": "pre", "offset": 0, "length": 1, "language": "python"},
        ),
        (
            "<blockquote expandable>x</blockquote>",
            {"type": "expandable_blockquote", "offset": 0, "length": 1},
        ),
        (
            '<tg-emoji emoji-id="5368324170671202286">👍</tg-emoji>',
            {
                "type": "custom_emoji",
                "offset": 0,
                "length": 2,
                "custom_emoji_id": "5368324170671202286",
            },
        ),
    ],
)
def test_every_allowed_tag(source: str, entity: dict[str, object]) -> None:
    assert parse_html(source)[1] == [entity]


def test_character_references() -> None:
    assert parse_html("a &lt; b &gt; c &amp; &quot;d&quot; &#65;&#x42;")[0] == 'a < b > c & "d" AB'


@pytest.mark.parametrize(
    ("source", "reason"),
    [
        ("<foo>x</foo>", 'Unsupported start tag "foo" at byte offset 0'),
        ("1 < 2", 'Unsupported start tag "" at byte offset 2'),
        ("<b>x", 'Can\'t find end tag corresponding to start tag "b"'),
        ("<b>x</i>", 'Unmatched end tag at byte offset 4, expected "</b>", found "</i>"'),
        ("x</b>", "Unexpected end tag at byte offset 1"),
        ("<b", "Unclosed start tag at byte offset 0"),
        ("<span>x</span>", 'Tag "span" must have class "tg-spoiler" at byte offset 0'),
        ("Tom & Jerry", 'Unescaped "&" at byte offset 4'),
    ],
)
def test_bad_markup_is_refused_like_telegram(source: str, reason: str) -> None:
    with pytest.raises(ApiError) as caught:
        parse_html(source)
    assert caught.value.error_code == 400
    assert caught.value.description.startswith(f"Bad Request: can't parse entities: {reason}")


def test_bare_ampersand_passes_when_not_strict() -> None:
    assert parse_html("Tom & Jerry", strict_ampersand=False) == ("Tom & Jerry", [])


def test_whitespace_is_trimmed_and_entities_follow() -> None:
    assert strip("  <x> ", [{"type": "bold", "offset": 0, "length": 5}]) == (
        "<x>",
        [{"type": "bold", "offset": 0, "length": 3}],
    )


def test_length_counts_utf16_units() -> None:
    assert utf16_len("😀a") == 3
    message_text({"text": "😀" * 2048}, strict_ampersand=True)
    with pytest.raises(ApiError, match="message is too long"):
        message_text({"text": "😀" * 2048 + "x"}, strict_ampersand=True)
    with pytest.raises(ApiError, match="message text is empty"):
        message_text({"text": "<b> </b>", "parse_mode": "HTML"}, strict_ampersand=True)


def test_markdown_is_refused() -> None:
    with pytest.raises(ApiError, match="can't parse entities"):
        message_text({"text": "*x*", "parse_mode": "MarkdownV2"}, strict_ampersand=True)


def test_rendering_escapes_text_and_keeps_only_safe_links() -> None:
    text, entities = parse_html(
        '<b>&lt;script&gt;</b> <a href="javascript:alert(1)">x</a> <a href="https://a.b">y</a>'
    )
    assert render_html(text, entities) == ('<b>&lt;script&gt;</b> x <a href="https://a.b">y</a>')


def test_rendering_adjacent_and_nested_entities() -> None:
    text, entities = parse_html("<i>a</i><i>b</i><b>c<u>d</u></b>e")
    assert render_html(text, entities) == "<i>a</i><i>b</i><b>c<u>d</u></b>e"
