"""Case storage: access is enforced in the queries, imports upsert, reassignment is recorded."""

from datetime import UTC, datetime, timedelta

import pytest

from bot.demo import DEMO_CASES, seed_demo_cases
from bot.domain.casefile import LeadReason
from bot.domain.people import Role
from bot.storage import SqliteStorage

NOW = datetime(2026, 11, 30, 1, 0, tzinfo=UTC)


@pytest.fixture
async def world(tmp_path):
    s = await SqliteStorage.open(tmp_path / "q.db", now=NOW)
    east = await s.ensure_team("东城组", now=NOW)
    west = await s.ensure_team("西城组", now=NOW)
    people = {
        "zhang": await s.add_user(telegram_id=1, name="张伟", role=Role.COLLECTOR,
                                  team_id=east.id, now=NOW),
        "chen": await s.add_user(telegram_id=2, name="Chen Jing", role=Role.COLLECTOR,
                                 team_id=east.id, now=NOW),
        "boss": await s.add_user(telegram_id=3, name="李组长", role=Role.SUPERVISOR,
                                 team_id=east.id, now=NOW),
        "west": await s.add_user(telegram_id=4, name="西组长", role=Role.SUPERVISOR,
                                 team_id=west.id, now=NOW),
        "admin": await s.add_user(telegram_id=5, name="王主任", role=Role.ADMIN, team_id=None,
                                  now=NOW),
    }  # fmt: skip
    await seed_demo_cases(s, team_id=east.id, collectors=[people["zhang"], people["chen"]], now=NOW)
    yield s, people
    await s.close()


async def test_each_role_sees_only_its_cases(world):
    s, p = world
    zhang = await s.list_cases(p["zhang"])
    chen = await s.list_cases(p["chen"])
    assert {c.lead_name for c in zhang} == {"张伟"}
    assert {c.lead_name for c in chen} == {"Chen Jing"}
    assert len(await s.list_cases(p["boss"])) == len(DEMO_CASES)
    assert await s.list_cases(p["west"]) == []
    assert len(await s.list_cases(p["admin"])) == len(DEMO_CASES)
    theirs = chen[0]
    assert await s.get_case(p["zhang"], theirs.id) is None
    assert await s.find_cases(p["zhang"], theirs.contract_no) == []
    assert await s.add_note(p["zhang"], theirs.id, "not mine", now=NOW) is False
    assert (await s.get_case(p["admin"], theirs.id)).notes == ()


async def test_search_by_part_of_name_number_or_phone(world):
    s, p = world
    assert [c.borrower_name for c in await s.find_cases(p["admin"], "王建")] == ["王建国"]
    assert [c.contract_no for c in await s.find_cases(p["admin"], "0417")] == ["DC2023-0417"]
    assert [c.borrower_name for c in await s.find_cases(p["admin"], "13605710318")] == ["陈秀英"]
    assert await s.find_cases(p["admin"], "%") == []  # LIKE wildcards are taken literally


async def test_reassignment_is_recorded_and_both_collectors_are_told(world):
    s, p = world
    case = next(c for c in await s.list_cases(p["zhang"]))
    assert await s.assign_lead(p["west"], case.id, p["chen"].id, LeadReason.WORKLOAD,
                               now=NOW) is None  # another team's supervisor  # fmt: skip
    assert await s.assign_lead(p["boss"], case.id, p["boss"].id, LeadReason.WORKLOAD,
                               now=NOW) is None  # not a collector  # fmt: skip
    change = await s.assign_lead(p["boss"], case.id, p["chen"].id, LeadReason.ESCALATION,
                                 now=NOW + timedelta(hours=1))  # fmt: skip
    assert change is not None
    assert (change.from_name, change.to_name) == ("张伟", "Chen Jing")
    card = await s.get_case(p["admin"], case.id)
    assert card.summary.lead_name == "Chen Jing"
    assert card.leads[0].reason is LeadReason.ESCALATION
    assert card.leads[0].by_name == "李组长"
    due = await s.due_outbox(NOW + timedelta(hours=2))
    assert {(m.user_id, m.template) for m in due} == {
        (p["chen"].id, "assign/notify_new"), (p["zhang"].id, "assign/notify_previous"),
    }  # fmt: skip
    assert (await s.audit_log(entity="case"))[0].action == "assign"


async def test_collector_records_survive_reseeding_and_one_case_waits_for_a_lead(world):
    s, p = world
    case = (await s.list_cases(p["zhang"]))[0]
    await s.add_note(p["zhang"], case.id, "家里只有老人在", now=NOW)
    await seed_demo_cases(s, team_id=case.team_id, collectors=[p["zhang"], p["chen"]], now=NOW)
    assert [n.text for n in (await s.get_case(p["zhang"], case.id)).notes] == ["家里只有老人在"]
    assert [c.borrower_name for c in await s.list_cases(p["admin"]) if c.lead_id is None] == [
        "冯军"
    ]


async def test_chat_state_is_kept_until_cleared(world):
    s, p = world
    uid = p["zhang"].id
    await s.set_chat_state(uid, "note", {"case_id": 3}, now=NOW)
    state = await s.get_chat_state(uid)
    assert (state.flow, state.data) == ("note", {"case_id": 3})
    assert await s.clear_chat_state(uid) is True
    assert await s.get_chat_state(uid) is None
