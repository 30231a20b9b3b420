import hashlib
import hmac

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.phones import InvalidPhone, PhoneHasher, mask_last4, normalize_phone

KEY = b"0123456789abcdef-test-key"
hasher = PhoneHasher(KEY)
SERVICE_CODES = {"400", "800"}  # not area codes: the numbers of call centres


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("13812345678", "+8613812345678"),
        ("138 1234 5678", "+8613812345678"),
        ("138-1234-5678", "+8613812345678"),
        ("138.1234.5678", "+8613812345678"),
        ("(138) 1234 5678", "+8613812345678"),
        ("+86 138 1234 5678", "+8613812345678"),
        ("+86-13812345678", "+8613812345678"),
        ("0086 13812345678", "+8613812345678"),
        ("8613812345678", "+8613812345678"),
        ("１３８１２３４５６７８", "+8613812345678"),
        ("＋８６　１３８－１２３４－５６７８", "+8613812345678"),
        ("19912345678", "+8619912345678"),
        ("024-12345678", "+862412345678"),  # Shenyang
        ("(024) 2345 6789", "+862423456789"),
        ("+86 24 2345 6789", "+862423456789"),
        ("+86 (0)24 2345 6789", "+862423456789"),
        ("0411-8123 4567", "+8641181234567"),  # Dalian, 8-digit local number
        ("0086 411 8123 4567", "+8641181234567"),
        ("0419-2123456", "+864192123456"),  # Liaoyang, 7-digit local number
        ("010-6512 3456", "+861065123456"),  # Beijing
    ],
)
def test_accepted_formats(raw: str, expected: str) -> None:
    assert normalize_phone(raw) == expected


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        ("", "empty"),
        (" - ", "empty"),
        ("138 1234 567x", "charset"),
        ("138+12345678", "charset"),
        ("١٣٨١٢٣٤٥٦٧٨", "charset"),  # Arabic-Indic digits
        ("+1 212 555 0100", "country"),
        ("0044 20 7946 0000", "country"),
        ("400-810-8888", "service_number"),
        ("800 810 8888", "service_number"),
        ("+86 400 810 8888", "service_number"),
        ("2345 6789", "area_code"),
        ("24 2345 6789", "format"),
        ("1381234567", "format"),  # a mobile one digit short
        ("138123456789", "format"),  # a mobile one digit long
        ("12812345678", "format"),  # no mobile starts with 12
        ("12345", "format"),
        ("024-2345678", "format"),  # Shenyang local numbers have 8 digits
        ("0411-81234", "format"),
        ("0411-0123 4567", "format"),  # a local number never starts with 0
        ("862423456789", "format"),  # a bare 86 is only taken before a mobile
    ],
)
def test_refused_formats(raw: str, reason: str) -> None:
    with pytest.raises(InvalidPhone) as caught:
        normalize_phone(raw)
    assert caught.value.reason == reason


def test_invalid_phone_is_a_value_error() -> None:
    with pytest.raises(ValueError, match="invalid phone number: service_number"):
        normalize_phone("4008108888")


def test_digest_is_keyed_hmac_sha256() -> None:
    expected = hmac.new(KEY, b"+8613812345678", hashlib.sha256).hexdigest()
    assert hasher.digest("+8613812345678") == expected
    assert hasher.digest("+8613812345678") != hashlib.sha256(b"+8613812345678").hexdigest()


def test_digest_depends_on_the_key() -> None:
    other = PhoneHasher(b"another key of 16+ bytes")
    assert other.digest("+8613812345678") != hasher.digest("+8613812345678")


def test_digest_is_the_same_for_every_way_of_writing_a_number() -> None:
    assert hasher.digest("138 1234 5678") == hasher.digest("+8613812345678")


def test_short_keys_are_refused() -> None:
    with pytest.raises(ValueError, match="at least 16 bytes"):
        PhoneHasher(b"short")


def test_last4_and_mask() -> None:
    assert hasher.last4("+8613812345678") == "5678"
    assert hasher.mask("+8613812345678") == "…5678"
    assert hasher.mask("0411-8123 4567") == "…4567"
    assert mask_last4("5678") == hasher.mask("+8613812345678")


# Round trip: any valid number, however it is written, normalises to one E.164 form.

digits = st.sampled_from("0123456789")
mobiles = st.builds(
    lambda second, rest: "1" + second + rest,
    st.sampled_from("3456789"),
    st.text(digits, min_size=9, max_size=9),
)
nonzero = st.sampled_from("123456789")
two_digit_areas = st.builds(
    lambda area, first, rest: area + first + rest,
    st.sampled_from(["10", *(f"2{d}" for d in range(10))]),
    nonzero,
    st.text(digits, min_size=7, max_size=7),
)
three_digit_areas = st.builds(
    lambda area, first, rest: area + first + rest,
    st.from_regex(r"[3-9][0-9]{2}", fullmatch=True).filter(lambda area: area not in SERVICE_CODES),
    nonzero,
    st.text(digits, min_size=6, max_size=7),
)
landlines = st.one_of(two_digit_areas, three_digit_areas)
separators = st.sampled_from(["", " ", "-", ".", "\u3000"])
full_width = str.maketrans("0123456789+-", "０１２３４５６７８９＋－")


def written(number: str, prefix: str, separator: str, *, wide: bool) -> str:
    grouped = separator.join(number[i : i + 4] for i in range(0, len(number), 4))
    text = prefix + separator + grouped
    return text.translate(full_width) if wide else text


@given(
    number=mobiles,
    prefix=st.sampled_from(["", "+86", "0086", "86"]),
    separator=separators,
    wide=st.booleans(),
)
def test_mobile_round_trip(number: str, prefix: str, separator: str, wide: bool) -> None:
    e164 = normalize_phone(written(number, prefix, separator, wide=wide))
    assert e164 == "+86" + number
    assert normalize_phone(e164) == e164
    assert hasher.last4(e164) == number[-4:]


@given(
    number=landlines,
    prefix=st.sampled_from(["0", "+86", "0086", "+860"]),
    separator=separators,
    wide=st.booleans(),
)
def test_landline_round_trip(number: str, prefix: str, separator: str, wide: bool) -> None:
    e164 = normalize_phone(written(number, prefix, separator, wide=wide))
    assert e164 == "+86" + number
    assert normalize_phone(e164) == e164


@given(raw=st.text(max_size=30))
def test_anything_either_normalises_or_is_refused(raw: str) -> None:
    try:
        e164 = normalize_phone(raw)
    except InvalidPhone:
        return
    assert normalize_phone(e164) == e164
    assert e164.startswith("+86")
