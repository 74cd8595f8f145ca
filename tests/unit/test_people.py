from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from bot.domain.people import (
    Invite,
    InviteProblem,
    Role,
    User,
    deep_link,
    invite_problem,
    is_invite_code,
    may_invite,
    may_manage,
    new_invite_code,
)

MON = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)


def person(role: Role, team_id: int | None = 1, uid: int = 1, active: bool = True) -> User:
    return User(uid, 1000 + uid, "x", None, role, team_id, "T", None, None, active, None, MON)


def invite(**kw) -> Invite:
    base = Invite("abc", Role.COLLECTOR, 1, "T", None, MON, MON + timedelta(hours=72), None, None)
    return replace(base, **kw)


def test_fresh_invite_is_usable_until_it_expires():
    inv = invite()
    assert invite_problem(inv, MON) is None
    assert invite_problem(inv, MON + timedelta(hours=71, minutes=59)) is None
    # the expiry instant itself is already too late
    assert invite_problem(inv, MON + timedelta(hours=72)) is InviteProblem.EXPIRED


def test_used_and_unknown_invites_are_refused():
    assert invite_problem(None, MON) is InviteProblem.UNKNOWN
    assert invite_problem(invite(used_by=5, used_at=MON), MON) is InviteProblem.USED


def test_codes_fit_a_deep_link_and_do_not_repeat():
    codes = {new_invite_code() for _ in range(1000)}
    assert len(codes) == 1000
    assert all(is_invite_code(c) and len(c) <= 64 for c in codes)
    assert deep_link("qingshou_bot", "abc") == "https://t.me/qingshou_bot?start=abc"


@pytest.mark.parametrize("text", ["", "short", "has space in it", "中文中文中文中文", "x" * 65])
def test_not_invite_codes(text):
    assert not is_invite_code(text)


def test_supervisor_invites_only_collectors_of_own_team():
    sup = person(Role.SUPERVISOR, team_id=1)
    assert may_invite(sup, Role.COLLECTOR, 1)
    assert not may_invite(sup, Role.COLLECTOR, 2)
    assert not may_invite(sup, Role.SUPERVISOR, 1)
    assert not may_invite(sup, Role.ADMIN, None)
    assert not may_invite(person(Role.COLLECTOR), Role.COLLECTOR, 1)
    assert may_invite(person(Role.ADMIN, None), Role.SUPERVISOR, 7)
    assert not may_invite(person(Role.ADMIN, None, active=False), Role.COLLECTOR, 1)


def test_only_admins_manage_and_never_themselves():
    admin = person(Role.ADMIN, None, uid=1)
    assert may_manage(admin, person(Role.COLLECTOR, uid=2))
    assert not may_manage(admin, admin)
    assert not may_manage(person(Role.SUPERVISOR, uid=3), person(Role.COLLECTOR, uid=2))


def test_language_preference_order():
    u = person(Role.COLLECTOR)
    assert u.effective_locale("zh_Hans") == "zh_Hans"
    assert replace(u, telegram_locale="en").effective_locale("zh_Hans") == "en"
    assert (
        replace(u, telegram_locale="en", locale="zh_Hant").effective_locale("zh_Hans") == "zh_Hant"
    )
