"""The papers of issue 19, end to end as a collector meets them: /commit brings the repayment
agreement as a PDF document; "📨 Serve a notice" on the card makes a notice to the borrower or
one guarantor; a photo of the signed copy sent back is filed against the paper chosen, from the
day signed, and the reply says what the clocks did. The PDFs are read back (pypdf) from the
emulator, and the rows from storage."""

from __future__ import annotations

import io
from datetime import date

from pypdf import PdfReader

from bot.domain.cases import PartyRole, RelatedParty
from bot.domain.legal import DocumentKind
from bot.domain.people import Role
from tests.e2e.conftest import eventually, expect_paper
from tests.e2e.seed import case_id, ledger, row
from tgemu.media import tiny_png

#: The e2e clock's day (Monday 30 November 2026, 09:00 in Shanghai).
TODAY = date(2026, 11, 30)


async def _case(world, lang: str = "en"):
    zhang = await world.member(Role.COLLECTOR, "张伟", lang=lang)
    guarantor = RelatedParty(PartyRole.GUARANTOR, "李保", phone="13900000000")
    await ledger(world, "东城", [row(2, "HT1", "张三", dpd=40, overdue_yuan=9_000,
                                      collector="张伟", parties=(guarantor,))])  # fmt: skip
    return zhang, await case_id(world, "HT1")


async def _pdf_text(world, message) -> str:
    document = message.document
    assert document is not None, message
    assert document["file_name"].endswith(".pdf")
    response = await world.client._http.get(
        f"/control/files/{document['file_id']}", params={"download": "1"}
    )
    assert response.status_code == 200
    assert response.content.startswith(b"%PDF-")
    return "".join(p.extract_text() for p in PdfReader(io.BytesIO(response.content)).pages)


async def _documents(world, cid):
    return await world.storage.case_documents(cid)


async def _commit(zhang) -> None:
    await zhang.send("/commit HT1")
    await zhang.expect("First, money today")
    await zhang.send("1000")
    await zhang.expect("How was it paid?")
    await zhang.press("Cash")
    await zhang.expect("Then the plan")
    await zhang.send("每月25号 共2期")
    await zhang.expect("Equal amounts")
    await zhang.press("Equal amounts")
    await zhang.expect("How much in all")
    await zhang.send("4000")
    await zhang.expect("Who promised?")
    await zhang.press("The borrower")
    await zhang.expect("Commitment of 张三")
    await zhang.press("✅ Confirm")


async def test_a_commitment_brings_its_agreement_and_its_signed_photo_restarts_the_clock(
    world, bot
):
    zhang, cid = await _case(world)
    await _commit(zhang)
    await zhang.expect("stored")
    paper = await expect_paper(zhang, "Repayment agreement of 张三")
    assert "李保" in paper.caption  # the guarantor is asked to sign too
    assert "photo of the signed copy" in paper.caption
    text = await _pdf_text(world, paper)
    for expected in ("Repayment agreement", "张三", "李保", "HT1", "CN¥1,000.00",
                     "Fri, Dec 25, 2026", "Mon, Jan 25, 2027", "CN¥2,000.00"):  # fmt: skip
        assert expected in text, expected
    (agreement,) = await _documents(world, cid)
    (commitment,) = await world.storage.commitments_of(cid)
    assert agreement.kind is DocumentKind.REPAYMENT_AGREEMENT
    assert (agreement.commitment_id, agreement.party_id, agreement.filed) == (
        commitment.id, None, False,
    )  # fmt: skip

    # The signed copy comes back as a photo (here an image sent as a file).
    await zhang.send_document("signed.png", tiny_png(), "image/png")
    ask = await zhang.expect("Which paper is this the signed copy of?")
    assert ask.buttons[0][0][0] == "Agreement · 张三 · HT1"
    await zhang.press("Agreement · 张三 · HT1")
    when = await zhang.expect("On what day was it signed?")
    labels = [label for r in when.buttons for label, _ in r]
    assert "Signed today" in labels
    assert "Yesterday" not in labels  # made today: it cannot have been signed before
    await zhang.press("Signed today")
    filed = await zhang.expect("filed")
    assert "Signed repayment agreement of 张三 filed (signed on Mon, Nov 30, 2026)" in filed.text
    # Signed today, but the plan's last instalment (25 Jan 2027) already counts for longer
    # (第189条): the reply says where the period stands, not that the paper moved it.
    assert "The limitation period runs to Fri, Jan 25, 2030" in filed.text
    (agreement,) = await _documents(world, cid)
    assert agreement.signed_on == TODAY
    assert agreement.evidence_file_id
    assert agreement.filed_by == world.members[zhang.id].id

    # Nothing left to sign: another photo is not kept, and the collector is told why.
    await zhang.send_document("again.png", tiny_png(), "image/png")
    await zhang.expect("No paper of yours is waiting for its signed copy")


