"""The bot's update queue and getUpdates, with Telegram's offset and long-polling rules."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from standin import caller
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
CONFLICT = (
    "Conflict: terminated by other getUpdates request; "
    "make sure that only one bot instance is running"
)
HANG_UP_GRACE = 0.02  # seconds for the stand-in to notice a client's closed connection


@dataclass
class _Queued:
    """An update waiting to be confirmed; ``seq`` is its place (its update_id if it has one)."""

    seq: int
    update: Any


@dataclass
class LongPoll:
    """A getUpdates call waiting for updates; a later one terminates it (409 Conflict)."""

    terminated: bool = False


class UpdateQueue:
    """Pending updates in id order; ``allowed`` filters new updates as Telegram does."""

    def __init__(self) -> None:
        self._queued: list[_Queued] = []
        self.allowed: frozenset[str] = DEFAULT_KINDS
        self.signal = Signal()
        self.closed = False
        self._next_id = 1
        self._long_poll: LongPoll | None = None

    @property
    def pending(self) -> list[Any]:
        """The updates not confirmed yet, as they will be sent."""
        return [queued.update for queued in self._queued]

    @property
    def polling(self) -> bool:
        """Whether a getUpdates call is waiting for updates now."""
        return self._long_poll is not None

    def put(self, kind: str, payload: JSON) -> JSON | None:
        """Queue an update of ``kind``; None when ``allowed_updates`` excludes it."""
        if kind not in self.allowed:
            return None
        update: JSON = self.put_raw({kind: payload})
        return update

    def put_raw(self, update: Any, *, assign_id: bool = True) -> Any:
        """Queue any JSON value as the next update, whatever it holds (tests of a bot's
        defences). An object gets the next ``update_id`` unless ``assign_id`` is False;
        either way it takes the next place, so an offset past that place confirms it."""
        seq = self._next_id
        self._next_id += 1
        if assign_id and isinstance(update, dict):
            update = {"update_id": seq, **{k: v for k, v in update.items() if k != "update_id"}}
        self._queued.append(_Queued(seq, update))
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
            self._queued = [q for q in self._queued if q.seq >= offset]
        elif offset < 0:
            self._queued = self._queued[offset:]

    def remove(self, update: Any) -> None:
        """Forget one update (delivered to the webhook)."""
        self._queued = [q for q in self._queued if q.update is not update]

    def drop_pending(self) -> None:
        self._queued.clear()

    def close(self) -> None:
        """Release every long poll (the server is stopping)."""
        self.closed = True
        self.signal.notify()

    def begin_long_poll(self) -> LongPoll:
        """A getUpdates call starts: the one still waiting, if any, is terminated."""
        if self._long_poll is not None:
            self._long_poll.terminated = True
            self.signal.notify()
        self._long_poll = LongPoll()
        return self._long_poll

    def end_long_poll(self, poll: LongPoll) -> None:
        if self._long_poll is poll:
            self._long_poll = None

    async def poll(
        self, *, offset: int | None, limit: int, seconds: float, long_poll: LongPoll | None = None
    ) -> list[Any]:
        """Confirm up to ``offset``, then wait up to ``seconds`` for at least one update
        (or until ``long_poll`` is terminated: then the answer is empty)."""
        if offset is not None:
            self.confirm(offset)

        def ready() -> list[Any] | None:
            if long_poll is not None and long_poll.terminated:
                return []
            if self._queued or self.closed:
                return self.pending[:limit]
            return None

        return await wait_for(self.signal, ready, seconds) or []


async def get_updates(world: World, params: JSON) -> list[Any]:
    """getUpdates: long polling; refused while a webhook is set.

    As at Telegram, a call ends the one still waiting with 409 Conflict, so two instances of a
    bot polling with one token keep cutting each other off. A waiting call whose client has
    hung up meanwhile (a bot stopped or killed mid-poll) is no conflict: it is answered, to
    nobody, with nothing.
    """
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
    poll = world.updates.begin_long_poll()
    try:
        updates = await world.updates.poll(
            offset=int(offset) if offset is not None else None,
            limit=limit,
            seconds=timeout,
            long_poll=poll,
        )
    finally:
        world.updates.end_long_poll(poll)
    if poll.terminated and await _still_connected():
        raise ApiError(409, CONFLICT)
    return updates


async def _still_connected() -> bool:
    """Whether the caller is still there, once a client's hang-up in progress has been seen
    (its connection is closed a moment before its successor's call can arrive)."""
    if not caller.connected():
        return False
    await asyncio.sleep(HANG_UP_GRACE)
    return caller.connected()


METHODS = {"getUpdates": get_updates}
