"""Legal clocks end to end (issue 19): a guarantor ten days from the end of the guarantee period
shows on the card, in /today with what to do and at the top of the queue; once the signed
notice is filed (the documents' flow does it through the same storage calls), the claim is on
the card and the guarantor leaves the list."""

from __future__ import annotations

from datetime import date

from bot.domain.cases import PartyRole, RelatedParty, Security
from bot.domain.legal import DocumentKind, GuaranteeKind
from bot.domain.people import Role
from tests.e2e.conftest import START
from tests.e2e.seed import TODAY, case_id, ledger, row


def _guaranteed(line: int, contract: str, name: str, guarantor: str, *, dpd: int, kind):
    base = row(
        line,
        contract,
        name,
        dpd=dpd,
        overdue_yuan=20_000,
        collector="张伟",
        guarantees=guarantor,
        parties=(RelatedParty(PartyRole.GUARANTOR, guarantor),),
    )
    sec = base.security
    return type(base)(**{**{f: getattr(base, f) for f in base.__dataclass_fields__},
                         "security": Security(sec.guarantees, None, None, kind, None)})  # fmt: skip


async def test_a_guarantor_ten_days_from_the_end_is_on_today_until_the_signed_notice_is_filed(
    world, bot
):
    zhang = await world.member(Role.COLLECTOR, "张伟")
    # Due (missed) on 10 Jun 2026, no 到期日 in the file: 李保's period ends 10 Dec 2026.
    await ledger(
        world,
        "东城",
        [
            _guaranteed(2, "HT-LEGAL-1", "王建国", "李保", dpd=173, kind=GuaranteeKind.JOINT),
            _guaranteed(3, "HT-LEGAL-2", "周强", "赵某", dpd=40, kind=None),
        ],
    )
    await zhang.send("/today")
    today = await zhang.expect("Legal deadlines")
    assert "serve a notice on guarantor 李保 before Dec 10, 2026 · 10 days left" in today.text
    assert "赵某" not in today.text  # 周强's guarantor has until 21 Apr 2027
    assert ("⚖️ 王建国", f"cs.o:{await case_id(world, 'HT-LEGAL-1')}") in [
        b for r in today.buttons for b in r
    ]

    await zhang.send("/case HT-LEGAL-1")
    card = await zhang.expect("HT-LEGAL-1")
    assert "⚖️ Limitation until Jun 10, 2029 · from the overdue date" in card.text
    assert (
        "🛡 李保 · joint-liability guarantee · guarantee period until Dec 10, 2026 · "
        "not claimed yet" in card.text
    )
    assert "a legal deadline within 10 days" in card.text
    await zhang.send("/case HT-LEGAL-2")
    other = await zhang.expect("HT-LEGAL-2")
    assert "🛡 赵某 · kind not in the file · guarantee period until Apr 21, 2027" in other.text

    # The queue: the legal deadline puts the case on today's list, first.
    await zhang.send("/cases")
    queue = await zhang.expect("Cases by urgency")
    assert queue.buttons[0][0][0] == "1. 王建国 · HT-LEGAL-1"

    # The notice served and its signed receipt filed (the documents' flow, issue 19 item 3).
    storage, member = world.storage, world.members[zhang.id]
    case = await storage.get_case(member, await case_id(world, "HT-LEGAL-1"))
    li = next(p.id for p in case.parties if p.party.name == "李保")
    doc = await storage.issue_document(
        case.id, DocumentKind.COLLECTION_NOTICE, li, None, member.id, START
    )
    await storage.file_signed_copy(doc, TODAY, "receipt-photo", member.id, START, key="e2e")

    await zhang.send("/today")
    after = await zhang.expect("Today")
    assert "李保" not in after.text
    await zhang.send("/case HT-LEGAL-1")
    card = await zhang.expect("HT-LEGAL-1")
    assert "🛡 李保 · joint-liability guarantee · claimed Nov 30, 2026" in card.text
    assert "limitation until Nov 30, 2029" in card.text
    assert date(2026, 11, 30) == TODAY


