"""The sandbox opens on a week in the life (issue 16, item 8: "The sandbox's demo shows the same
week" as tests/e2e/test_week_in_the_life.py), as someone trying the product finds it.

The sandbox's clock starts on Thursday 3 December 2026 at 14:00 in Shanghai. The demo
cooperative's week, written by bot.sandbox.demo.seed_demo_history through the flows' own
storage verbs: on Friday 张伟 prepared 郑海's meeting, collected ¥3,000 at it and agreed four
instalments of ¥5,000 below his target, which 李组长 approved; Saturday's was paid, yesterday's
missed (no money: the promise is broken), today's is due. 吴敏 agreed two instalments on Monday
and paid ¥10,000 of today's this morning; 张伟 set today to call on her. Chen Jing (English)
had 孙丽 pay in part, prepared her again and agreed a second plan that replaced the first.
王建国's fee waiver waits for 李组长.

The legal clocks (issue 19): the ledger says 王建国's guarantor 李明 is jointly liable with an
agreed period ending Sunday 13 December, ten days on — on 李组长's digest's legal list, with a
drill-down to the case; 周强 signed a repayment agreement on 15 June 2025, so his loan, due
27 November 2024, is in time until 15 June 2028 (three years from the signing, not the due
date).
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, timedelta

from bot.clock import ManualClock
from bot.config import load_settings
from bot.domain.legal import LegalEventKind, legal_clocks
from bot.sandbox import BOT_USERNAME, TEAM, Sandbox, start_sandbox
from tgemu import BotMessage, EmulatorClient, EmulatorConfig, Person

THURSDAY_2PM = datetime(2026, 12, 3, 6, 0, tzinfo=UTC)  # 14:00 in Shanghai
#: An instalment's answer buttons, two a row (four in one were cut on a phone).
ANSWER_ROWS = [["1 ✅ 已全额还款", "◐ 部分还款"], ["✖ 未还款", "📂 打开案件"]]


def rows(message: BotMessage) -> list[list[str]]:
    return [[label for label, _ in row] for row in message.buttons]


async def history(sandbox: Sandbox) -> dict[str, int]:
    """How many of each thing the demo's past holds."""
    tables = ("preps", "meetings", "payments", "commitments", "instalments", "approvals",
              "reminders", "outbox")  # fmt: skip
    counts = {}
    for table in tables:
        (row,) = await sandbox.storage._fetchall(f"SELECT COUNT(*) FROM {table}")
        counts[table] = row[0]
    return counts


def start(tmp_path, pace, at: datetime):
    return start_sandbox(
        replace(load_settings({}), **pace.settings()),
        emulator_config=EmulatorConfig(port=0, **pace.emulator_config()),
        db_path=tmp_path / "sandbox.db",
        clock=ManualClock(at),
    )


