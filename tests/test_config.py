"""Configuration: defaults, the example file, environment overrides and clear errors."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from bot.config import ConfigError, Settings, load_settings

ROOT = Path(__file__).resolve().parent.parent


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "config.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_example_config_is_valid_and_documents_every_key() -> None:
    example = ROOT / "config.example.toml"
    settings = load_settings(example, environ={})
    assert settings.locale.timezone == "Asia/Shanghai"
    text = example.read_text(encoding="utf-8")
    for section, model in Settings.model_fields.items():
        assert f"[{section}]" in text, section
        assert model.annotation is not None
        for key in model.annotation.model_fields:  # type: ignore[union-attr]
            documented = f"{key} =" in text or f"[{section}.{key}." in text
            assert documented, f"{section}.{key}"


def test_defaults_without_a_file() -> None:
    settings = load_settings(None, environ={})
    assert settings.telegram.token is None
    assert settings.locale.default_language == "zh"
    assert settings.deadlines.categories["payments"].resolve_days == 15


def test_environment_overrides_single_keys(tmp_path: Path) -> None:
    path = write(tmp_path, '[telegram]\ntoken = "from-file"\n[admins]\ntelegram_ids = [1]\n')
    settings = load_settings(
        path, environ={"BOT_TELEGRAM__TOKEN": "123:from-env", "BOT_ADMINS__TELEGRAM_IDS": "[7, 8]"}
    )
    assert settings.telegram.token is not None
    assert settings.telegram.token.get_secret_value() == "123:from-env"
    assert settings.admins.telegram_ids == (7, 8)


def test_config_path_from_environment(tmp_path: Path) -> None:
    path = write(tmp_path, '[locale]\ndefault_language = "en"\n')
    assert load_settings(None, environ={"BOT_CONFIG": str(path)}).locale.default_language == "en"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('[locale]\ntimezone = "Mars/Base"\n', "config key locale.timezone: unknown time zone"),
        ('[locale]\ndefault_language = "fr"\n', "config key locale.default_language"),
        ("[storage]\nbusy_timeout_ms = -1\n", "config key storage.busy_timeout_ms"),
        ('[telegram]\ntokn = "x"\n', "config key telegram.tokn: Extra inputs are not permitted"),
        (
            "[deadlines.categories.tax]\nacknowledge_days = 1\nresolve_days = 2\n",
            "unknown categories",
        ),
        (
            '[routing]\nrules = [{ category = "payment", official = "SY-001" }]\n',
            "config key routing.rules.0: the rule for official 'SY-001': unknown category"
            " 'payment'",
        ),
        (
            '[routing]\nrules = [{ city = "dalian", official = "DL-002" },'
            ' { city = "shenyng", official = "SY-001" }]\n',
            "config key routing.rules.1: the rule for official 'SY-001': unknown city 'shenyng'",
        ),
        ("[telegram\n", "is not valid TOML"),
    ],
)
def test_bad_config_names_the_key(tmp_path: Path, text: str, expected: str) -> None:
    with pytest.raises(ConfigError, match=None) as info:
        load_settings(write(tmp_path, text), environ={})
    assert expected in str(info.value)


def test_token_value_is_never_echoed_in_errors(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as info:
        load_settings(write(tmp_path, "[telegram]\ntoken = 12345\n"), environ={})
    assert "12345" not in str(info.value)


def test_cli_bad_config_exits_2_with_one_line(tmp_path: Path) -> None:
    path = write(tmp_path, '[locale]\ntimezone = "Nowhere/City"\n')
    result = subprocess.run(
        [sys.executable, "-m", "bot", "--config", str(path), "migrate"],
        capture_output=True,
        text=True,
        cwd=ROOT,
        check=False,
    )
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        "error: config key locale.timezone: unknown time zone 'Nowhere/City' (got 'Nowhere/City')"
    ]


def test_cli_without_token_explains_botfather(tmp_path: Path) -> None:
    path = write(tmp_path, f'[storage]\npath = "{tmp_path / "db.sqlite3"}"\n')
    result = subprocess.run(
        [sys.executable, "-m", "bot", "--config", str(path), "run"],
        capture_output=True,
        text=True,
        cwd=ROOT,
        check=False,
        env={"PATH": "/usr/bin"},
    )
    assert result.returncode == 2
    assert "@BotFather" in result.stderr
