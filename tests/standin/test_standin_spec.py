"""spec.json: one entry per implemented method, regenerated exactly by make_spec."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from standin.make_spec import render, trim
from standin.methods import METHODS, lookup
from standin.spec import SPEC_PATH, Spec

API_JSON = Path("/work/shared/botapi/api.json")


def test_every_implemented_method_has_its_parameters() -> None:
    assert set(Spec.load().methods) == set(METHODS)
    assert Spec.load().methods["sendMessage"]["chat_id"] == {
        "required": True,
        "types": ["Integer", "String"],
    }


def test_lookup_is_case_insensitive() -> None:
    assert lookup("SENDMESSAGE") == "sendMessage"
    assert lookup("sendTelepathy") is None


def test_form_strings_decode_by_parameter_type() -> None:
    decoded = Spec.load().decode(
        "sendMessage",
        {
            "chat_id": "42",
            "text": "123",
            "reply_markup": '{"remove_keyboard": true}',
            "parse_mode": "HTML",
        },
    )
    assert decoded == {
        "chat_id": 42,
        "text": "123",
        "reply_markup": {"remove_keyboard": True},
        "parse_mode": "HTML",
    }


@pytest.mark.skipif(not API_JSON.exists(), reason="the shared Bot API description is absent")
def test_spec_json_is_what_make_spec_writes() -> None:
    api = json.loads(API_JSON.read_text(encoding="utf-8"))
    assert render(trim(api)) == SPEC_PATH.read_text(encoding="utf-8")
