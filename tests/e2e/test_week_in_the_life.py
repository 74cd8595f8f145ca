"""A week in the life (issue 16, item 8): one story, read top to bottom as the week went.

张伟 collects for 东城 and reads Chinese; 李组长 supervises the team. From Monday 30 November
2026 to Friday 4 December, through the real bot and the emulator, with the clock moved by hand:

- Mon: the ledger (张三 with a guarantor, 王五, 赵六); 张伟 prepares 张三's meeting, records it
  with ¥3,000 received on the spot, and agrees four instalments of ¥5,000 — below the target,
  so 李组长 approves it. The card shows what is owed after the money and the next instalment.
  The evening digest counts the money.
- Tue: the first instalment is answered ✅ paid in full.
- Wed: the second, paid in part (¥2,000 of ¥5,000).
- Thu: the third is missed (no money now): a broken promise. /today lists 张三 with it, the
  card counts it and names the next open instalment, 李组长 is told at once and the evening
  digest lists it.
- 王芳, a second collector who reads English, agreed two ¥1,000 instalments with 陈八 on
  Monday (no prep: the plan leaves a third open, which she may agree alone); Thursday's is
  missed too (she types "missed" in reply to the reminder), and her /today and card say so
  in English.
- Fri: 张伟 prepares again with lower figures (¥10,000 has come in) and agrees a second plan
  that reaches the new target, so it needs no approval; it replaces the first. The evening
  digest covers the day since Thursday's.
- The legal clocks (issue 19): the ledger says 李四 is jointly liable for 张三's loan with a
  guarantee period agreed to end on Sunday 13 December. Thursday, ten days before, he is on
  张伟's /today ("serve a notice on guarantor 李四 before 12月13日") and on that evening's
  digest's legal list; Friday 张伟 serves the notice and sends back the photo of 李四's signed
  receipt: the claim is recorded, and 李四 leaves /today and the digest.

Run with ``-s`` to read, on the day of the broken promise, /today, the card and the digest.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from bot.domain.cases import PartyRole, RelatedParty
from bot.domain.commitments import CommitmentStatus
from bot.domain.legal import ClaimState, GuaranteeKind, legal_clocks
from bot.domain.people import Role
from reminders import DIGEST_JOB
from tests.e2e.conftest import World, expect_paper
from tests.e2e.seed import case_id, ledger, row
from tgemu import BotMessage, Person
from tgemu.media import tiny_png

SHANGHAI = ZoneInfo("Asia/Shanghai")
MON, TUE, WED, THU, FRI = (date(2026, 11, 30) + timedelta(days=n) for n in range(5))
CASE = "HT2026-001"
#: 李四's guarantee period, as the ledger's 保证期间 column gives it: ten days after Thursday.
GUARANTEE_END = date(2026, 12, 13)
LEGAL_LINE = "· 张三：2026年12月13日前向保证人李四送达催收通知书 · 还剩{days}天"
LATER_PART = "⏩ 本部分其余的以后再说"


def at(day: date, hour: int, minute: int = 0) -> datetime:
    return datetime.combine(day, time(hour, minute), tzinfo=SHANGHAI).astimezone(UTC)


def labels(message: BotMessage) -> list[str]:
    return [label for r in message.buttons for label, _ in r]


async def instalments(world: World, contract: str = CASE) -> list[tuple[int, str, int]]:
    """The case's instalments in force (of its agreed commitment): (seq, status, paid)."""
    rows = await world.storage._fetchall(
        "SELECT i.seq, i.status, i.paid FROM instalments i JOIN commitments c "
        "ON c.id = i.commitment_id WHERE c.status = 'agreed' AND c.case_id = ? "
        "ORDER BY c.id, i.seq",
        (await case_id(world, contract),),
    )
    return [tuple(r) for r in rows]


async def evening_digest(world: World, boss: Person, day: date) -> BotMessage:
    """18:00 on ``day``: the digest job runs as its schedule would; 李组长 gets the chart, then
    the text."""
    assert world.app is not None
    assert world.app.job_queue is not None
    world.clock.set(at(day, 18) + timedelta(seconds=5))
    (job,) = world.app.job_queue.get_jobs_by_name(DIGEST_JOB)
    assert await job.callback(world.app.context_types.context.from_job(job, world.app)) == 1
    await world.tick()
    chart = await boss.expect_next()
    assert chart.photo
    return await boss.expect_next("📊 东城")


