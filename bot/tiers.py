"""An official's tier (层级): a provincial leader, a city official or a county official.

The tier is stored as ``officials.level``. The provincial round of the programme is the
provincial leaders' (省级); a city's round is its city and county officials' (市县).
"""

from __future__ import annotations

from bot.i18n import translate
from storage.models import Tier

# What people write for each tier: the codes, the names the bot shows ([level] in the
# catalogs) and the short forms.
TIER_NAMES = {
    "province": Tier.PROVINCE,
    "省级": Tier.PROVINCE,
    "省": Tier.PROVINCE,
    "city": Tier.CITY,
    "市级": Tier.CITY,
    "市": Tier.CITY,
    "county": Tier.COUNTY,
    "县级": Tier.COUNTY,
    "县": Tier.COUNTY,
    "区县": Tier.COUNTY,
}


def parse_tier(value: str) -> Tier | None:
    """The tier a code or a name (in either language) stands for."""
    return TIER_NAMES.get(value.strip().lower())


def round_of(tier: str) -> str:
    """The round an official's requests count in: "province", else their city's ("city")."""
    return "province" if tier == Tier.PROVINCE else "city"


def tier_name(tier: str, language: str) -> str:
    """The tier's name as the bot shows it everywhere ([level]: 省级), empty for no tier."""
    return translate(language, f"level.{tier}") if tier in set(Tier) else ""
