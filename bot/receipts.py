"""Receipts: the answer that tells users what they just did is stored — "received, your number
is …", "sent to LN-…", "visit recorded", "registration received".

A receipt is an outbox row queued in the transaction that stores what it confirms, so a crash
cannot keep the one and lose the other (before, the answer went out after the commit, and a
kill in between lost it: the user, told nothing, filed again). The outbox sends it right after
the commit (the desk's ``wake``, that is :meth:`bot.alarm.Courier.deliver_soon`),
ahead of notices (``urgent``), never held by quiet hours; if the process dies before or while
sending it, the next start sends it, marked as a possible repeat when it was in flight
(bot/outbox.py). The text is the handler's, rendered in the user's language as before: the
user sees the same message.
"""

from __future__ import annotations

from datetime import datetime

from storage.db import Transaction
from storage.outbox import NewMessage, enqueue

RECEIPT_KIND = "receipt"


def receipt(recipient_id: int, text: str, *, now: datetime) -> NewMessage:
    """A receipt to queue: due at once and before the notices queued with it."""
    return NewMessage(recipient_id, RECEIPT_KIND, text, now, urgent=True)


async def queue_receipt(tx: Transaction, recipient_id: int, text: str, *, now: datetime) -> int:
    """Queue a receipt in ``tx``; how many rows it queued (for the desk's wake-up count)."""
    await enqueue(tx, [receipt(recipient_id, text, now=now)], now=now)
    return 1
