"""WeChat IDs and work e-mail addresses of officials: normalised, stored as a keyed digest,
shown masked, exactly as phone numbers are (:mod:`bot.phones`).

Impostors reach entrepreneurs by phone and by WeChat friend requests, so each channel an
official really uses can be checked against the roster. A WeChat ID (微信号) is 6–20
characters, starts with a letter and holds only letters, digits, ``_`` and ``-``; WeChat does
not tell upper from lower case, so neither do we. An e-mail address is trimmed and lower-cased
(the bot does not treat two mailboxes that differ only in case as two officials'). Full-width
characters typed on a Chinese keyboard (``ｌｉｍｉｎｇ＠ｌｎ．ｇｏｖ．ｃｎ``) count as their
half-width forms.

Only the digest and a short hint are stored: ``l…08`` for a WeChat ID (first character, last
two), ``z…@ln.gov.cn`` for an address (first character of the mailbox, then the domain).
"""

from __future__ import annotations

import hashlib
import hmac
import re
from dataclasses import dataclass
from enum import StrEnum

from bot.phones import FULL_WIDTH_OFFSET, MASK_PREFIX, PhoneHasher, normalize_phone

WECHAT_ID = re.compile(r"[a-z][a-z0-9_-]{5,19}", re.ASCII)
EMAIL_LOCAL = re.compile(
    r"[a-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[a-z0-9!#$%&'*+/=?^_`{|}~-]+)*", re.ASCII
)
DOMAIN_LABEL = re.compile(r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?", re.ASCII)
TOP_LEVEL = re.compile(r"[a-z]{2,63}", re.ASCII)
MAX_EMAIL = 254  # RFC 5321: a path is at most 256 octets, with its angle brackets
MAX_LOCAL = 64
WECHAT_TAIL = 2  # characters of a WeChat ID shown after its first one

_HALF_WIDTH = {code: code - FULL_WIDTH_OFFSET for code in range(0xFF01, 0xFF5F)}
_HALF_WIDTH[0x3000] = ord(" ")  # the ideographic space
_HALF_WIDTH[0x3002] = ord(".")  # "。", which a Chinese keyboard types for "."


class Channel(StrEnum):
    """A way an official reaches people, beside the phone and Telegram."""

    WECHAT = "wechat"
    EMAIL = "email"


class InvalidHandle(ValueError):
    """A WeChat ID or e-mail address that is refused; ``channel`` says which it was meant as."""

    def __init__(self, channel: Channel) -> None:
        super().__init__(f"invalid {channel}")
        self.channel = channel


@dataclass(frozen=True, slots=True)
class Handle:
    """A normalised WeChat ID or e-mail address."""

    channel: Channel
    value: str

    @property
    def hint(self) -> str:
        """What storage keeps in clear, and the one display form: ``l…08``, ``z…@ln.gov.cn``."""
        if self.channel is Channel.EMAIL:
            local, _, domain = self.value.partition("@")
            return f"{local[0]}{MASK_PREFIX}@{domain}"
        return f"{self.value[0]}{MASK_PREFIX}{self.value[-WECHAT_TAIL:]}"


def _half_width(raw: str) -> str:
    return raw.translate(_HALF_WIDTH).strip()


def normalize_wechat(raw: str) -> Handle:
    """The WeChat ID in lower case, or InvalidHandle."""
    value = _half_width(raw).lower()
    if not WECHAT_ID.fullmatch(value):
        raise InvalidHandle(Channel.WECHAT)
    return Handle(Channel.WECHAT, value)


def normalize_email(raw: str) -> Handle:
    """The address trimmed and in lower case, or InvalidHandle."""
    value = _half_width(raw).lower()
    local, at, domain = value.rpartition("@")
    labels = domain.split(".")
    valid = (
        bool(at)
        and len(value) <= MAX_EMAIL
        and len(local) <= MAX_LOCAL
        and EMAIL_LOCAL.fullmatch(local) is not None
        and len(labels) >= 2
        and all(DOMAIN_LABEL.fullmatch(label) for label in labels)
        and TOP_LEVEL.fullmatch(labels[-1]) is not None
    )
    if not valid:
        raise InvalidHandle(Channel.EMAIL)
    return Handle(Channel.EMAIL, value)


@dataclass(frozen=True, slots=True)
class Typed:
    """What somebody typed to be checked: a phone number (E.164) or a WeChat ID or address."""

    phone: str | None = None
    handle: Handle | None = None


def read_typed(raw: str) -> Typed:
    """Tell a typed number, WeChat ID or e-mail address apart, and normalise it.

    An "@" makes it an address; a leading letter a WeChat ID (numbers start with a digit, "+"
    or "("); anything else is read as a phone number. Raises InvalidHandle or
    :class:`bot.phones.InvalidPhone` (both ValueErrors) for what cannot be any of them.
    """
    text = _half_width(raw)
    if "@" in text:
        return Typed(handle=normalize_email(text))
    if text[:1].isascii() and text[:1].isalpha():
        return Typed(handle=normalize_wechat(text))
    return Typed(phone=normalize_phone(text))


class ChannelHasher(PhoneHasher):
    """Keyed digests of phone numbers (inherited), WeChat IDs and e-mail addresses.

    Each kind is prefixed before hashing ("wechat:", "email:"), so an ID and an address can
    never share a digest. As for phones, a plain hash would not do: guessable IDs such as
    ``zhangwei1975`` could be hashed by the million and the database read back.
    """

    def handle_digest(self, handle: Handle) -> str:
        """HMAC-SHA256 of the normalised value, in hex."""
        message = f"{handle.channel}:{handle.value}".encode("ascii")
        return hmac.new(self._key, message, hashlib.sha256).hexdigest()
