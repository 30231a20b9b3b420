"""The bot's update queue and getUpdates, with Telegram's offset and long-polling rules."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from standin.errors import ApiError
from standin.waiting import Signal, wait_for

if TYPE_CHECKING:
    from standin.state import World

JSON = dict[str, Any]
UPDATE_KINDS = frozenset(
    {
        "message",
        "edited_message",
        "channel_post",
        "edited_channel_post",
        "business_connection",
        "business_message",
        "edited_business_message",
        "deleted_business_messages",
        "message_reaction",
        "message_reaction_count",
        "inline_query",
        "chosen_inline_result",
        "callback_query",
        "shipping_query",
        "pre_checkout_query",
        "purchased_paid_media",
        "poll",
        "poll_answer",
        "my_chat_member",
        "chat_member",
        "chat_join_request",
        "chat_boost",
        "removed_chat_boost",
    }
)
# What Telegram sends when allowed_updates was never set (or set to an empty list).
DEFAULT_KINDS = UPDATE_KINDS - {"chat_member", "message_reaction", "message_reaction_count"}
MAX_POLL_SECONDS = 50.0


class UpdateQueue:
    """Pending updates in id order; ``allowed`` filters new updates as Telegram does."""

    def __init__(self) -> None:
        self.pending: list[JSON] = []
        self.allowed: frozenset[str] = DEFAULT_KINDS
        self.signal = Signal()
        self.closed = False
        self._next_id = 1

    def put(self, kind: str, payload: JSON) -> JSON | None:
        """Queue an update of ``kind``; None when ``allowed_updates`` excludes it."""
        if kind not in self.allowed:
            return None
        update = {"update_id": self._next_id, kind: payload}
        self._next_id += 1
        self.pending.append(update)
        self.signal.notify()
        return update

    def set_allowed(self, kinds: Any) -> None:
        """Remember ``allowed_updates`` (None keeps the previous setting, like Telegram)."""
        if kinds is None:
            return
        if not isinstance(kinds, list):
            raise ApiError(400, "Bad Request: can't parse allowed updates")
        wanted = frozenset(str(kind) for kind in kinds) & UPDATE_KINDS
        self.allowed = wanted or DEFAULT_KINDS

    def confirm(self, offset: int) -> None:
        """Forget confirmed updates: ids below a positive offset, all but the last -offset."""
        if offset > 0:
            self.pending = [u for u in self.pending if u["update_id"] >= offset]
        elif offset < 0:
            self.pending = self.pending[offset:]

    def drop_pending(self) -> None:
        self.pending.clear()

    def close(self) -> None:
        """Release every long poll (the server is stopping)."""
        self.closed = True
        self.signal.notify()

    async def poll(self, *, offset: int | None, limit: int, seconds: float) -> list[JSON]:
        """Confirm up to ``offset``, then wait up to ``seconds`` for at least one update."""
        if offset is not None:
            self.confirm(offset)

        def ready() -> list[JSON] | None:
            if self.pending or self.closed:
                return self.pending[:limit]
            return None

        return await wait_for(self.signal, ready, seconds) or []


async def get_updates(world: World, params: JSON) -> list[JSON]:
    """getUpdates: long polling; refused while a webhook is set."""
    if world.webhook.url:
        raise ApiError(
            409,
            "Conflict: can't use getUpdates method while webhook is active; "
            "use deleteWebhook to delete the webhook first",
        )
    world.updates.set_allowed(params.get("allowed_updates"))
    limit = min(max(int(params.get("limit") or 100), 1), 100)
    timeout = min(max(float(params.get("timeout") or 0), 0.0), MAX_POLL_SECONDS)
    offset = params.get("offset")
    return await world.updates.poll(
        offset=int(offset) if offset is not None else None, limit=limit, seconds=timeout
    )


METHODS = {"getUpdates": get_updates}
