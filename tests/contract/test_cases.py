"""Contract: cases and imports. Access is enforced in the queries, imports upsert,
reassignment is recorded."""

from datetime import date, timedelta

import pytest

from bot.domain.casefile import LeadReason
from bot.domain.cases import PartyRole, RelatedParty
from bot.domain.people import Role
from bot.imports import import_bytes, stream_import
from bot.sandbox.demo import DEMO_CASES, seed_demo_cases
from tests.contract.conftest import NOW


@pytest.fixture
async def world(storage):
    s = storage
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
    return s, people


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


async def test_a_note_under_a_key_is_stored_once(world):
    s, p = world
    case = (await s.list_cases(p["zhang"]))[0]
    for _ in range(2):  # the same update replayed after a crash
        assert await s.add_note(p["zhang"], case.id, "电话未接", now=NOW, key="note:1:900")
    assert await s.add_note(p["zhang"], case.id, "电话未接", now=NOW, key="note:1:901")
    card = await s.get_case(p["zhang"], case.id)
    assert [n.text for n in card.notes] == ["电话未接", "电话未接"]
    assert card.summary.last_contact_at == NOW
    assert await s.effect_result("note:1:900") == {"case_id": case.id}
    # A refused note stores no key: the same key may still be used once it is allowed.
    theirs = (await s.list_cases(p["chen"]))[0]
    assert await s.add_note(p["zhang"], theirs.id, "x", now=NOW, key="note:1:902") is False
    assert await s.effect_result("note:1:902") is None


async def test_an_assignment_under_a_key_is_made_once(world):
    s, p = world
    case = (await s.list_cases(p["zhang"]))[0]
    at = NOW + timedelta(hours=1)
    first = await s.assign_lead(p["boss"], case.id, p["chen"].id, LeadReason.OTHER, now=at,
                                note="回老家了", key="assign:3:77")  # fmt: skip
    again = await s.assign_lead(p["boss"], case.id, p["chen"].id, LeadReason.OTHER, now=at,
                                note="回老家了", key="assign:3:77")  # fmt: skip
    assert again == first
    assert (first.to_name, first.note) == ("Chen Jing", "回老家了")
    card = await s.get_case(p["admin"], case.id)
    assert len([c for c in card.leads if c.reason is LeadReason.OTHER]) == 1
    due = await s.due_outbox(at)
    assert len([m for m in due if m.template == "assign/notify_new"]) == 1
    assert await s.assign_lead(p["boss"], case.id, p["zhang"].id, LeadReason.WORKLOAD,
                               now=at, key="assign:3:78") is not None  # fmt: skip
    assert (await s.effect_result("assign:3:77"))["case_id"] == case.id


# --- the import path -------------------------------------------------------------------------

TODAY = date(2026, 11, 30)


async def _import(s, team_id: int, text: str, *, now=NOW, dry_run=False):
    return await import_bytes(
        s, text.encode(), file_name="t.csv", team_id=team_id, actor_id=None, now=now,
        today=TODAY, dry_run=dry_run,
    )  # fmt: skip


async def _team(s):
    team = await s.ensure_team("南城组", now=NOW)
    wang = await s.add_user(telegram_id=71, name="小王 🐯", staff_name="王建国",
                            role=Role.COLLECTOR, team_id=team.id, now=NOW)  # fmt: skip
    admin = await s.add_user(telegram_id=72, name="主任", role=Role.ADMIN, team_id=None, now=NOW)
    return team, wang, admin


async def test_the_collector_column_matches_the_staff_name_not_the_telegram_name(world):
    s, _ = world
    team, wang, admin = await _team(s)
    head = "合同号,借款人,逾期本金,逾期日期,清收人员\n"
    out = await _import(
        s, team.id, head + "N1,甲,100,2026-10-01,小王 🐯\nN2,乙,100,2026-10-01,王建国\n"
    )
    assert out.applied is not None
    assert out.applied["no_lead"] == 1
    leads = {c.contract_no: c.lead_id for c in await s.list_cases(admin, team_id=team.id)}
    assert leads == {"N1": None, "N2": wang.id}


