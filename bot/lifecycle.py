"""The lifecycle of a request (诉求) as a table: which action moves it from where to where, and who
may perform it.

Nothing here touches storage or Telegram: :func:`check` answers whether one party may perform
one action on a request in one status, and what the status becomes.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Status(StrEnum):
    SUBMITTED = "submitted"
    ASSIGNED = "assigned"
    ACKNOWLEDGED = "acknowledged"
    IN_PROGRESS = "in_progress"
    WAITING = "waiting"
    RESOLVED = "resolved"
    CLOSED = "closed"
    RETURNED = "returned"
    REOPENED = "reopened"
    WITHDRAWN = "withdrawn"


class Action(StrEnum):
    ASSIGN = "assign"  # an admin (or the router) hands it to an official
    ACKNOWLEDGE = "ack"  # the official has read it
    START = "start"  # the official answers: work is in progress
    ASK_INFO = "ask"  # the official waits for the enterprise (the deadline clock pauses)
    PROVIDE_INFO = "info"  # the enterprise answered: the clock runs again
    RESOLVE = "resolve"  # the official says it is done, with a note
    CONFIRM = "solved"  # the enterprise agrees: closed (销号)
    REJECT = "unsolved"  # the enterprise disagrees: reopened and flagged
    RETURN = "return"  # the official says it is not theirs (退单), with a reason
    WITHDRAW = "withdraw"  # the enterprise takes it back
    AUTO_CLOSE = "autoclose"  # nobody confirmed in time


class Party(StrEnum):
    """How the acting user relates to one request."""

    OWNER = "owner"  # a contact of the request's enterprise
    HOLDER = "holder"  # the official who holds it now
    ADMIN = "admin"
    SYSTEM = "system"  # the router and the scheduler


@dataclass(frozen=True, slots=True)
class Rule:
    sources: frozenset[Status]
    target: Status
    parties: frozenset[Party]
    needs_note: bool = False


OPEN = frozenset(
    {
        Status.SUBMITTED,
        Status.ASSIGNED,
        Status.ACKNOWLEDGED,
        Status.IN_PROGRESS,
        Status.WAITING,
        Status.RETURNED,
        Status.REOPENED,
    }
)
FINAL = frozenset({Status.CLOSED, Status.WITHDRAWN})
# Statuses in which an official holds the request and works on it.
HELD = frozenset(
    {Status.ASSIGNED, Status.ACKNOWLEDGED, Status.IN_PROGRESS, Status.WAITING, Status.REOPENED}
)


def _rule(sources: set[Status], target: Status, *parties: Party, needs_note: bool = False) -> Rule:
    return Rule(frozenset(sources), target, frozenset(parties), needs_note)


S = Status
RULES: dict[Action, Rule] = {
    Action.ASSIGN: _rule({S.SUBMITTED, S.RETURNED, *HELD}, S.ASSIGNED, Party.ADMIN, Party.SYSTEM),
    Action.ACKNOWLEDGE: _rule({S.ASSIGNED, S.REOPENED}, S.ACKNOWLEDGED, Party.HOLDER),
    Action.START: _rule({S.ASSIGNED, S.ACKNOWLEDGED, S.REOPENED}, S.IN_PROGRESS, Party.HOLDER),
    Action.ASK_INFO: _rule(
        {S.ASSIGNED, S.ACKNOWLEDGED, S.IN_PROGRESS, S.REOPENED},
        S.WAITING,
        Party.HOLDER,
        needs_note=True,
    ),
    Action.PROVIDE_INFO: _rule({S.WAITING}, S.IN_PROGRESS, Party.OWNER, Party.HOLDER),
    Action.RESOLVE: _rule(
        {S.ASSIGNED, S.ACKNOWLEDGED, S.IN_PROGRESS, S.WAITING, S.REOPENED},
        S.RESOLVED,
        Party.HOLDER,
        needs_note=True,
    ),
    Action.CONFIRM: _rule({S.RESOLVED}, S.CLOSED, Party.OWNER),
    Action.REJECT: _rule({S.RESOLVED}, S.REOPENED, Party.OWNER),
    Action.RETURN: _rule(
        {S.ASSIGNED, S.ACKNOWLEDGED, S.IN_PROGRESS, S.WAITING, S.REOPENED},
        S.RETURNED,
        Party.HOLDER,
        needs_note=True,
    ),
    Action.WITHDRAW: _rule(set(OPEN), S.WITHDRAWN, Party.OWNER),
    Action.AUTO_CLOSE: _rule({S.RESOLVED}, S.CLOSED, Party.SYSTEM),
}


class TransitionRefused(Exception):
    """The action cannot be performed; ``reason`` says why in one word."""

    def __init__(self, reason: str, status: Status) -> None:
        super().__init__(f"{reason} (request is {status})")
        self.reason = reason
        self.status = status


class IllegalTransition(TransitionRefused):
    """The action does not apply to the request's current status (a stale button)."""

    def __init__(self, action: Action, status: Status) -> None:
        super().__init__("illegal", status)
        self.action = action


class NotPermitted(TransitionRefused):
    """This party may not perform the action on this request."""

    def __init__(self, action: Action, status: Status) -> None:
        super().__init__("forbidden", status)
        self.action = action


class NoteMissing(TransitionRefused):
    """The action needs words (a question, a resolution, a return reason) and got none."""

    def __init__(self, action: Action, status: Status) -> None:
        super().__init__("note_missing", status)
        self.action = action


def check_note(action: Action, status: Status, note: str) -> None:
    """Refuse an action whose rule needs a note when the note is blank."""
    if RULES[action].needs_note and not note.strip():
        raise NoteMissing(action, status)


def check(status: Status, action: Action, parties: frozenset[Party]) -> Status:
    """The status after ``action``, or a refusal: permission is checked before legality, so
    that a stranger learns nothing about the request's state."""
    rule = RULES[action]
    if not rule.parties & parties:
        raise NotPermitted(action, status)
    if status not in rule.sources:
        raise IllegalTransition(action, status)
    return rule.target


def allowed(status: Status, parties: frozenset[Party]) -> list[Action]:
    """The actions these parties may take now, in the table's order (for buttons)."""
    return [
        action
        for action, rule in RULES.items()
        if status in rule.sources and rule.parties & parties
    ]
