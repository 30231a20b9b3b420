"""The lifecycle table: every (status, action, party) triple, legal or refused."""

from __future__ import annotations

import itertools

import pytest

from bot.lifecycle import (
    RULES,
    Action,
    IllegalTransition,
    NotPermitted,
    Party,
    Status,
    allowed,
    check,
)

S, A = Status, Action
# The whole table spelled out independently of RULES: (action, from) -> to.
LEGAL: dict[tuple[Action, Status], Status] = {
    **{
        (A.ASSIGN, s): S.ASSIGNED
        for s in (
            S.SUBMITTED,
            S.RETURNED,
            S.ASSIGNED,
            S.ACKNOWLEDGED,
            S.IN_PROGRESS,
            S.WAITING,
            S.REOPENED,
        )
    },
    (A.ACKNOWLEDGE, S.ASSIGNED): S.ACKNOWLEDGED,
    (A.ACKNOWLEDGE, S.REOPENED): S.ACKNOWLEDGED,
    **{(A.START, s): S.IN_PROGRESS for s in (S.ASSIGNED, S.ACKNOWLEDGED, S.REOPENED)},
    **{(A.ASK_INFO, s): S.WAITING for s in (S.ASSIGNED, S.ACKNOWLEDGED, S.IN_PROGRESS, S.REOPENED)},
    (A.PROVIDE_INFO, S.WAITING): S.IN_PROGRESS,
    **{
        (A.RESOLVE, s): S.RESOLVED
        for s in (S.ASSIGNED, S.ACKNOWLEDGED, S.IN_PROGRESS, S.WAITING, S.REOPENED)
    },
    (A.CONFIRM, S.RESOLVED): S.CLOSED,
    (A.REJECT, S.RESOLVED): S.REOPENED,
    **{
        (A.RETURN, s): S.RETURNED
        for s in (S.ASSIGNED, S.ACKNOWLEDGED, S.IN_PROGRESS, S.WAITING, S.REOPENED)
    },
    **{
        (A.WITHDRAW, s): S.WITHDRAWN
        for s in (
            S.SUBMITTED,
            S.ASSIGNED,
            S.ACKNOWLEDGED,
            S.IN_PROGRESS,
            S.WAITING,
            S.RETURNED,
            S.REOPENED,
        )
    },
    (A.AUTO_CLOSE, S.RESOLVED): S.CLOSED,
}
WHO: dict[Action, frozenset[Party]] = {
    A.ASSIGN: frozenset({Party.ADMIN, Party.SYSTEM}),
    A.ACKNOWLEDGE: frozenset({Party.HOLDER}),
    A.START: frozenset({Party.HOLDER}),
    A.ASK_INFO: frozenset({Party.HOLDER}),
    A.PROVIDE_INFO: frozenset({Party.OWNER, Party.HOLDER}),
    A.RESOLVE: frozenset({Party.HOLDER}),
    A.CONFIRM: frozenset({Party.OWNER}),
    A.REJECT: frozenset({Party.OWNER}),
    A.RETURN: frozenset({Party.HOLDER}),
    A.WITHDRAW: frozenset({Party.OWNER}),
    A.AUTO_CLOSE: frozenset({Party.SYSTEM}),
}


@pytest.mark.parametrize(
    ("status", "action", "party"), list(itertools.product(Status, Action, Party))
)
def test_every_status_action_and_party(status: Status, action: Action, party: Party) -> None:
    expected = LEGAL.get((action, status))
    if party not in WHO[action]:
        with pytest.raises(NotPermitted):
            check(status, action, frozenset({party}))
    elif expected is None:
        with pytest.raises(IllegalTransition) as refused:
            check(status, action, frozenset({party}))
        assert refused.value.status is status
    else:
        assert check(status, action, frozenset({party})) is expected


def test_final_statuses_allow_nothing() -> None:
    everyone = frozenset(Party)
    assert allowed(Status.CLOSED, everyone) == []
    assert allowed(Status.WITHDRAWN, everyone) == []


def test_nobody_may_do_anything_without_a_relation() -> None:
    for status, action in itertools.product(Status, Action):
        with pytest.raises(NotPermitted):
            check(status, action, frozenset())


def test_table_covers_every_action() -> None:
    assert set(RULES) == set(Action)
