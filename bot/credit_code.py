"""The unified social credit code (统一社会信用代码) of GB 32100-2015 and its check character.

The 18 characters are: 1 registration authority, 2 institution type, 3–8 administrative
division (digits), 9–17 organisation code, 18 check character. Authority and type codes are
not checked against the standard's tables, which have grown since 2015: a real code must never
be refused.
"""

from typing import Literal

CODE_LENGTH = 18
PREFIX_LENGTH = CODE_LENGTH - 1
# The code's alphabet; a character's value is its index. No I, O, Z, S, V.
ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
MODULUS = len(ALPHABET)
# 3**i mod 31 for positions 1 to 17.
WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)
DIVISION = slice(2, 8)

FULL_WIDTH_OFFSET = 0xFEE0  # from "！" (U+FF01)…"～" (U+FF5E) to "!"…"~"
_HALF_WIDTH = {code: code - FULL_WIDTH_OFFSET for code in range(0xFF01, 0xFF5F)}

CreditCodeProblem = Literal["length", "charset", "division", "check"]


class InvalidCreditCode(ValueError):
    """A credit code that is not valid; `reason` is a key for the user's message catalog.

    It never names the right check character: someone who mistyped a middle character would
    change the last one to match and register a wrong code."""

    def __init__(self, reason: CreditCodeProblem) -> None:
        super().__init__(f"invalid unified social credit code: {reason}")
        self.reason: CreditCodeProblem = reason


def validate_credit_code(raw: str) -> str:
    """The normalised code (half-width, upper-case, no spaces), or InvalidCreditCode."""
    code = normalise(raw)
    _check_shape(code, CODE_LENGTH)
    if code[-1] != _check_character(code[:PREFIX_LENGTH]):
        raise InvalidCreditCode("check")
    return code


def make_credit_code(prefix17: str) -> str:
    """The full code for the first 17 characters, with its check character appended."""
    prefix = normalise(prefix17)
    _check_shape(prefix, PREFIX_LENGTH)
    return prefix + _check_character(prefix)


def normalise(raw: str) -> str:
    """Half-width, upper-case, without any whitespace: how users paste codes varies."""
    half_width = raw.translate(_HALF_WIDTH)
    return "".join(half_width.split()).upper()


def _check_shape(code: str, length: int) -> None:
    if len(code) != length:
        raise InvalidCreditCode("length")
    if any(char not in ALPHABET for char in code):
        raise InvalidCreditCode("charset")
    if not code[DIVISION].isdigit():
        raise InvalidCreditCode("division")


def _check_character(prefix: str) -> str:
    total = sum(ALPHABET.index(char) * weight for char, weight in zip(prefix, WEIGHTS, strict=True))
    return ALPHABET[-total % MODULUS]