async def test_growth_moves_only_with_a_newer_export(world):
    s, _ = world
    team, _wang, admin = await _team(s)
    head = "合同号,借款人,逾期本金,逾期日期,数据日期\n"

    async def previous(text: str) -> int | None:
        await _import(s, team.id, head + text)
        [case] = await s.list_cases(admin, team_id=team.id)
        return case.previous_overdue_amount

    assert await previous("G1,甲,100,2026-10-01,2026-11-28\n") is None
    assert await previous("G1,甲,150,2026-10-01,2026-11-29\n") == 10_000  # newer export
    assert await previous("G1,甲,150,2026-10-01,2026-11-29\n") == 10_000  # same file again
    assert await previous("G1,甲,160,2026-10-01,2026-11-29\n") == 10_000  # same day, corrected
    assert await previous("G1,甲,160,2026-10-01,2026-11-30\n") == 16_000  # next day, no change
    # Without an as-of date, a changed amount is what tells a newer export.
    head = "合同号,借款人,逾期本金,逾期日期\n"
    assert await previous("G1,甲,160,2026-10-01\n") == 16_000
    assert await previous("G1,甲,170,2026-10-01\n") == 16_000
    assert await previous("G1,甲,170,2026-10-01\n") == 16_000


async def test_parties_phone_only_corrected_and_removed(world):
    s, _ = world
    team, _wang, admin = await _team(s)
    head = "合同号,借款人,逾期本金,逾期日期,担保人\n"
    await _import(s, team.id, head + 'P1,甲,100,2026-10-01,"张三(138);(139);(137);李四(136)"\n')
    [case] = await s.list_cases(admin, team_id=team.id)

    async def parties():
        card = await s.get_case(admin, case.id)
        return sorted((p.party.name, p.party.phone) for p in card.parties)

    assert await parties() == [("", "137"), ("", "139"), ("张三", "138"), ("李四", "136")]
    # A collector corrects 李四's phone; the ledger later corrects 张三's and drops 李四.
    await s.add_party(case.id, RelatedParty(PartyRole.GUARANTOR, "李四", "135"), actor_id=None,
                      now=NOW)  # fmt: skip
    await _import(s, team.id, head + 'P1,甲,100,2026-10-01,"张三(188);(139);李四(136)"\n')
    assert await parties() == [("", "137"), ("", "139"), ("张三", "188"), ("李四", "135")]


async def test_two_imports_planned_before_either_writes_do_not_collide(world):
    s, _ = world
    team, wang, admin = await _team(s)
    text = "合同号,借款人,逾期本金,逾期日期,清收人员\nC1,甲,100,2026-10-01,王建国\n"
    first = await _import(s, team.id, text, dry_run=True)
    second = await _import(s, team.id, text, dry_run=True)
    assert first.plan.summary()["new"] == second.plan.summary()["new"] == 1
    ids = [
        await s.create_import(team_id=team.id, created_by=None, file_name="t.csv",
                              data=text.encode(), now=NOW)
        for _ in range(2)
    ]  # fmt: skip
    # Each write reads its file again and plans each batch against the cases as they are then.
    applied = []
    for import_id in ids:
        outcome = await stream_import(s, text.encode(), team_id=team.id, today=TODAY, now=NOW,
                                      actor_id=None, write=True, import_id=import_id)  # fmt: skip
        assert outcome is not None
        applied.append(outcome.applied)
    a, b = applied
    assert (a["new"], b["new"], b["unchanged"]) == (1, 0, 1)
    [case] = await s.list_cases(admin, team_id=team.id)
    card = await s.get_case(admin, case.id)
    assert [(h.to_id, h.reason) for h in card.leads] == [(wang.id, LeadReason.IMPORT)]
    due = await s.due_outbox(NOW + timedelta(minutes=1))
    assert [(m.user_id, m.template, m.params["count"]) for m in due] == [
        (wang.id, "imports/new_cases", 1)
    ]


async def test_keys_made_of_update_ids_leave_with_the_inbox(world):
    """A one-message /note is keyed by its update id: after the inbox lets old updates go (or
    the database moves to another bot) a renumbered update with that id is a new note."""
    s, p = world
    case = (await s.list_cases(p["zhang"]))[0]
    assert await s.add_note(p["zhang"], case.id, "电话未接", now=NOW, key="update:900")
    assert await s.add_note(p["zhang"], case.id, "上门", now=NOW, key="flow:7:3")
    assert await s.prune_inbox(before=NOW) == 0
    assert await s.effect_result("update:900") is not None  # not older than the cut
    await s.prune_inbox(before=NOW + timedelta(days=3))
    assert await s.effect_result("update:900") is None
    assert await s.effect_result("flow:7:3") is not None  # other keys stay
    assert await s.add_note(p["zhang"], case.id, "又没接", now=NOW, key="update:900")
    await s.bind_inbox(1, now=NOW)
    await s.bind_inbox(2, now=NOW)  # another bot: its update 900 is not this one
    assert await s.effect_result("update:900") is None
    assert await s.effect_result("flow:7:3") is not None