async def legal_list(boss: Person, soon: int, urgent: int) -> BotMessage:
    """The digest's legal list, its own message after the digest's text (issue 19)."""
    return await boss.expect_next(f"⚖️ 90天内届满的法律时效（{soon}，其中30天内{urgent}）")


async def digest_in_english(world: World, boss: Person, day: date) -> str:
    """18:00 on ``day`` as an English-reading supervisor of the team would read it: the same
    composition the digest job sends, over the same span (since the previous digest), before
    the job runs (plain text: the template's tags taken off)."""
    import re
    from dataclasses import replace

    from bot.digests import compose

    assert world.app is not None
    assert world.app.job_queue is not None
    (job,) = world.app.job_queue.get_jobs_by_name(DIGEST_JOB)
    context = world.app.context_types.context.from_job(job, world.app)
    reader = replace(world.members[boss.id], locale="en")
    now = at(day, 18) + timedelta(seconds=5)
    parts = await compose(context.storage, context.renderer, context.settings, reader, now=now)
    texts = [
        context.renderer.render("en", m.template, **m.params) for m in parts if m.media == "text"
    ]
    return re.sub(r"<[^>]+>", "", "\n\n".join(texts)).replace("&amp;", "&")


async def reminder_at_nine(world: World, zhang: Person, day: date, *, collectors: int = 1):
    world.clock.set(at(day, 9))
    # One message per collector, however many instalments are due.
    assert await world.tick_reminders() == collectors
    return await zhang.expect_next("📅 今天：1笔还款到期")


async def prepare(zhang: Person) -> BotMessage:
    """Monday's /prep: what 张伟 knows now, the rest left for later."""
    await zhang.send(f"/prep {CASE}")
    await zhang.expect("对方有还款能力吗？")
    await zhang.press(LATER_PART)
    await zhang.expect("我社的底线")
    await zhang.send("2万")
    await zhang.expect("我方目标")
    await zhang.send("25000")
    await zhang.expect("我方开价")
    await zhang.send("28000")
    concessions = await zhang.expect("哪些让步需要上级批准？")
    assert "✓ 低于目标" in labels(concessions)
    await zhang.press("✔ 完成")
    await zhang.expect("这是什么性质的谈话？")
    await zhang.press("成果性谈话")
    await zhang.expect("在哪里谈？")
    await zhang.press(LATER_PART)
    await zhang.expect("采用哪种策略？")
    await zhang.press("★ 先摸清对方")
    await zhang.expect("先问哪些开放式问题")
    await zhang.press(LATER_PART)
    money = await zhang.expect("今天当场要收回多少？")
    assert "成果性谈话不能跳过这一项。" in money.text
    await zhang.send("5000")
    return await zhang.expect("💵")


async def record_the_meeting(zhang: Person, brief: BotMessage) -> BotMessage:
    await zhang.press("✍ 谈判结果", brief)
    await zhang.expect("计划：成果性谈话")  # the prep's plan, kept with one tap
    await zhang.press("✓ 保留")
    for question in ("在哪里谈的？", "双方各有谁参加？", "达到预定目标了吗？",
                     "有什么实质进展？", "对方态度如何？"):  # fmt: skip
        await zhang.expect(question)
        await zhang.press("⏭ 以后再说")
    await zhang.expect("今天当场收回多少？")
    await zhang.send("3000")
    await zhang.expect("用什么方式付的？")
    await zhang.press("现金")
    await zhang.expect("如有收据，请拍照发送。")
    await zhang.press("⏭ 以后再说")
    await zhang.expect("下一步做什么？")
    await zhang.press("达成偿还本费协议")
    await zhang.expect("什么时候？")
    await zhang.send("12月4日")
    return await zhang.expect("与张三（HT2026-001）的谈判已记录。")


