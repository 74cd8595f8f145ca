"""Issue 16, what a new user found in /commit: ``每周三`` or ``每月25号`` alone asked for the
number of instalments, and the collector then had to retype the whole rule rather than just the
count. The rule is kept now and only the count is asked (a tap or a number); a list of ISO
dates separated by ", " is read too."""

from __future__ import annotations

from datetime import date
from itertools import pairwise

from bot.domain.people import Role
from tests.e2e.seed import ledger, row


async def _at_the_plan(world, lang: str):
    zhang = await world.member(Role.COLLECTOR, "张伟", lang=lang)
    await ledger(world, "东城", [row(2, "HT1", "张三", dpd=40, overdue_yuan=9_000,
                                      collector="张伟")])  # fmt: skip
    await zhang.send("/commit HT1")
    await zhang.expect("1/10")
    await zhang.send("0")  # nothing today: no channel asked
    await zhang.expect("12月25日" if lang != "en" else "Then the plan, on exact days")
    return zhang


async def _flow(world, zhang):
    return await world.storage.open_flow(world.members[zhang.id].id)


def _due_dates(state) -> list[date]:
    return [date.fromisoformat(d) for d, _ in state.data["plan"]["dues"]]


async def test_a_weekday_without_a_count_keeps_the_rule_and_a_tap_gives_the_count(world, bot):
    zhang = await _at_the_plan(world, "en")
    await zhang.send("every Wednesday")
    asked = await zhang.expect("how many instalments?")
    assert "“every Wednesday”" in asked.text
    assert "the rule is kept" in asked.text
    labels = [label for r in asked.buttons for label, _ in r]
    assert labels[:4] == ["3 instalments", "4 instalments", "6 instalments", "12 instalments"]
    state = await _flow(world, zhang)
    assert state.step == "plan"
    assert state.data["plan"]["text"] == "every Wednesday"

    await zhang.press("4 instalments")
    await zhang.expect("4 instalments. Equal amounts")
    dues = _due_dates(await _flow(world, zhang))
    assert len(dues) == 4
    assert {d.weekday() for d in dues} == {2}  # Wednesdays, a week apart
    assert [(b - a).days for a, b in pairwise(dues)] == [7, 7, 7]


async def test_a_typed_count_completes_the_rule_in_simplified_chinese(world, bot):
    zhang = await _at_the_plan(world, "zh_Hans")
    await zhang.send("每月25号")
    asked = await zhang.expect("共几期？")
    assert "“每月25号”" in asked.text
    assert [label for r in asked.buttons for label, _ in r][:4] == ["3期", "4期", "6期", "12期"]
    await zhang.send("6")
    await zhang.expect("共6期。每期等额")
    dues = _due_dates(await _flow(world, zhang))
    assert len(dues) == 6
    assert {d.day for d in dues} == {25}


async def test_a_count_typed_with_its_unit_is_taken(world, bot):
    zhang = await _at_the_plan(world, "zh_Hans")
    await zhang.send("每周三")
    await zhang.expect("共几期？")
    await zhang.send("共八期")
    await zhang.expect("共8期。")
    assert len(_due_dates(await _flow(world, zhang))) == 8


async def test_a_whole_new_plan_instead_of_the_count_is_taken(world, bot):
    zhang = await _at_the_plan(world, "en")
    await zhang.send("the 25th of each month")
    await zhang.expect("how many instalments?")
    await zhang.send("every Friday ×3")  # changed their mind: the whole rule again
    await zhang.expect("3 instalments. Equal amounts")
    assert {d.weekday() for d in _due_dates(await _flow(world, zhang))} == {4}


async def test_a_list_of_iso_dates_separated_by_comma_and_space_is_read(world, bot):
    zhang = await _at_the_plan(world, "en")
    await zhang.send("2027-03-28, 2027-10-31")
    await zhang.expect("2 instalments. Equal amounts")
    assert _due_dates(await _flow(world, zhang)) == [date(2027, 3, 28), date(2027, 10, 31)]
