"""The rules of a reminder's answers: grace days, what each answer does, oldest-first money."""

from __future__ import annotations

from datetime import date

import pytest

from bot.domain.commitments import InstalmentStatus as S
from bot.domain.instalments import (
    Answer,
    AnswerRefused,
    Owed,
    allocate,
    answer_effect,
    grace_ends,
    is_broken,
)

DUE = date(2026, 12, 25)


def effect(answer, *, paid=0, status=S.OPEN, today=DUE, grace=0, payment=None):
    return answer_effect(amount=1000, paid=paid, status=status, due_on=DUE, answer=answer,
                         today=today, grace_days=grace, payment=payment)  # fmt: skip


def test_grace_days_decide_when_unpaid_becomes_broken():
    # Grace 0 (the default): a missed due date is a broken promise at once.
    assert is_broken(DUE, DUE, 0)
    assert is_broken(DUE, date(2026, 12, 26), 0)
    # Grace 1: the due day itself is only late; grace 2: the day after too.
    assert grace_ends(DUE, 1) == DUE
    assert not is_broken(DUE, DUE, 1)
    assert is_broken(DUE, date(2026, 12, 26), 1)
    assert not is_broken(DUE, date(2026, 12, 26), 2)
    assert is_broken(DUE, date(2026, 12, 27), 2)
    assert grace_ends(DUE, -3) == grace_ends(DUE, 0)


def test_paid_in_full_pays_the_rest_and_keeps_it():
    e = effect(Answer.PAID, paid=300, status=S.PARTIAL)
    assert (e.status, e.pay, e.paid, e.settled, e.retire) == (S.KEPT, 700, 1000, True, True)


def test_partial_keeps_the_rest_open_and_the_whole_rest_keeps_it():
    e = effect(Answer.PARTIAL, payment=400)
    assert (e.status, e.pay, e.paid, e.settled, e.retire) == (S.PARTIAL, 400, 400, False, False)
    e = effect(Answer.PARTIAL, paid=400, status=S.PARTIAL, payment=600)
    assert (e.status, e.pay, e.paid, e.retire) == (S.KEPT, 600, 1000, True)
    for wrong in (None, 0, 601):
        with pytest.raises(AnswerRefused) as exc:
            effect(Answer.PARTIAL, paid=400, status=S.PARTIAL, payment=wrong)
        assert exc.value.code == "amount"


def test_missed_breaks_it_only_after_the_grace_days():
    late = effect(Answer.MISSED, today=DUE, grace=1)
    assert (late.status, late.late, late.settled, late.retire) == (S.OPEN, True, False, False)
    broken = effect(Answer.MISSED, today=date(2026, 12, 26))
    assert (broken.status, broken.pay, broken.settled, broken.retire) == (S.BROKEN, 0, True, True)
    kept_partial = effect(Answer.MISSED, paid=200, status=S.PARTIAL, today=DUE, grace=1)
    assert (kept_partial.status, kept_partial.paid) == (S.PARTIAL, 200)


def test_an_unconfirmed_instalment_can_still_be_answered_a_settled_one_cannot():
    assert effect(Answer.PAID, status=S.UNCONFIRMED).status is S.KEPT
    assert effect(Answer.MISSED, status=S.UNCONFIRMED, today=date(2026, 12, 26)).status is S.BROKEN
    for status in (S.KEPT, S.BROKEN, S.CANCELLED):
        for answer in Answer:
            with pytest.raises(AnswerRefused) as exc:
                effect(answer, status=status, payment=1)
            assert exc.value.code == "settled"


def test_money_pays_open_instalments_oldest_first():
    owed = [
        Owed(3, date(2027, 1, 25), 2, 1000, 0),
        Owed(2, date(2026, 12, 25), 1, 1000, 400),
        Owed(9, date(2027, 2, 25), 3, 1000, 0),
    ]
    shares = allocate(1800, owed)
    assert [(s.id, s.take, s.paid, s.kept) for s in shares] == [
        (2, 600, 1000, True), (3, 1000, 1000, True), (9, 200, 200, False),
    ]  # fmt: skip
    assert allocate(0, owed) == []
    # More than is open: everything kept, the rest is not allocated.
    assert sum(s.take for s in allocate(10_000, owed)) == 2600
    # The same due date: the order in the plan decides.
    same = [Owed(5, DUE, 2, 100, 0), Owed(4, DUE, 1, 100, 0)]
    assert [s.id for s in allocate(100, same)] == [4]