async def test_a_week_in_the_life_of_a_collector_and_a_supervisor(world, bot):
    # -- Monday 30 November, 09:00 --------------------------------------------------------
    zhang = await world.member(Role.COLLECTOR, "张伟", lang="zh_Hans")
    boss = await world.member(Role.SUPERVISOR, "李组长", lang="zh_Hans")
    wang = await world.member(Role.COLLECTOR, "王芳", lang="en")
    guarantor = RelatedParty(PartyRole.GUARANTOR, "李四", "13900001111", "兄弟")
    await ledger(world, "东城", [
        row(2, CASE, "张三", dpd=60, overdue_yuan=30_000, collector="张伟",
            parties=(guarantor,), maturity=date(2026, 10, 1),
            guarantee_kind=GuaranteeKind.JOINT, guarantee_end=GUARANTEE_END),
        row(3, "HT2026-002", "王五", dpd=20, overdue_yuan=8_000, collector="张伟"),
        row(4, "HT2026-003", "赵六", dpd=100, overdue_yuan=12_000, collector="张伟"),
    row(5, "HT2026-004", "陈八", dpd=30, overdue_yuan=3_000, collector="王芳"),
    ])  # fmt: skip
    cid = await case_id(world, CASE)
    for person, name in ((zhang, "张伟"), (boss, "李组长"), (wang, "王芳")):
        await person.send("/start")
        await person.expect(name)
    await zhang.send("/today")
    today = await zhang.expect_next("今日待办")
    # 李四's guarantee period ends in 13 days: the claim to make is on the list, and the clock
    # raises 张三's case above 王五's (策略11).
    assert LEGAL_LINE.format(days=13) in today.text
    assert "2. 张三 · HT2026-001" in today.text
    assert "法律时效30天内届满" in today.text
    assert "有未兑现的还款承诺" not in today.text

    brief = await prepare(zhang)
    assert "开价¥28,000.00 ≥ 目标¥25,000.00 ≥ 底线¥20,000.00" in brief.text
    assert "💵 今天当场收回：¥5,000.00" in brief.text

    saved = await record_the_meeting(zhang, brief)
    assert "💵 今天收回：¥3,000.00" in saved.text
    assert "➡️ 下一步：2026年12月4日 达成偿还本费协议" in saved.text

    # The plan starts from the money the meeting recorded, kept with one tap.
    await zhang.press("🤝 记录还款协议", saved)
    await zhang.expect("谈判记录显示今天已收回¥3,000.00。")
    await zhang.press("✓ 保留")
    await zhang.expect("再定还款计划")
    await zhang.send("12月1日、12月2日、12月3日、12月7日")
    await zhang.expect("共4期。每期等额")
    await zhang.press("每期等额")
    await zhang.expect("分期合计多少？")
    await zhang.send("20000")
    who = await zhang.expect("谁作出的承诺？")
    assert "担保人 · 李四" in labels(who)
    await zhang.press("借款人本人")
    summary = await zhang.expect_next("张三的还款协议 · HT2026-001")
    for line in ("💵 今天当场收回：¥3,000.00", "1. 2026年12月1日周二 · ¥5,000.00",
                 "4. 2026年12月7日周一 · ¥5,000.00", "按方案还完后仍欠：¥7,000.00。",
                 "🔒 需要上级批准（策略6 即时请示）：低于目标"):  # fmt: skip
        assert line in summary.text, summary.text
    assert "✅ 确认" not in labels(summary)  # ¥23,000 in all, below the ¥25,000 target
    await zhang.press("🔒 请示上级", summary)
    await zhang.expect("已向李组长请示")

    request = await boss.expect("🔒 张伟请示批准", timeout=10)
    assert "张三 · HT2026-001 · 欠款¥27,000.00" in request.text
    assert "需要您批准的原因：低于目标" in request.text
    await boss.press("✅ 批准", request)
    answered = await boss.expect("✅ 您批准了这项请示。")
    assert "📁 张三 · HT2026-001" in answered.text
    assert answered.buttons == []
    told = await zhang.expect("李组长批准了您的还款协议请示。", timeout=10)
    assert "🗓 分4期，共¥20,000.00，首期2026年12月1日周二" in told.text
    await zhang.press("✅ 完成：查看协议", told)
    await zhang.expect("张三的还款协议已保存。")
    # The agreement to sign, as a PDF naming the guarantor who co-signs (issue 19).
    paper = await expect_paper(zhang, "📄 张三的还款协议")
    assert paper.document["file_name"] == "还款协议-张三-2026-11-30.pdf"
    assert "每位担保人也要签字" in paper.caption
    (agreed,) = await world.storage.commitments_of(cid)
    assert (agreed.status, agreed.money_today, agreed.total) == (
        CommitmentStatus.AGREED, 300_000, 2_000_000,
    )  # fmt: skip

    await zhang.send(f"/case {CASE}")
    card = await zhang.expect_next("张三 · HT2026-001")
    assert "💰 目前尚欠：¥27,000.00 · 台账数据之后已记录还款¥3,000.00" in card.text
    assert "📅 下一期：2026年12月1日周二" in card.text
    assert "未兑现的承诺" not in card.text

    # 王芳 (English) agrees 陈八's two instalments on her own.
    await wang.send("/commit HT2026-004")
    await wang.expect("First, money today")
    await wang.send("0")
    await wang.expect("Then the plan")
    await wang.send("12月3日、12月10日")
    await wang.expect("2 instalments. Equal amounts")
    await wang.press("Equal amounts")
    await wang.expect("How much in all")
    await wang.send("2000")
    plan = await wang.expect_next("Commitment of 陈八")
    assert "Still open after the plan: CN¥1,000.00." in plan.text
    await wang.press("✅ Confirm", plan)
    await wang.expect("Commitment of 陈八 stored.")
    await expect_paper(wang, "📄 Repayment agreement of 陈八")

    digest = await evening_digest(world, boss, MON)
    assert "💰 自11月29日周日00:00以来：1笔共¥3,000.00、当场收回100%" in digest.text
    assert "🤝 同期：守约0 · 违约0 · 未确认0" in digest.text
    assert "❌" not in digest.text
    # 李四's guarantee period, thirteen days from its end, already on the legal list.
    legal = await legal_list(boss, 1, 1)
    assert (
        "· 张三 · HT2026-001 · 李四的保证期间 · 12月13日周日届满（还有13天） · 张伟" in legal.text
    )

    # -- Tuesday 1 December: paid in full --------------------------------------------------
    due = await reminder_at_nine(world, zhang, TUE)
    assert "¥5,000.00 · 2026年12月1日周二 · 第1期" in due.text
    assert "🔔 明天：1笔还款到期" in due.text  # and Wednesday's, a day ahead
    await zhang.press("1 ✅ 已全额还款", due)
    await zhang.expect_toast("已记录：张三已还¥5,000.00。")
    edited = await zhang.expect("📅 今天：1笔还款到期")
    assert labels(edited)[0] == "1 ✓ 张三 · 收回¥5,000.00"

    # -- Wednesday 2 December: paid in part ------------------------------------------------
    due = await reminder_at_nine(world, zhang, WED, collectors=2)
    heads_up = await wang.expect_next("Tomorrow: 1 payment due")
    assert "陈八 · HT2026-004" in heads_up.text
    assert "2026年12月2日周三 · 第2期" in due.text
    await zhang.press_data(due.message_id, due.buttons[0][1][1])  # its first row: ◐ 部分还款
    await zhang.expect("张三这次为第2期")
    await zhang.send("2000")
    edited = await zhang.expect("📅 今天：1笔还款到期")
    assert labels(edited)[0] == "1 ◐ 张三 · 已还¥2,000.00，未还¥3,000.00"
    partial = await zhang.expect("✅ 已记录：收到张三¥2,000.00。")
    assert "第2期（2026年12月2日周三）还有¥3,000.00未还" in partial.text

    # -- Thursday 3 December: the broken promise -------------------------------------------
    due = await reminder_at_nine(world, zhang, THU, collectors=2)
    assert "¥5,000.00 · 2026年12月3日周四 · 第3期" in due.text
    assert "❓ 尚未回复：1笔还款" in due.text  # Wednesday's rest, asked again
    await zhang.press_data(due.message_id, due.buttons[1][0][1])  # its second row: ✖ 未还款
    await zhang.expect("张三为什么没有还第3期")
    await zhang.press("目前没钱")
    ticked = await zhang.expect("张三为什么没有还第3期")
    assert "✓ 目前没钱" in labels(ticked)
    await zhang.press("✔ 完成")
    edited = await zhang.expect("📅 今天：1笔还款到期")
    assert labels(edited)[0] == "1 ✗ 张三 · 未还¥5,000.00"
    missed = await zhang.expect("已记录为未还款：承诺已违约。")
    assert labels(missed) == ["✍ 谈判结果", "🧭 准备新的会谈"]
    # 王芳's 陈八 misses too; she answers in English.
    due_en = await wang.expect_next("Today: 1 payment due")
    assert "CN¥1,000.00 · Thu, Dec 3, 2026 · instalment 1" in due_en.text, due_en.text
    # She types her answer in reply to the reminder rather than tapping: the same questions.
    await wang.send("missed", reply_to=due_en.message_id)
    await wang.expect("Why did 陈八 miss instalment 1")
    await wang.press("No money now")
    await wang.expect("Why did 陈八 miss")
    await wang.press("✔ Done")
    await wang.expect("Today: 1 payment due")  # the reminder, edited in place
    await wang.expect("recorded as missed: the promise is broken")
    await world.tick()
    alarm = await boss.expect_next("⚠️ 违约：张三 · HT2026-001")  # in the order they were told
    await boss.expect_next("⚠️ 违约：陈八 · HT2026-004")
    assert "原因：目前没钱" in alarm.text
    assert "报告人：张伟。" in alarm.text
    assert await instalments(world) == [
        (1, "kept", 500_000), (2, "partial", 200_000), (3, "broken", 0), (4, "open", 0),
    ]  # fmt: skip
    assert await instalments(world, "HT2026-004") == [(1, "broken", 0), (2, "open", 0)]

    world.clock.set(at(THU, 11))
    await zhang.send("/today")
    today = await zhang.expect_next("今日待办")
    # At the top: the broken promise, what it was, and what to do.
    top = today.text.split("\n\n")[1]
    assert top.startswith("⚠️ 未兑现的承诺 — 准备下一次谈判")
    assert "张三 · HT2026-001 · 第3期 · ¥5,000.00 · 12月3日周四到期 · 目前没钱" in top
    assert ["🧭 重新准备 · 张三"] in [[t for t, _ in row] for row in today.buttons]
    # Then Wednesday's instalment paid in part: the rest still to answer, with its buttons.
    to_answer = today.text.split("\n\n")[2]
    assert to_answer.startswith("💵 待确认的还款")
    rest = "1. 张三 · HT2026-001 · 第2期 · ¥3,000.00 · 已还¥2,000.00，其余未还"
    assert rest in to_answer
    assert "1 ✅ 已全额还款" in labels(today)
    # 李四's guarantee period ends in ten days: the claim it asks for, with a button to the case.
    legal = next(p for p in today.text.split("\n\n") if p.startswith("⚖️"))
    assert legal == "⚖️ 法律时效 — 届满前必须行动\n" + LEGAL_LINE.format(days=10)
    assert "⚖️ 张三" in labels(today)
    line = next(p for p in today.text.split("\n\n") if "张三 · HT2026-001" in p and "逾期" in p)
    assert "有未兑现的还款承诺" in line
    assert "逾期 ¥20,000.00" in line  # the ledger's ¥30,000 less the ¥10,000 recorded
    await zhang.send(f"/case {CASE}")
    card = await zhang.expect_next("张三 · HT2026-001")
    assert "💰 目前尚欠：¥20,000.00 · 台账数据之后已记录还款¥10,000.00" in card.text
    assert "📅 下一期：2026年12月7日周一" in card.text  # not the missed one
    assert "⚠️ 未兑现的承诺：" in card.text
    # 李四's guarantee: its kind and period from the ledger, the claim not made yet; ten days
    # from its end it leads the reasons for urgency, before Thursday's broken promise (the
    # card names the first three; Wednesday's part-paid one is under the "…").
    assert "连带责任保证 · 保证期间至2026年12月13日 · 尚未主张" in card.text
    assert "法律时效10天内届满 +40；逾期 63 天 +20；有未兑现的还款承诺 +10 …" in card.text

    await wang.send("/today")
    today_en = await wang.expect_next("Today")
    assert "Broken promises — prepare the next meeting" in today_en.text
    line_en = next(
        p for p in today_en.text.split("\n\n") if "陈八 · HT2026-004" in p and "Overdue" in p
    )
    assert "broken promises" in line_en
    await wang.send("/case HT2026-004")
    card_en = await wang.expect_next("陈八 · HT2026-004")
    assert "⚠️ Broken promises: 1" in card_en.text
    assert "📅 Next instalment: Thu, Dec 10, 2026" in card_en.text
    assert "Owed now" not in card_en.text  # nothing paid since the ledger: its figures stand

    digest_en = await digest_in_english(world, boss, THU)
    assert "🤝 Since then: 1 kept · 2 broken · 0 unconfirmed" in digest_en
    assert "· 张三 · HT2026-001 · CN¥5,000.00 · No money now · 张伟" in digest_en
    digest = await evening_digest(world, boss, THU)
    # Since Monday's digest (none ran Tuesday or Wednesday): Tuesday's and Wednesday's money.
    assert "💰 自11月30日周一18:00以来：2笔共¥7,000.00" in digest.text
    assert "🤝 同期：守约1 · 违约2 · 未确认0" in digest.text
    # The rates hold today's broken promises too (they read 100% beside "违约2").
    assert "📈 守约率：7天33% · 30天33%" in digest.text
    assert "张伟：¥7,000.00 · 50% · 0 · 3" in digest.text
    assert "❌ 自11月30日周一18:00以来违约（2）" in digest.text
    assert "· 陈八 · HT2026-004 · ¥1,000.00 · 目前没钱 · 王芳" in digest.text
    assert "· 张三 · HT2026-001 · ¥5,000.00 · 目前没钱 · 张伟" in digest.text
    assert "❌ 违约 (2)" in labels(digest)
    # That evening's legal list: 李四, ten days before his period ends, with its drill-down.
    legal = await legal_list(boss, 1, 1)
    assert (
        "· 张三 · HT2026-001 · 李四的保证期间 · 12月13日周日届满（还有10天） · 张伟" in legal.text
    )
    assert labels(legal) == ["⚖️ 30天内 (1)", "⚖️ 90天内 (1)"]
    assert "Guarantee period of 李四 · ends Sun, Dec 13 (in 10 days)" in digest_en
    print("\n===== 周四 /today（张伟）=====\n" + today.text)
    print("\n===== 周四 案件卡 /case HT2026-001（张伟）=====\n" + card.text)
    print("\n===== 周四 18:00 简报（李组长）=====\n" + digest.text + "\n\n" + legal.text)
    print("\n===== Thursday 18:00 digest, in English =====\n" + digest_en)
    print("\n===== Thursday /today (王芳, English) =====\n" + today_en.text)
    print("\n===== Thursday card /case HT2026-004 (王芳, English) =====\n" + card_en.text)

    # -- Friday 4 December: prepare again, a second plan -----------------------------------
    world.clock.set(at(FRI, 10))
    await zhang.send(f"/prep {CASE}")
    again = await zhang.expect("对方有还款能力吗？")
    assert "上次（2026年11月30日）的方案：先摸清对方，开价¥28,000.00。" in again.text
    await zhang.press(LATER_PART)
    bottom = await zhang.expect("我社的底线")
    assert "欠款：逾期¥20,000.00。" in bottom.text  # what is owed now, after ¥10,000
    assert "上次：¥20,000.00" in bottom.text
    await zhang.send("15000")  # lower now that ¥10,000 has come in
    await zhang.expect("我方目标")
    await zhang.send("18000")
    await zhang.expect("我方开价")
    await zhang.send("20000")
    await zhang.expect("哪些让步需要上级批准？")
    await zhang.press("✔ 完成")
    await zhang.expect("这是什么性质的谈话？")
    await zhang.press(LATER_PART)
    await zhang.expect("采用哪种策略？")
    await zhang.press(LATER_PART)
    await zhang.expect("今天当场要收回多少？")
    await zhang.press("今天不收（明确说明）")
    brief = await zhang.expect("💵")
    assert "🧭 重新准备" in labels(brief)

    await zhang.send(f"/commit {CASE}")
    await zhang.expect("先看今天的钱")
    await zhang.send("0")
    await zhang.expect("再定还款计划")
    await zhang.send("12月10日、12月17日")
    await zhang.expect("共2期。每期等额")
    await zhang.press("每期等额")
    await zhang.expect("分期合计多少？")
    await zhang.send("18000")
    await zhang.expect("谁作出的承诺？")
    await zhang.press("担保人 · 李四")
    summary = await zhang.expect_next("张三的还款协议 · HT2026-001")
    assert "✏️ 取代2026年11月30日周一的协议（原协议保留在记录中）。" in summary.text
    assert "1. 2026年12月10日周四 · ¥9,000.00" in summary.text
    # ¥18,000 reaches Friday's target: checked against the new prep, no approval needed.
    assert "需要上级批准" not in summary.text
    await zhang.press("✅ 确认", summary)
    await zhang.expect("张三的还款协议已保存。")
    # The amended plan's own agreement.
    await expect_paper(zhang, "📄 张三的还款协议", known={paper.message_id})
    commitments = await world.storage.commitments_of(cid)
    assert sorted((c.status, c.total) for c in commitments) == [
        (CommitmentStatus.AGREED, 1_800_000), (CommitmentStatus.AMENDED, 2_000_000),
    ]  # fmt: skip
    assert [(s, st) for s, st, _ in await instalments(world)] == [(1, "open"), (2, "open")]

    await zhang.send(f"/case {CASE}")
    card = await zhang.expect_next("张三 · HT2026-001")
    assert "📅 下一期：2026年12月10日周四" in card.text
    assert "以前的协议：2026年11月30日 已被取代" in card.text

    # The notice to 李四 (策略9: his own), served this morning; he signs its receipt, and
    # 张伟 sends back the photo: the claim his guarantee period asks for (第693条).
    await zhang.send(f"/notice {CASE}")
    whom = await zhang.expect("发给谁？一人一份")
    (to_li,) = [label for label in labels(whom) if "李四" in label]
    await zhang.press(to_li, whom)
    await zhang.expect("致李四的催收通知书随后以PDF发送。")
    await expect_paper(zhang, "致李四的催收通知书")
    await zhang.send_document("回执.png", tiny_png(), "image/png")
    which = await zhang.expect("这是哪份文书的签字件？")
    (notice,) = [label for label in labels(which) if "李四" in label]
    await zhang.press(notice, which)
    await zhang.expect("哪天签署的？")
    await zhang.press("其他日期")
    await zhang.expect("哪天签署的？")
    await zhang.send("12月4日")
    filed = await zhang.expect("李四签字的催收通知书回执已存档（签署日期：2026年12月4日周五）。")
    facts = await world.storage.legal_facts(cid)
    (li,) = legal_clocks(facts, FRI).guarantors
    assert (li.state, li.claim.on, li.period_end) == (ClaimState.CLAIMED, FRI, GUARANTEE_END)
    assert li.claim.evidence is not None
    # 李四 has left 张伟's /today...
    await zhang.send("/today")
    today = await zhang.expect_next("今日待办")
    assert "李四" not in today.text
    assert "⚖️ 张三" not in labels(today)

    digest = await evening_digest(world, boss, FRI)
    assert "💰 自12月3日周四18:00以来：0笔共¥0.00" in digest.text
    assert "🤝 同期：守约0 · 违约0 · 未确认0" in digest.text
    # ...and the digest: no legal list this evening.
    assert [m.text for m in await boss.unread(wait=2) if m.text.startswith("⚖️")] == []
    print("\n===== 周五 案件卡（张伟）=====\n" + card.text)
    print("\n===== 周五 18:00 简报（李组长）=====\n" + digest.text)
    print("\n===== 周五 签字回执存档（张伟）=====\n" + filed.text)
