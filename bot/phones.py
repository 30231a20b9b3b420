"""Chinese phone numbers: normalised to E.164, stored as a keyed digest, shown masked.

Accepted: mobiles (1[3-9] and 9 more digits) and landlines with their area code, written with
the trunk 0 (024-12345678) or after the country code (+86 24 1234 5678, +86 (0)24 …), with any
spaces, dashes, dots, parentheses or full-width characters. Refused: 400/800 service numbers,
which reach a call centre rather than a person, so they can neither identify an official nor
reach an entrepreneur; landlines without their area code, whose city cannot be known; and
numbers of other countries.

A number is displayed everywhere as "…1234", its last four digits, which is all the database
keeps in clear.
"""

import hashlib
import hmac
import re
from typing import Literal

COUNTRY_CODE = "86"
INTERNATIONAL_PREFIX = "00"
TRUNK_PREFIX = "0"
MOBILE = re.compile(r"1[3-9]\d{9}", re.ASCII)
# Area code and local number without the trunk 0: Beijing 10 and 2x take 8-digit local
# numbers, 3-digit codes (Dalian 411) 7 or 8; a local number never starts with 0.
LANDLINE = re.compile(r"(?:10|2\d)[1-9]\d{7}|[3-9]\d{2}[1-9]\d{6,7}", re.ASCII)
LOCAL = re.compile(r"[1-9]\d{6,7}", re.ASCII)
SERVICE = re.compile(r"[48]00\d{7}", re.ASCII)
DIGITS = re.compile(r"\+?\d+", re.ASCII)
SEPARATORS = re.compile(r"[\s\-.()]")  # \s includes the full-width space
VISIBLE_DIGITS = 4
MASK_PREFIX = "…"
MIN_KEY_BYTES = 16

FULL_WIDTH_OFFSET = 0xFEE0  # from "！" (U+FF01)…"～" (U+FF5E) to "!"…"~"
_HALF_WIDTH = {code: code - FULL_WIDTH_OFFSET for code in range(0xFF01, 0xFF5F)}

PhoneProblem = Literal["empty", "charset", "country", "service_number", "area_code", "format"]


class InvalidPhone(ValueError):
    """A phone number that is refused; `reason` is a key for the user's message catalog."""

    def __init__(self, reason: PhoneProblem) -> None:
        super().__init__(f"invalid phone number: {reason}")
        self.reason: PhoneProblem = reason


def normalize_phone(raw: str) -> str:
    """The number in E.164 form (+86…), or InvalidPhone."""
    compact = SEPARATORS.sub("", raw.translate(_HALF_WIDTH))
    if not compact:
        raise InvalidPhone("empty")
    if not DIGITS.fullmatch(compact):
        raise InvalidPhone("charset")
    national, international = _strip_country_code(compact)
    return "+" + COUNTRY_CODE + _significant_number(national, international=international)


def _strip_country_code(digits: str) -> tuple[str, bool]:
    """The national part, and whether a country code was written before it."""
    for prefix in ("+", INTERNATIONAL_PREFIX):
        if digits.startswith(prefix):
            rest = digits.removeprefix(prefix)
            if not rest.startswith(COUNTRY_CODE):
                raise InvalidPhone("country")
            return rest.removeprefix(COUNTRY_CODE), True
    # "86" without "+" or "00" is only taken as the country code before a mobile.
    if digits.startswith(COUNTRY_CODE) and MOBILE.fullmatch(digits.removeprefix(COUNTRY_CODE)):
        return digits.removeprefix(COUNTRY_CODE), True
    return digits, False


def _significant_number(national: str, *, international: bool) -> str:
    """The number after +86: a mobile, or an area code and a local number."""
    if MOBILE.fullmatch(national):
        return national
    if SERVICE.fullmatch(national):
        raise InvalidPhone("service_number")
    if national.startswith(TRUNK_PREFIX):
        national = national.removeprefix(TRUNK_PREFIX)
    elif not international:
        raise InvalidPhone("area_code" if LOCAL.fullmatch(national) else "format")
    if LANDLINE.fullmatch(national):
        return national
    raise InvalidPhone("format")


def mask_last4(last4: str) -> str:
    """The one display form of a number, "…1234", from the last digits that storage keeps."""
    return MASK_PREFIX + last4


class PhoneHasher:
    """Keyed digests of phone numbers, so that a leaked database does not reveal them.

    A plain hash would not do: China has about a billion mobile numbers, few enough to hash
    them all and read the database back. Each method accepts any form normalize_phone accepts
    and works on the normalised number, so that one number always gives one digest.
    """

    def __init__(self, key: bytes) -> None:
        if len(key) < MIN_KEY_BYTES:
            raise ValueError(f"the phone hash key needs at least {MIN_KEY_BYTES} bytes")
        self._key = key

    def digest(self, e164: str) -> str:
        """HMAC-SHA256 of the normalised number, in hex."""
        message = normalize_phone(e164).encode("ascii")
        return hmac.new(self._key, message, hashlib.sha256).hexdigest()

    @staticmethod
    def last4(e164: str) -> str:
        """The last four digits of the number."""
        return normalize_phone(e164)[-VISIBLE_DIGITS:]

    @staticmethod
    def mask(e164: str) -> str:
        """The number as shown to users: "…1234"."""
        return mask_last4(PhoneHasher.last4(e164))
