"""Phone numbers: normalised to E.164 and stored only as a keyed hash plus the last four digits.

Callers type numbers in every common Chinese form: ``138 0013 8000``, ``138-0013-8000``,
``+86 138…``, ``0086 138…``, ``86138…``, landlines with a trunk ``0`` (``024-2345 6789``).
"""

from __future__ import annotations

import hashlib
import hmac
import re

CHINA = "86"
_NOISE = re.compile(r"[\s\-().·/]+")
_MOBILE = re.compile(r"1[3-9]\d{9}")
_LANDLINE = re.compile(r"0[1-9]\d{8,10}")


def normalize_phone(text: str) -> str | None:
    """The number in E.164 (``+8613800138000``), or None if it is not a Chinese number."""
    digits = _NOISE.sub("", text.strip())
    digits = digits.translate({0xFF10 + i: ord("0") + i for i in range(10)})
    international = digits.startswith(("+", "00"))
    digits = digits.removeprefix("+") if digits.startswith("+") else digits
    if digits.startswith("00"):
        digits = digits[2:]
    if not digits.isascii() or not digits.isdigit():
        return None
    if international or (digits.startswith(CHINA) and len(digits) == 13):
        if not digits.startswith(CHINA):
            return None
        national = digits[len(CHINA) :]
        if _MOBILE.fullmatch(national) or _LANDLINE.fullmatch("0" + national):
            return f"+{CHINA}{national}"
        return None
    if _MOBILE.fullmatch(digits):
        return f"+{CHINA}{digits}"
    if _LANDLINE.fullmatch(digits):
        return f"+{CHINA}{digits[1:]}"
    return None


def last4(e164: str) -> str:
    return e164[-4:]


def mask(last_four: str) -> str:
    """How a number is shown: ``…1234``."""
    return f"…{last_four}"


class PhoneHasher:
    """Keyed hashes of E.164 numbers (HMAC-SHA256 under ``[security] hash_key``)."""

    def __init__(self, key: str) -> None:
        self._key = key.encode()

    def hash(self, e164: str) -> str:
        return hmac.new(self._key, b"phone:" + e164.encode(), hashlib.sha256).hexdigest()
