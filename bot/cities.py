"""Where an enterprise can be: Liaoning's 14 cities and the Shenyang–Fushun demonstration zone.

Stored as the slug (``shenyang``); shown in the reader's language.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class City:
    slug: str
    zh: str
    en: str

    def name(self, language: str) -> str:
        return self.en if language == "en" else self.zh


CITIES: tuple[City, ...] = (
    City("shenyang", "沈阳", "Shenyang"),
    City("dalian", "大连", "Dalian"),
    City("anshan", "鞍山", "Anshan"),
    City("fushun", "抚顺", "Fushun"),
    City("benxi", "本溪", "Benxi"),
    City("dandong", "丹东", "Dandong"),
    City("jinzhou", "锦州", "Jinzhou"),
    City("yingkou", "营口", "Yingkou"),
    City("fuxin", "阜新", "Fuxin"),
    City("liaoyang", "辽阳", "Liaoyang"),
    City("panjin", "盘锦", "Panjin"),
    City("tieling", "铁岭", "Tieling"),
    City("chaoyang", "朝阳", "Chaoyang"),
    City("huludao", "葫芦岛", "Huludao"),
    City("shenfu", "沈抚示范区", "Shenfu Demonstration Zone"),
)
BY_SLUG = {city.slug: city for city in CITIES}


def city_name(slug: str, language: str) -> str:
    """The city's name for a reader; an unknown slug is shown as it is."""
    city = BY_SLUG.get(slug)
    return slug if city is None else city.name(language)