async def test_the_card_in_chinese_says_what_last_restarted_the_limitation(world, bot):
    zhang = await world.member(Role.COLLECTOR, "张伟", lang="zh_Hans")
    await ledger(world, "东城", [row(2, "HT-LEGAL-3", "孙丽", dpd=400, overdue_yuan=8_000,
                                     collector="张伟")])  # fmt: skip
    storage, member = world.storage, world.members[zhang.id]
    case = await case_id(world, "HT-LEGAL-3")
    await zhang.send("/case HT-LEGAL-3")
    card = await zhang.expect("HT-LEGAL-3")
    assert "⚖️ 诉讼时效至2028年10月26日 · 自逾期日起算（台账无到期日）" in card.text
    # A repayment agreement signed today (its photo filed): the limitation restarts today.
    doc = await storage.issue_document(
        case, DocumentKind.REPAYMENT_AGREEMENT, None, None, member.id, START
    )
    await storage.file_signed_copy(doc, TODAY, "signed-agreement", member.id, START)
    await zhang.send("/case HT-LEGAL-3")
    card = await zhang.expect("HT-LEGAL-3")
    assert "⚖️ 诉讼时效至2029年11月30日 · 上次中断：2026年11月30日（还款协议）" in card.text


async def test_the_guarantee_kind_the_file_does_not_give_is_asked_once_from_the_card(world, bot):
    zhang = await world.member(Role.COLLECTOR, "张伟")
    parties = (RelatedParty(PartyRole.GUARANTOR, "李保"), RelatedParty(PartyRole.GUARANTOR, "赵某"))
    two = row(2, "HT-LEGAL-4", "吴敏", dpd=100, overdue_yuan=9_000, collector="张伟",
              guarantees="李保、赵某", parties=parties)  # fmt: skip
    await ledger(world, "东城", [two])
    await zhang.send("/case HT-LEGAL-4")
    card = await zhang.expect("HT-LEGAL-4")
    assert "🛡 李保 · kind not in the file" in card.text
    await zhang.press("🛡 Guarantee kind", card)
    ask = await zhang.expect("Which one do you know from the contract?")
    assert sorted(b[0] for r in ask.buttons for b in r if b[0] in ("李保", "赵某")) == [
        "李保",
        "赵某",
    ]
    await zhang.press("李保", ask)
    kind = await zhang.expect("What kind of guarantee did 李保 give?")
    await zhang.press("Joint liability", kind)
    # The file gives no agreed period either: asked next, once (第692条's default said).
    period = await zhang.expect("Does 李保's guarantee contract agree a guarantee period?")
    assert "6 months from the loan's due date" in period.text
    await zhang.press("It agrees an end date", period)
    await zhang.expect("Type the day the agreed guarantee period ends")
    await zhang.send("around next summer")
    refused = await zhang.expect("is not one day I can read")
    assert "around next summer" in refused.text
    await zhang.send("2027年6月30日")
    done = await zhang.expect("李保: joint-liability guarantee, recorded for 吴敏 (HT-LEGAL-4).")
    assert "Guarantee period agreed until Wed, Jun 30, 2027." in done.text

    # 赵某's contract does not say: a general guarantee (第686条), recorded as such.
    await zhang.send("/case HT-LEGAL-4")
    card = await zhang.expect("HT-LEGAL-4")
    assert "🛡 李保 · joint-liability guarantee · guarantee period until" in card.text
    await zhang.press("🛡 Guarantee kind", card)
    kind = await zhang.expect("What kind of guarantee did 赵某 give?")  # the only one left
    await zhang.press("The contract does not say", kind)
    period = await zhang.expect("Does 赵某's guarantee contract agree a guarantee period?")
    await zhang.press("None agreed: 6 months from the due date", period)
    done = await zhang.expect("赵某: general guarantee")
    assert "agreed until" not in done.text
    assert "art. 686" in done.text

    await zhang.send("/case HT-LEGAL-4")
    card = await zhang.expect("HT-LEGAL-4")
    assert "kind not in the file" not in card.text
    assert "🛡 Guarantee kind" not in [b[0] for r in card.buttons for b in r]
    facts = await world.storage.legal_facts(await case_id(world, "HT-LEGAL-4"))
    assert [(g.name, g.kind, g.agreed_end) for g in facts.guarantors] == [
        ("李保", GuaranteeKind.JOINT, date(2027, 6, 30)),
        ("赵某", GuaranteeKind.GENERAL, None),
    ]
