"""The Bot API parameter list of every implemented method (``spec.json``).

Used to turn form-encoded strings back into values (a parameter typed only as String stays
raw text, anything else is JSON, as python-telegram-bot encodes it), and to check a call's
parameters: a missing required parameter is answered 400 "<name> is required", as Telegram
does; a parameter the method does not take is reported by :meth:`Spec.violations` (Telegram
ignores it; the stand-in refuses it when strict, see ``TelegramStandin``).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from standin.errors import bad_request

SPEC_PATH = Path(__file__).with_name("spec.json")
RAW_TYPES = frozenset({"String", "InputFile"})


class Spec:
    """Parameter names, types and required flags per method."""

    def __init__(self, methods: dict[str, dict[str, dict[str, Any]]]) -> None:
        self.methods = methods

    @classmethod
    def load(cls, path: Path = SPEC_PATH) -> Spec:
        return cls(json.loads(path.read_text(encoding="utf-8"))["methods"])

    def decode(self, method: str, params: dict[str, Any]) -> dict[str, Any]:
        """JSON-decode the string values of parameters that are not plain strings."""
        fields = self.methods.get(method, {})
        decoded: dict[str, Any] = {}
        for name, value in params.items():
            types = fields.get(name, {}).get("types", [])
            raw = bool(types) and RAW_TYPES.issuperset(types)
            decoded[name] = value if raw or not isinstance(value, str) else _json_or_raw(value)
        return decoded

    def check_required(self, method: str, params: dict[str, Any]) -> None:
        """Raise 400 "<name> is required" for the first missing required parameter."""
        for name in self.missing(method, params):
            raise bad_request(f"{name} is required")

    def missing(self, method: str, params: dict[str, Any]) -> list[str]:
        """The required parameters of ``method`` that the call does not carry."""
        fields = self.methods.get(method, {})
        return [n for n, f in fields.items() if f["required"] and params.get(n) is None]

    def unknown(self, method: str, params: dict[str, Any]) -> list[str]:
        """The parameters of the call that ``method`` does not take."""
        fields = self.methods.get(method, {})
        return [name for name in params if name not in fields]

    def violations(self, method: str, params: dict[str, Any]) -> list[str]:
        """What is wrong with this call against the spec, one line each (empty if nothing)."""
        return [
            f"{method}: {name} is not a parameter of {method}"
            for name in self.unknown(method, params)
        ] + [f"{method}: {name} is required" for name in self.missing(method, params)]


def _json_or_raw(value: str) -> Any:
    try:
        return json.loads(value)
    except ValueError:
        return value
