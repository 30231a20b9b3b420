"""Telling a person from a flood: how many updates one user may send before the bot stops
taking them.

A person types a message every few seconds and taps buttons perhaps a few times a second; a
script (or a stuck key) sends hundreds. Each update the bot takes costs its answer a slot of
the chat's one-message-a-second pace, so a flood left alone would queue answers for minutes
and hold other users' work. :class:`FloodGuard` gives each user a token bucket: within it an
update is taken; the first update past it earns one "please slow down" answer; the rest are
dropped until the user has sent nothing for ``quiet_seconds`` (a new episode may then earn a
new warning). The parts of one album (one ``media_group_id``) count as one update.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

from bot.pacing import Bucket

# Users remembered before those who have gone quiet are forgotten.
USERS_KEPT = 4096


class Verdict(Enum):
    TAKE = "take"
    WARN = "warn"  # dropped, and the user is told once to slow down
    DROP = "drop"


@dataclass(slots=True)
class _User:
    bucket: Bucket
    last_seen: float
    flooding: bool = False
    last_album: str | None = None


class FloodGuard:
    def __init__(self, per_second: float, burst: int, quiet_seconds: float) -> None:
        self._per_second = per_second
        self._burst = burst
        self._quiet = quiet_seconds
        self._users: dict[object, _User] = {}
        self.dropped = 0  # for the metrics and the benchmarks

    def judge(self, user: object, now: float, *, album: str | None = None) -> Verdict:
        """Whether to take this update of ``user``, arriving at ``now`` (seconds)."""
        state = self._users.get(user)
        if state is None:
            if len(self._users) >= USERS_KEPT:
                self._forget_quiet(now)
            state = self._users[user] = _User(Bucket(self._per_second, self._burst, now), now)
        calm = now - state.last_seen >= self._quiet
        state.last_seen = now
        if calm:
            state.flooding = False
        if album is not None and album == state.last_album:
            return Verdict.TAKE
        state.last_album = album
        if not state.flooding and state.bucket.wait(now) == 0:
            state.bucket.take(now)
            return Verdict.TAKE
        self.dropped += 1
        if state.flooding:
            return Verdict.DROP
        state.flooding = True
        return Verdict.WARN

    def _forget_quiet(self, now: float) -> None:
        self._users = {
            user: state
            for user, state in self._users.items()
            if now - state.last_seen < self._quiet or state.flooding
        }
