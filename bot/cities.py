"""Liaoning's 14 cities and the Shenfu demonstration zone: stored codes and display names."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class City:
    code: str
    zh: str
    en: str

    def name(self, language: str) -> str:
        return self.zh if language == "zh" else self.en


CITIES: tuple[City, ...] = (
    City("shenyang", "沈阳市", "Shenyang"),
    City("dalian", "大连市", "Dalian"),
    City("anshan", "鞍山市", "Anshan"),
    City("fushun", "抚顺市", "Fushun"),
    City("benxi", "本溪市", "Benxi"),
    City("dandong", "丹东市", "Dandong"),
    City("jinzhou", "锦州市", "Jinzhou"),
    City("yingkou", "营口市", "Yingkou"),
    City("fuxin", "阜新市", "Fuxin"),
    City("liaoyang", "辽阳市", "Liaoyang"),
    City("panjin", "盘锦市", "Panjin"),
    City("tieling", "铁岭市", "Tieling"),
    City("chaoyang", "朝阳市", "Chaoyang"),
    City("huludao", "葫芦岛市", "Huludao"),
    City("shenfu", "沈抚示范区", "Shenfu Demonstration Zone"),
)
BY_CODE = {city.code: city for city in CITIES}


def _aliases() -> dict[str, str]:
    found: dict[str, str] = {}
    for city in CITIES:
        for alias in (city.code, city.zh, city.zh.removesuffix("市"), city.en.lower()):
            found[alias] = city.code
    found["沈抚改革创新示范区"] = "shenfu"
    found["shenfu"] = "shenfu"
    return found


_ALIASES = _aliases()


def parse_city(value: str) -> str | None:
    """The city code for a code, a Chinese name (with or without 市) or an English name."""
    return _ALIASES.get(value.strip().lower()) or _ALIASES.get(value.strip())


def city_name(code: str, language: str) -> str:
    """The display name, or the stored value itself for a city outside the list."""
    city = BY_CODE.get(code)
    return code if city is None else city.name(language)
