"""Phone numbers: normalised to E.164, stored only as a keyed hash plus the last four digits.

A keyed hash (HMAC-SHA256 with ``[security] hash_key``) means a leaked database does not
reveal the numbers: without the key, trying every mainland number is not possible offline.
"""

from __future__ import annotations

import hashlib
import hmac
import re

_SEPARATORS = re.compile(r"[\s\-().]")
_MOBILE = re.compile(r"1[3-9]\d{9}")
_LANDLINE = re.compile(r"0[1-9]\d{8,10}")
_INTERNATIONAL = re.compile(r"\+[1-9]\d{7,14}")


class InvalidPhone(ValueError):
    """Not a phone number we can normalise."""


def normalize(raw: str) -> str:
    """E.164 for a mainland mobile, a landline with its area code, or a +country number."""
    number = _SEPARATORS.sub("", raw.strip())
    if number.startswith("00"):
        number = "+" + number[2:]
    if _MOBILE.fullmatch(number):
        return "+86" + number
    if _LANDLINE.fullmatch(number):
        return "+86" + number[1:]
    if _INTERNATIONAL.fullmatch(number):
        return number
    raise InvalidPhone(raw)


def phone_hash(e164: str, key: str) -> str:
    return hmac.new(key.encode(), e164.encode(), hashlib.sha256).hexdigest()


def last4(e164: str) -> str:
    return e164[-4:]


def mask(last_four: str) -> str:
    return f"****{last_four}"
