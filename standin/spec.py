"""The Bot API parameter list of every implemented method (``spec.json``).

Used twice: to turn form-encoded strings back into values (a parameter typed only as String
stays raw text, anything else is JSON, as python-telegram-bot encodes it), and to answer a
call that misses a required parameter with 400 "<name> is required".
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
        for name, field in self.methods.get(method, {}).items():
            if field["required"] and params.get(name) is None:
                raise bad_request(f"{name} is required")


def _json_or_raw(value: str) -> Any:
    try:
        return json.loads(value)
    except ValueError:
        return value
