"""reply_markup: validation like Telegram's, and the button look-ups simulated users need."""

from __future__ import annotations

from typing import Any

from standin import errors
from standin.errors import bad_request

JSON = dict[str, Any]
INLINE_ACTIONS = frozenset(
    {
        "url",
        "callback_data",
        "web_app",
        "login_url",
        "switch_inline_query",
        "switch_inline_query_current_chat",
        "switch_inline_query_chosen_chat",
        "copy_text",
        "callback_game",
        "pay",
    }
)
URL_SCHEMES = ("http://", "https://", "tg://")
MARKUP_INVALID = "can't parse reply keyboard markup JSON object"


def checked_markup(markup: Any, *, inline_only: bool = False) -> JSON | None:
    """Validate a reply_markup parameter; edits accept inline keyboards only."""
    if markup is None:
        return None
    if not isinstance(markup, dict):
        raise bad_request(MARKUP_INVALID)
    if "inline_keyboard" in markup:
        _check_inline(markup["inline_keyboard"])
    elif inline_only:
        raise bad_request("inline keyboard expected")
    elif "keyboard" in markup:
        _check_keyboard(markup["keyboard"])
    elif markup.get("remove_keyboard") is not True and markup.get("force_reply") is not True:
        raise bad_request(MARKUP_INVALID)
    return markup


def _rows(rows: Any) -> list[list[Any]]:
    if not isinstance(rows, list) or not all(isinstance(row, list) for row in rows):
        raise bad_request(MARKUP_INVALID)
    return rows


def _check_inline(rows: Any) -> None:
    for row in _rows(rows):
        for button in row:
            if not isinstance(button, dict) or not isinstance(button.get("text"), str):
                raise bad_request(
                    'can\'t parse inline keyboard button: Field "text" must be of type String'
                )
            actions = INLINE_ACTIONS & button.keys()
            if len(actions) != 1:
                raise bad_request("text buttons are unallowed in the inline keyboard")
            data = button.get("callback_data")
            if "callback_data" in button and not _valid_callback_data(data):
                raise bad_request(errors.BUTTON_DATA_INVALID)
            url = button.get("url")
            if "url" in button and not str(url).startswith(URL_SCHEMES):
                raise bad_request("BUTTON_URL_INVALID")


def _valid_callback_data(data: Any) -> bool:
    return isinstance(data, str) and 1 <= len(data.encode()) <= 64


def _check_keyboard(rows: Any) -> None:
    for row in _rows(rows):
        for button in row:
            if isinstance(button, str):
                continue
            if not isinstance(button, dict) or not isinstance(button.get("text"), str):
                raise bad_request(
                    'can\'t parse keyboard button: Field "text" must be of type String'
                )
            request = button.get("request_users")
            if request is not None and not isinstance(
                request.get("request_id") if isinstance(request, dict) else None, int
            ):
                raise bad_request(
                    'can\'t parse keyboard button: Field "request_id" must be of type Integer'
                )


def inline_part(markup: JSON | None) -> JSON | None:
    """What a Message object carries: only inline keyboards are echoed back."""
    return markup if markup is not None and "inline_keyboard" in markup else None


def inline_buttons(markup: JSON | None) -> list[JSON]:
    """Every inline button, row by row."""
    rows = (markup or {}).get("inline_keyboard", [])
    return [button for row in rows for button in row]


def find_inline_button(markup: JSON | None, label: str) -> JSON | None:
    """The button whose text is ``label``, else the one whose callback_data is."""
    buttons = inline_buttons(markup)
    for key in ("text", "callback_data"):
        for button in buttons:
            if button.get(key) == label:
                return button
    return None


def keyboard_buttons(markup: JSON | None) -> list[JSON]:
    """Every reply-keyboard button as a dict (plain strings become {"text": ...})."""
    rows = (markup or {}).get("keyboard", [])
    return [b if isinstance(b, dict) else {"text": b} for row in rows for b in row]