async def test_a_notice_to_the_guarantor_then_its_signed_receipt_records_the_claim(world, bot):
    zhang, cid = await _case(world)
    await zhang.send("/case HT1")
    await zhang.expect("HT1")
    await zhang.press("📨 Serve a notice")
    ask = await zhang.expect("Whom is it for?")
    assert [label for r in ask.buttons for label, _ in r][:2] == [
        "👤 张三 · Borrower", "🛡 李保 · Guarantor",
    ]  # fmt: skip
    await zhang.press("🛡 李保 · Guarantor")
    await zhang.expect("The notice to 李保 follows as a PDF.")
    paper = await expect_paper(zhang, "Collection notice to 李保")
    text = await _pdf_text(world, paper)
    for expected in ("Collection notice", "To: 李保", "(guarantor)", "张三", "HT1",
                     "CN¥9,000.00", "December 7, 2026", "Receipt"):  # fmt: skip
        assert expected in text, expected
    (notice,) = await _documents(world, cid)
    party = next(p for p in (await world.storage.get_case(world.members[zhang.id], cid)).parties)
    assert (notice.kind, notice.party_id, notice.filed) == (
        DocumentKind.COLLECTION_NOTICE, party.id, False,
    )  # fmt: skip

    # Asking again the same day sends the same paper again, not a second one.
    await zhang.send("/case HT1")
    await zhang.expect("HT1")
    await zhang.press("📨 Serve a notice")
    await zhang.expect("Whom is it for?")
    await zhang.press("🛡 李保 · Guarantor")
    await zhang.expect("The notice to 李保 follows as a PDF.")
    await expect_paper(zhang, "Collection notice to 李保", known={paper.message_id})
    assert len(await _documents(world, cid)) == 1

    await zhang.send_document("receipt.jpg", tiny_png(), "image/png")
    await zhang.expect("Which paper is this the signed copy of?")
    await zhang.press("Notice · 李保 · HT1")
    await zhang.expect("On what day was it signed?")
    await zhang.press("Another day")
    await zhang.expect("On what day was it signed?")
    await zhang.send("2026-11-29")
    await zhang.expect("cannot have been signed on")  # before the paper was made
    await zhang.send("2026-11-30")
    filed = await zhang.expect("filed")
    assert "Signed notice of 李保 filed" in filed.text
    # The ledger gives no guarantee kind: which step keeps the guarantor is still open.
    assert "general or a joint-liability guarantee" in filed.text

    async def filed_row() -> bool:
        (doc,) = await _documents(world, cid)
        return doc.signed_on == TODAY and doc.evidence_file_id is not None

    await eventually(filed_row)


async def test_in_chinese_the_notice_to_the_borrower_and_its_caption_are_chinese(world, bot):
    zhang, cid = await _case(world, lang="zh_Hans")
    await zhang.send("/notice HT1")
    await zhang.expect("发给谁？")
    await zhang.press("👤 张三 · 借款人")
    await zhang.expect("随后以PDF发送")
    paper = await expect_paper(zhang, "致张三的催收通知书")
    assert "回执" in paper.caption
    assert paper.document["file_name"] == "催收通知书-张三-2026-11-30.pdf"
    text = await _pdf_text(world, paper)
    for expected in ("催收通知书", "致：张三", "（借款人）", "¥9,000.00", "玖仟元整",
                     "2026年12月7日前", "回执", "签收人"):  # fmt: skip
        assert expected in text, expected
    assert "borrower" not in text
    (notice,) = await _documents(world, cid)
    assert notice.party_id is None


async def test_a_meeting_without_money_or_signed_paper_is_said_to_be_no_demand(world, bot):
    zhang, cid = await _case(world)
    await zhang.send("/outcome HT1")
    await zhang.expect("What kind of meeting was it?")
    await zhang.press("result meeting")
    await zhang.expect("Where was it held?")
    await zhang.press("our office")
    await zhang.expect("Who attended")
    await zhang.press("⏭ Later")
    await zhang.expect("Did the meeting achieve its step?")
    await zhang.press("Partly")
    await zhang.expect("What moved?")
    await zhang.send("承认欠款")
    await zhang.expect("How did the counterpart stand")
    await zhang.press("Evasive, stalling")
    await zhang.expect("Money received today")
    await zhang.send("0")
    await zhang.expect("The next step?")
    await zhang.press("⏭ Later")
    await zhang.expect("When? Tap a day")
    await zhang.press("⏭ Later")
    saved = await zhang.expect("recorded")
    assert "does not restart the limitation period" in saved.text
    assert "Nor is it a demand without signed paper: serve a notice from the card" in saved.text
    assert await world.storage.case_documents(cid) == []


async def test_a_double_tap_on_the_addressee_makes_one_notice_and_sends_it_once(world, bot):
    zhang, cid = await _case(world)
    await zhang.send("/notice HT1")
    ask = await zhang.expect("Whom is it for?")
    data = ask.buttons[0][0][1]
    await zhang.press_data(ask.message_id, data)
    await zhang.press_data(ask.message_id, data)
    await zhang.expect("The notice to 张三 follows as a PDF.")
    await expect_paper(zhang, "Collection notice to 张三")
    await zhang.ignore_unread(wait=1.0)  # the second tap's "this question has moved on"
    documents = [m for m in await zhang.messages() if m.document is not None]
    assert len(documents) == 1
    (notice,) = await _documents(world, cid)
    assert notice.party_id is None
