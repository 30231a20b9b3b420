import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.credit_code import ALPHABET, InvalidCreditCode, make_credit_code, validate_credit_code
from bot.i18n import Translator

# Codes as printed on business licences; each ends with its correct check character.
PUBLISHED_CODES = [
    "91350100M000100Y43",  # the example of GB 32100-2015
    "914403001922038216",  # Huawei Technologies Co., Ltd., Shenzhen
    "91440300708461136T",  # Shenzhen Tencent Computer Systems Co., Ltd.
]


@pytest.mark.parametrize("code", PUBLISHED_CODES)
def test_published_codes_are_valid(code: str) -> None:
    assert validate_credit_code(code) == code


@pytest.mark.parametrize("code", PUBLISHED_CODES)
def test_make_credit_code_computes_the_published_check_character(code: str) -> None:
    assert make_credit_code(code[:17]) == code


def test_check_value_31_becomes_0() -> None:
    assert make_credit_code("10000000000000000") == "10000000000000000Y"  # 31 - 1 = 30
    assert make_credit_code("00000000000000000") == "000000000000000000"  # 31 - 0 = 31 -> 0


def test_lowercase_spaces_and_full_width_are_normalised() -> None:
    assert validate_credit_code(" 9135 0100 m000 100y 43 ") == "91350100M000100Y43"
    assert validate_credit_code("９１３５０１００Ｍ０００１００Ｙ４３") == "91350100M000100Y43"
    assert validate_credit_code("91350100M000100Y43\u3000") == "91350100M000100Y43"


@pytest.mark.parametrize("raw", ["", "91350100M000100Y4", "91350100M000100Y433"])
def test_wrong_length(raw: str) -> None:
    with pytest.raises(InvalidCreditCode) as caught:
        validate_credit_code(raw)
    assert caught.value.reason == "length"


@pytest.mark.parametrize("char", ["I", "O", "Z", "S", "V", "-", "中"])
def test_characters_outside_the_alphabet(char: str) -> None:
    with pytest.raises(InvalidCreditCode) as caught:
        validate_credit_code("91350100M000100" + char + "43")
    assert caught.value.reason == "charset"


def test_division_code_must_be_digits() -> None:
    with pytest.raises(InvalidCreditCode) as caught:
        validate_credit_code("9135A100M000100Y43")
    assert caught.value.reason == "division"


def test_wrong_check_character_does_not_name_the_expected_one() -> None:
    """Naming it would let someone who mistyped a middle character "fix" the last one."""
    with pytest.raises(InvalidCreditCode) as caught:
        validate_credit_code("91350100M000100Y44")  # the right code ends in 3
    assert caught.value.reason == "check"
    assert str(caught.value) == "invalid unified social credit code: check"
    for language in ("zh", "en"):
        text = Translator(language)("registration.bad.code_check")
        assert "3" not in text.replace("18", "")


def test_make_credit_code_refuses_a_bad_prefix() -> None:
    with pytest.raises(InvalidCreditCode) as caught:
        make_credit_code("91350100M000100")
    assert caught.value.reason == "length"


def test_invalid_credit_code_is_a_value_error() -> None:
    with pytest.raises(ValueError, match="invalid unified social credit code: charset"):
        validate_credit_code("91350100M000100I43")


alphabet_chars = st.sampled_from(ALPHABET)
prefixes = st.builds(
    lambda head, division, organisation: head + division + organisation,
    st.text(alphabet_chars, min_size=2, max_size=2),
    st.text(st.sampled_from("0123456789"), min_size=6, max_size=6),
    st.text(alphabet_chars, min_size=9, max_size=9),
)


@given(prefix=prefixes)
def test_any_generated_code_is_valid(prefix: str) -> None:
    code = make_credit_code(prefix)
    assert validate_credit_code(code) == code
    assert validate_credit_code(code.lower()) == code


@given(prefix=prefixes, position=st.integers(min_value=0, max_value=17), data=st.data())
def test_any_single_character_change_is_caught(
    prefix: str, position: int, data: st.DataObject
) -> None:
    code = make_credit_code(prefix)
    replacement = data.draw(alphabet_chars.filter(lambda char: char != code[position]))
    changed = code[:position] + replacement + code[position + 1 :]
    with pytest.raises(InvalidCreditCode):
        validate_credit_code(changed)
