"""The unit of work as the domain sees it: a domain service opens the transaction, writes
through the repositories with it (and queues what the change tells others in it), commits,
and only then wakes whatever delivers. storage.db.Database implements it."""

from __future__ import annotations

from contextlib import AbstractAsyncContextManager
from typing import Protocol

from storage.db import Transaction


class UnitOfWork(Protocol):
    """Where a domain service's writes go: one transaction at a time."""

    def transaction(self) -> AbstractAsyncContextManager[Transaction]: ...
