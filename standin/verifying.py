"""Telegram's verification mark, given by a bot on behalf of its organisation.

``verifyUser`` and ``removeUserVerification`` with Telegram's checks: the bot must have been
approved as a verifier (:attr:`World.verifier_allowed`, switched by the test API and the
control API, off as for a new bot), the user must exist, and ``custom_description`` is at most
70 characters (and must be empty when the organisation may not write its own). The mark a user
carries is in :attr:`World.verified` (user id → description), shown by the sandbox page.
"""

from __future__ import annotations

from typing import Any

from standin.errors import bad_request
from standin.state import World

JSON = dict[str, Any]
DESCRIPTION_LIMIT = 70
NOT_ALLOWED = "BOT_VERIFIER_FORBIDDEN"
USER_NOT_FOUND = "user not found"
DESCRIPTION_TOO_LONG = "custom description is too long"
DESCRIPTION_NOT_ALLOWED = "custom description is not allowed"


def _user_id(world: World, params: JSON) -> int:
    """The target account, which must exist and not be deleted."""
    if not world.verifier_allowed:
        raise bad_request(NOT_ALLOWED)
    raw = params["user_id"]
    user_id = raw if isinstance(raw, int) else int(str(raw)) if str(raw).isdigit() else 0
    account = world.accounts.get(user_id)
    if account is None or account.deactivated:
        raise bad_request(USER_NOT_FOUND)
    return user_id


async def verify_user(world: World, params: JSON) -> bool:
    """verifyUser: give (or replace) the mark, with its description."""
    user_id = _user_id(world, params)
    description = str(params.get("custom_description") or "")
    if len(description) > DESCRIPTION_LIMIT:
        raise bad_request(DESCRIPTION_TOO_LONG)
    if description and not world.custom_descriptions_allowed:
        raise bad_request(DESCRIPTION_NOT_ALLOWED)
    world.verified[user_id] = description
    return True


async def remove_user_verification(world: World, params: JSON) -> bool:
    """removeUserVerification: take the mark away (a user without one stays without)."""
    world.verified.pop(_user_id(world, params), None)
    return True


METHODS = {
    "verifyUser": verify_user,
    "removeUserVerification": remove_user_verification,
}
