"""Typed callback data packs within 64 bytes and refuses anything forged."""

from __future__ import annotations

import contextlib
from dataclasses import dataclass

import pytest
from hypothesis import given
from hypothesis import strategies as st

from handlers.callback_data import BadCallback, CallbackData


@dataclass(frozen=True)
class Press(CallbackData, prefix="t"):
    request_id: int
    action: str
    urgent: bool


def test_round_trip() -> None:
    data = Press(42, "ack", True)
    assert data.pack() == "t:42:ack:1"
    assert Press.parse(data.pack()) == data


@pytest.mark.parametrize(
    "forged", ["", "t", "t:x:ack:1", "t:1:ack", "u:1:ack:1", "t:1:ack:2", "t:1:a:1:9"]
)
def test_forged_data_is_refused(forged: str) -> None:
    with pytest.raises(BadCallback):
        Press.parse(forged)


def test_too_long_is_refused_when_packing() -> None:
    with pytest.raises(ValueError, match="too long"):
        Press(1, "x" * 80, False).pack()


@given(st.text(max_size=80))
def test_parse_never_crashes(data: str) -> None:
    with contextlib.suppress(BadCallback):
        Press.parse(data)
