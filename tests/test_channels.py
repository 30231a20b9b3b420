"""WeChat IDs and e-mail addresses: normalised as typed, hashed with a key, shown masked."""

import hashlib
import hmac

import pytest

from bot.channels import (
    Channel,
    ChannelHasher,
    Handle,
    InvalidHandle,
    normalize_email,
    normalize_wechat,
    read_typed,
)
from bot.phones import InvalidPhone

KEY = b"0123456789abcdef-test-key"
hasher = ChannelHasher(KEY)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("liming_gov", "liming_gov"),
        ("LiMing_Gov", "liming_gov"),
        ("  liming-1975 ", "liming-1975"),
        ("ｌｉｍｉｎｇ＿ｇｏｖ", "liming_gov"),  # typed on a Chinese keyboard
        ("wxid_a1b2c3d4e5f6", "wxid_a1b2c3d4e5f6"),
        ("abcdef", "abcdef"),  # 6 characters, the shortest
        ("a" * 20, "a" * 20),  # the longest
    ],
)
def test_wechat_ids_are_read_case_insensitively(raw: str, expected: str) -> None:
    assert normalize_wechat(raw) == Handle(Channel.WECHAT, expected)


@pytest.mark.parametrize(
    "raw", ["", "abcde", "a" * 21, "1liming", "_liming", "li ming", "li.ming", "李明liming"]
)
def test_malformed_wechat_ids_are_refused(raw: str) -> None:
    with pytest.raises(InvalidHandle) as refused:
        normalize_wechat(raw)
    assert refused.value.channel is Channel.WECHAT


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("zhang.wei@ln.gov.cn", "zhang.wei@ln.gov.cn"),
        ("  Zhang.Wei@LN.Gov.CN ", "zhang.wei@ln.gov.cn"),
        ("ｚｈａｎｇ＠ｌｎ．ｇｏｖ．ｃｎ", "zhang@ln.gov.cn"),
        ("zhang@ln。gov。cn", "zhang@ln.gov.cn"),
        ("a+b@x-y.example", "a+b@x-y.example"),
    ],
)
def test_addresses_are_trimmed_and_lower_cased(raw: str, expected: str) -> None:
    assert normalize_email(raw) == Handle(Channel.EMAIL, expected)


@pytest.mark.parametrize(
    "raw",
    [
        "",
        "zhang",
        "@ln.gov.cn",
        "zhang@",
        "zhang@localhost",
        "zhang@@ln.gov.cn",
        "zhang wei@ln.gov.cn",
        ".zhang@ln.gov.cn",
        "zhang..wei@ln.gov.cn",
        "zhang@-ln.gov.cn",
        "zhang@ln.gov.c0",
        "张伟@ln.gov.cn",
        "a" * 65 + "@ln.gov.cn",
    ],
)
def test_malformed_addresses_are_refused(raw: str) -> None:
    with pytest.raises(InvalidHandle) as refused:
        normalize_email(raw)
    assert refused.value.channel is Channel.EMAIL


def test_what_was_typed_is_told_apart() -> None:
    assert read_typed("138 0013 8000").phone == "+8613800138000"
    assert read_typed("(024) 2345 6789").phone == "+862423456789"
    assert read_typed(" LiMing_Gov ").handle == Handle(Channel.WECHAT, "liming_gov")
    assert read_typed("Li@Ln.gov.cn").handle == Handle(Channel.EMAIL, "li@ln.gov.cn")
    with pytest.raises(InvalidHandle):
        read_typed("hello world")
    with pytest.raises(InvalidHandle):
        read_typed("li@ming")
    with pytest.raises(InvalidPhone):
        read_typed("12345")
    with pytest.raises(InvalidPhone):
        read_typed("李明")


def test_hints_show_little() -> None:
    assert normalize_wechat("LiMing_1975").hint == "l…75"
    assert normalize_email("Zhang.Wei@ln.gov.cn").hint == "z…@ln.gov.cn"


def test_digests_are_keyed_and_kept_apart_by_channel() -> None:
    wechat = normalize_wechat("LiMing_Gov")
    expected = hmac.new(KEY, b"wechat:liming_gov", hashlib.sha256).hexdigest()
    assert hasher.handle_digest(wechat) == expected
    assert hasher.handle_digest(normalize_wechat("liming_gov")) == expected
    assert hasher.handle_digest(wechat) != ChannelHasher(b"another key of 16+ bytes").handle_digest(
        wechat
    )
    # The same text as an ID and inside an address never meet.
    assert hasher.handle_digest(Handle(Channel.EMAIL, "liming_gov")) != expected
    assert "liming" not in expected