async def test_the_sandbox_opens_on_the_week_and_a_restart_adds_nothing(tmp_path, pace):
    async with start(tmp_path, pace, THURSDAY_2PM) as sandbox:
        async with EmulatorClient(sandbox.emulator.url) as client:
            zhang = Person(client, sandbox.people["collector"].id, BOT_USERNAME, name="张伟")
            chen = Person(client, sandbox.people["collector2"].id, BOT_USERNAME, name="Chen")
            boss = Person(client, sandbox.people["supervisor"].id, BOT_USERNAME, name="李组长")

            # What the week left for today comes at once: 张伟's payments due today...
            due = await zhang.expect("📅 今天：2笔还款到期", timeout=10)
            assert "1. 郑海 · DC2024-0521\n¥5,000.00 · 2026年12月3日周四 · 第3期" in due.text
            assert (
                "2. 吴敏 · DC2024-0755\n¥5,200.00 · 2026年12月3日周四 · 第1期 · 已还¥10,000.00"
                in (due.text)
            )
            assert rows(due)[:2] == ANSWER_ROWS
            # ...and 李组长 was told of yesterday's broken promise, with its reason.
            alarm = await boss.expect("⚠️ 违约：郑海 · DC2024-0521", timeout=10)
            assert "第2期（共4期），2026年12月2日周三到期的¥5,000.00未还。" in alarm.text
            assert "原因：目前没钱" in alarm.text
            assert "报告人：张伟。" in alarm.text

            # 张伟's /today: the broken promise with 🧭 Prepare again on top, today's payments
            # with their answer buttons, the next step he set for today; then his cases.
            await zhang.send("/today")
            today = await zhang.expect("今日待办")
            blocks = today.text.split("\n\n")
            assert blocks[1] == (
                "⚠️ 未兑现的承诺 — 准备下一次谈判\n"
                "· 郑海 · DC2024-0521 · 第2期 · ¥5,000.00 · 12月2日周三到期 · 目前没钱"
            )
            assert blocks[2].startswith(
                "💵 待确认的还款 — 点选实际情况\n"
                "1. 郑海 · DC2024-0521 · 第3期 · ¥5,000.00 · 今天到期"
            ), blocks[2]
            assert blocks[3] == "➡️ 下一步 — 上次谈判定下的\n· 吴敏 · 上门收款 · 今天"
            # The legal clocks (issue 19): 李明's guarantee period ends in ten days.
            assert blocks[4] == (
                "⚖️ 法律时效 — 届满前必须行动\n"
                "· 王建国：2026年12月13日前向保证人李明送达催收通知书 · 还剩10天"
            )
            assert rows(today)[:4] == [["🧭 重新准备 · 郑海"], ["⚖️ 王建国"], *ANSWER_ROWS]
            assert today.text.count("目前没钱") == 1
            # 周强's card: his limitation runs from the agreement he signed last June.
            await zhang.send("/case DC2023-0417")
            card = await zhang.expect("周强 · DC2023-0417")
            assert "⚖️ 诉讼时效至2028年6月15日 · 上次中断：2025年6月15日（还款协议）" in card.text, (
                card.text
            )

            # The card: what is owed after the week's money, today's instalment, the broken one.
            await zhang.send("/case DC2024-0521")
            card = await zhang.expect("郑海 · DC2024-0521")
            for line in (
                "💰 目前尚欠：¥223,000.00 · 台账数据之后已记录还款¥8,000.00",  # ¥3,000 + ¥5,000
                "📅 下一期：2026年12月3日周四",
                "⚠️ 未兑现的承诺：1",
                "还款承诺：2026年11月27日达成 · 共4期，¥20,000.00",
            ):
                assert line in card.text, card.text
            assert "🤝 还款协议" in rows(card)[1]
            await zhang.send("/case DC2024-0755")
            card = await zhang.expect("吴敏 · DC2024-0755")
            assert "台账数据之后已记录还款¥10,000.00" in card.text
            assert "➡️ 下一步：上门收款 · 2026年12月3日" in card.text

            # Chen Jing reads English: 孙丽's second plan replaced the first.
            await chen.send("/case DC2024-0690")
            card_en = await chen.expect("孙丽 · DC2024-0690")
            assert "CN¥2,500.00 recorded since the ledger's figures" in card_en.text
            assert "Earlier commitments: Nov 27, 2026 replaced" in card_en.text
            assert "2 instalments, CN¥4,000.00" in card_en.text

            # 李组长's digest since yesterday: the money, the broken promise, the request
            # waiting for him with its exact ask and its buttons.
            await boss.send("/digest")
            digest = await boss.expect("📊 东城组 · 12月3日周四", timeout=15)
            for line in (
                "💰 自12月2日周三00:00以来：3笔共¥12,700.00",
                "🤝 同期：守约1 · 违约1 · 未确认0",
                "❌ 自12月2日周三00:00以来违约（1）\n"
                "· 郑海 · DC2024-0521 · ¥5,000.00 · 目前没钱 · 张伟",
                "🔒 等待您答复（1）",
            ):
                assert line in digest.text, digest.text
            assert "❌ 违约 (1)" in [label for row in rows(digest) for label in row]
            # The legal list, its own message: 李明's period ends in ten days; 孙伟's, whose
            # kind the ledger does not give, six months after 郑海's missed due date.
            legal = await boss.expect("⚖️", timeout=10)
            assert legal.text == (
                "⚖️ 90天内届满的法律时效（2，其中30天内1）\n"
                "· 王建国 · DC2024-0102 · 李明的保证期间 · 12月13日周日届满（还有10天） · 张伟\n"
                "· 郑海 · DC2024-0521 · 孙伟的保证期间（保证方式档案未载） · "
                "1月23日周六届满（还有51天） · 张伟"
            )
            assert rows(legal) == [["⚖️ 30天内 (1)", "⚖️ 90天内 (2)"]]
            waiting = await boss.expect("🔒 王建国 · DC2024-0102", timeout=10)
            assert "请示内容：明天若当场还3万，罚息18,000元能否免除？" in waiting.text
            assert "需要您批准的原因：减免费用" in waiting.text
            assert rows(waiting) == [["✅ 批准", "❌ 驳回"], ["↩️ 还价"]]
            # Drill down: the list of clocks within 30 days, a button to the case's card.
            await boss.press("⚖️ 30天内 (1)", legal)
            listed = await boss.expect("30天内届满的法律时效（1）")
            assert "1. 王建国 · DC2024-0102 · 李明的保证期间" in listed.text
            assert rows(listed) == [["王建国 · DC2024-0102"]]
            await boss.press("王建国 · DC2024-0102", listed)
            await boss.expect("王建国 · DC2024-0102")
        # 周强's limitation runs from the agreement he signed last June, filed with its photo.
        supervisor = await sandbox.storage.get_user_by_telegram_id(sandbox.people["supervisor"].id)
        zhou = next(
            c
            for c in await sandbox.storage.list_cases(supervisor)
            if c.contract_no == "DC2023-0417"
        )
        facts = await sandbox.storage.legal_facts(zhou.id)
        limitation = legal_clocks(facts, THURSDAY_2PM.date()).limitation
        assert (limitation.due_date, limitation.deadline) == (date(2024, 11, 27), date(2028, 6, 15))
        assert (limitation.set_by.kind, limitation.set_by.on) == (
            LegalEventKind.AGREEMENT_SIGNED, date(2025, 6, 15)
        )  # fmt: skip
        assert limitation.set_by.evidence is not None
        before = await history(sandbox)
    assert before["commitments"] == 5  # 郑海's, 孙丽's two, 吴敏's, 陈秀英's

    # A second start on the same database (an hour later) writes the week again nowhere and
    # sends nothing of it again.
    async with start(tmp_path, pace, THURSDAY_2PM + timedelta(hours=1)) as sandbox:
        async with EmulatorClient(sandbox.emulator.url) as client:
            zhang = Person(client, sandbox.people["collector"].id, BOT_USERNAME, name="张伟")
            boss = Person(client, sandbox.people["supervisor"].id, BOT_USERNAME, name="李组长")
            await zhang.send("/today")
            today = await zhang.expect("今日待办")
            assert today.text.count("目前没钱") == 1
            assert today.text.count("第3期 · ¥5,000.00 · 今天到期") == 1
            assert [m.text for m in await zhang.unread(wait=3) if "📅" in m.text] == []
            assert [m.text for m in await boss.unread() if "⚠️ 违约" in m.text] == []
        team = await sandbox.storage.find_team(TEAM)
        assert team is not None
        assert len(await sandbox.storage.pending_approvals(team_id=team.id)) == 1
        assert await history(sandbox) == before
