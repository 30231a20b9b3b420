"""Routing (派单): who gets a new request.

First the enterprise's designated official; else the first rule of ``settings.routing.rules``
whose category and city match; else nobody, and the request waits in the admins' queue.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum

from bot.config import RoutingRule
from storage.models import Enterprise, Official
from storage.officials import OfficialRepository


class RouteReason(StrEnum):
    DESIGNATED = "designated"
    RULE = "rule"
    QUEUE = "queue"


@dataclass(frozen=True, slots=True)
class Route:
    official: Official | None
    reason: RouteReason


def matching_rules(rules: Sequence[RoutingRule], *, category: str, city: str) -> list[RoutingRule]:
    """The rules that apply to a category and city, in the config's order."""
    return [
        rule for rule in rules if rule.category in (None, category) and rule.city in (None, city)
    ]


async def route(
    enterprise: Enterprise,
    category: str,
    *,
    officials: OfficialRepository,
    rules: Sequence[RoutingRule],
) -> Route:
    designated = await officials.designated_for(enterprise.id)
    if _reachable(designated):
        return Route(designated, RouteReason.DESIGNATED)
    for rule in matching_rules(rules, category=category, city=enterprise.city):
        official = await officials.by_external_id(rule.official)
        if _reachable(official):
            return Route(official, RouteReason.RULE)
    return Route(None, RouteReason.QUEUE)


def _reachable(official: Official | None) -> bool:
    """Active and bound to Telegram: an official who cannot see the bot cannot hold a request."""
    return official is not None and official.active and official.telegram_id is not None
