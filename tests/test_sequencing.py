"""runtime/sequencing.py: a user's updates one after the other, in the order they came."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

from telegram import Chat, Message, Update, User

from runtime.sequencing import PerUserUpdateProcessor

MOMENT = datetime(2026, 12, 3, tzinfo=UTC)
ALICE = User(id=1, first_name="Alice", is_bot=False)


def update_of(user: User, number: int) -> Update:
    chat = Chat(id=user.id, type="private")
    message = Message(message_id=number, date=MOMENT, chat=chat, from_user=user, text="hi")
    return Update(update_id=number, message=message)


async def test_a_third_update_does_not_overtake_the_second_while_the_first_ends() -> None:
    """The moment the first update lets go, the second is woken but not yet running: the
    third, arriving then, must still queue behind it."""
    processor = PerUserUpdateProcessor(4)
    order: list[int] = []
    first_may_end = asyncio.Event()

    async def handle(number: int, wait: asyncio.Event | None = None, awaits: int = 0) -> None:
        if wait is not None:
            await wait.wait()
        for _ in range(awaits):  # the database, the Bot API
            await asyncio.sleep(0)
        order.append(number)

    first = asyncio.create_task(
        processor.do_process_update(update_of(ALICE, 1), handle(1, first_may_end))
    )
    second = asyncio.create_task(
        processor.do_process_update(update_of(ALICE, 2), handle(2, awaits=5))
    )
    await asyncio.sleep(0)
    first_may_end.set()
    await first  # the second is woken, not yet run
    third = asyncio.create_task(processor.do_process_update(update_of(ALICE, 3), handle(3)))
    await asyncio.gather(second, third)
    assert order == [1, 2, 3]


async def test_a_users_lock_is_forgotten_once_their_updates_are_done() -> None:
    processor = PerUserUpdateProcessor(4)

    async def handle() -> None:
        await asyncio.sleep(0)

    await asyncio.gather(
        *(processor.do_process_update(update_of(ALICE, n), handle()) for n in range(5))
    )
    assert processor._locks == {}
