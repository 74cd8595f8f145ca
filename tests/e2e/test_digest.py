"""The supervisor's daily digest end to end: the real bot, the strict emulator, the clock job.

- A team with a week of activity (seeded below as plain rows): every figure of the digest is
  counted again here from the seed itself, by the definitions in bot.domain.digest, and must
  be what the supervisor reads. The chart arrives as a photo in the same group and is opened.
- Exactly once: the bot is started and stopped around the digest time (before, at, just after,
  down at the time and up later the same evening) and each supervisor gets one digest a day;
  also on both DST change days in Europe/Berlin.
- A team of 300 collectors: several messages, each accepted by the emulator's Telegram rules.
"""

from __future__ import annotations

import dataclasses
import io
import random
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from babel.numbers import format_currency, format_decimal

from bot.app import build_application
from bot.charts import cjk_font
from bot.domain.people import Role
from bot.runner import running
from bot.storage.testing import Connection, connect_file
from reminders import DIGEST_JOB, OUTBOX_JOB

SHANGHAI = ZoneInfo("Asia/Shanghai")
BERLIN = ZoneInfo("Europe/Berlin")
TODAY = date(2026, 12, 1)
#: Tuesday 1 December 2026, 18:00 in Shanghai: the cooperative's digest time.
DIGEST_AT = datetime(2026, 12, 1, 10, 0, tzinfo=UTC)
NAMES = ("张伟", "王芳", "陈静")
OPEN = ("open", "negotiating", "under_agreement")
SETTLED = ("kept", "partial", "broken", "unconfirmed")


def iso(value: datetime) -> str:
    return value.astimezone(UTC).isoformat(timespec="microseconds")


def local(day: date, hour: int, minute: int = 0, tz: ZoneInfo = SHANGHAI) -> datetime:
    return datetime.combine(day, time(hour, minute), tzinfo=tz).astimezone(UTC)


def money(fen: int) -> str:
    return format_currency(fen / 100, "CNY", locale="en")


def pct(kept: int, settled: int) -> str:
    return "—" if not settled else f"{(200 * kept + settled) // (2 * settled)}%"


async def lead(world, clock, name: str, *, role=Role.SUPERVISOR, team: str | None = "东城"):
    """A supervisor (or admin) reading English who has opened the bot's chat (a bot cannot
    write first: Telegram answers "chat not found")."""
    person = await world.member(role, name, team=team)
    await world.storage.set_locale(world.members[person.id].id, "en", now=clock.now())
    await person.send("/whoami")
    return person


async def run_job(app, name: str) -> int:
    (job,) = app.job_queue.get_jobs_by_name(name)
    context = app.context_types.context.from_job(job, app)
    return int(await job.callback(context) or 0)


# -- the seed: plain rows, kept here to count from ------------------------------------------


@dataclass
class Seed:
    collectors: dict[str, int] = field(default_factory=dict)  # name -> user id
    cases: list[dict[str, Any]] = field(default_factory=list)
    meetings: list[dict[str, Any]] = field(default_factory=list)
    commitments: list[dict[str, Any]] = field(default_factory=list)
    instalments: list[dict[str, Any]] = field(default_factory=list)
    payments: list[dict[str, Any]] = field(default_factory=list)
    preps: list[dict[str, Any]] = field(default_factory=list)
    approvals: list[dict[str, Any]] = field(default_factory=list)
    leads: list[dict[str, Any]] = field(default_factory=list)
    dead: dict[int, int] = field(default_factory=dict)  # collector id -> dead reminders
    blocked: set[int] = field(default_factory=set)
    late: int = 0


def seed_week(db_path, team_id: int, collectors: dict[str, int], supervisor_id: int) -> Seed:
    """A week of a team's work, written as rows (the test counts from this object)."""
    with connect_file(db_path) as con:
        con.execute("PRAGMA foreign_keys = ON")
        return _write_week(con, team_id, collectors, supervisor_id)


def _write_week(
    con: Connection, team_id: int, collectors: dict[str, int], supervisor_id: int
) -> Seed:
    rng = random.Random(11)
    s = Seed(collectors=dict(collectors))
    ids = list(collectors.values())
    now = DIGEST_AT
    created = iso(now - timedelta(days=60))
    for n in range(18):
        lead = ids[n % len(ids)]
        contact = None if n % 5 == 0 else iso(now - timedelta(days=rng.randint(0, 30), hours=3))
        case = {
            "id": None, "contract": f"DC2026-{n:04d}", "borrower": f"借款人{n}", "lead": lead,
            "status": "settled" if n == 17 else OPEN[n % 3],
            "overdue_since": (TODAY - timedelta(days=rng.randint(10, 200))).isoformat(),
            "deterioration": rng.choice(["", "", "business_sliding", "assets_moving"]),
            "last_contact": contact,
        }  # fmt: skip
        cur = con.execute(
            "INSERT INTO cases (contract_no, team_id, lead_id, status, borrower_name, "
            "principal_outstanding, overdue_principal, overdue_since, deterioration, "
            "last_contact_at, ledger_hash, created_at, imported_at) "
            "VALUES (?, ?, ?, ?, ?, 5000000, 1000000, ?, ?, ?, 'h', ?, ?)",
            (case["contract"], team_id, lead, case["status"], case["borrower"],
             case["overdue_since"], case["deterioration"], contact, created, created),
        )  # fmt: skip
        case["id"] = cur.lastrowid
        s.cases.append(case)
    approaches = ["pressure", "sympathy", "flattery", "firm_bottom_line", "read_first"]
    for case in s.cases:
        if rng.random() < 0.5:
            at = now - timedelta(days=rng.randint(3, 40))
            s.preps.append({"case": case["id"], "at": at, "approach": rng.choice(approaches),
                            "previous": None})  # fmt: skip
    for case in s.cases[:2]:  # a change of approach yesterday (策略12)
        before, after = rng.sample(approaches, 2)
        s.preps.append({"case": case["id"], "at": local(TODAY - timedelta(days=1), 11),
                        "approach": after, "previous": before})  # fmt: skip
    for p in s.preps:
        con.execute(
            "INSERT INTO preps (case_id, author_id, at, answers, approach, previous_approach, "
            "approach_reason) VALUES (?, ?, ?, '{}', ?, ?, ?)",
            (p["case"], supervisor_id, iso(p["at"]), p["approach"], p["previous"],
             "态度软化" if p["previous"] else None),
        )  # fmt: skip
    for back in range(1, 8):  # meetings over the week before today
        day = TODAY - timedelta(days=back)
        for case in s.cases:
            if rng.random() < 0.3:
                m = {"case": case["id"], "author": case["lead"], "held_on": day,
                     "at": local(day, 16), "agreement": int(rng.random() < 0.2)}  # fmt: skip
                cur = con.execute(
                    "INSERT INTO meetings (case_id, author_id, at, held_on, agreement) "
                    "VALUES (?, ?, ?, ?, ?)",
                    (m["case"], m["author"], iso(m["at"]), day.isoformat(), m["agreement"]),
                )
                m["id"] = cur.lastrowid
                s.meetings.append(m)
    for case in s.cases:
        if rng.random() < 0.7:
            agreed = now - timedelta(days=rng.choice([5, 20]))
            cur = con.execute(
                "INSERT INTO commitments (case_id, created_by, created_at, money_today, total, "
                "plan, status, agreed_at) VALUES (?, ?, ?, 0, 0, '{}', 'agreed', ?)",
                (case["id"], case["lead"], iso(agreed), iso(agreed)),
            )
            k = {"id": cur.lastrowid, "case": case["id"], "agreed_at": agreed}
            s.commitments.append(k)
            for seq in range(1, 5):
                due = TODAY + timedelta(days=rng.randint(-12, 8))
                amount = rng.randint(5, 60) * 10_000
                if due < TODAY:
                    status = rng.choice(["kept", "kept", "broken", "unconfirmed", "partial",
                                         "cancelled"])  # fmt: skip
                    settled = local(due + timedelta(days=1 if status == "unconfirmed" else 0),
                                    9 if status == "unconfirmed" else 20)  # fmt: skip
                else:
                    status, settled = rng.choice(["open", "open", "partial"]), None
                paid = amount if status == "kept" else amount // 2 if status == "partial" else 0
                reason = (
                    rng.choice(["no_money", "later,dispute", None]) if status == "broken" else None
                )
                i = {"commitment": k["id"], "case": case["id"], "due_on": due, "amount": amount,
                     "paid": paid, "status": status, "settled_at": settled,
                     "reason": reason}  # fmt: skip
                cur = con.execute(
                    "INSERT INTO instalments (commitment_id, seq, due_on, amount, paid, status, "
                    "settled_at, miss_reason) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                    (k["id"], seq, due.isoformat(), amount, paid, status,
                     None if settled is None else iso(settled), reason),
                )  # fmt: skip
                i["id"] = cur.lastrowid
                s.instalments.append(i)
    for back in range(0, 32):  # money received over a month (today's too: not yesterday's)
        day = TODAY - timedelta(days=back)
        for case in s.cases:
            if rng.random() < 0.15:
                pay = {"case": case["id"], "received_on": day,
                       "amount": rng.choice([0, rng.randint(1, 80) * 5_000]),
                       "source": rng.choice(["outcome", "commit", "reminder"]),
                       "recorded_at": local(day, 17)}  # fmt: skip
                con.execute(
                    "INSERT INTO payments (case_id, amount, received_on, recorded_at, source) "
                    "VALUES (?, ?, ?, ?, ?)",
                    (case["id"], pay["amount"], day.isoformat(), iso(pay["recorded_at"]),
                     pay["source"]),
                )  # fmt: skip
                s.payments.append(pay)
    for n, (case, status) in enumerate(zip(s.cases[3:6], ["pending", "pending", "approved"],
                                           strict=True)):  # fmt: skip
        cur = con.execute(
            "INSERT INTO approvals (case_id, team_id, requested_by, requested_at, status) "
            "VALUES (?, ?, ?, ?, ?)",
            (case["id"], team_id, case["lead"], iso(now - timedelta(hours=30 - n)), status),
        )
        s.approvals.append({"id": cur.lastrowid, "case": case["id"], "status": status,
                            "by": case["lead"]})  # fmt: skip
    # A change of lead yesterday (counted) and a first assignment (not a change).
    moved = s.cases[6]
    yesterday_noon = local(TODAY - timedelta(days=1), 12)
    con.execute(
        "INSERT INTO case_leads (case_id, from_id, to_id, by_id, at, reason) "
        "VALUES (?, ?, ?, ?, ?, 'workload')",
        (moved["id"], moved["lead"], ids[1], supervisor_id, iso(yesterday_noon)),
    )
    s.leads.append({"case": moved["id"], "from": moved["lead"], "to": ids[1]})
    moved["lead"] = ids[1]
    con.execute("UPDATE cases SET lead_id = ? WHERE id = ?", (ids[1], moved["id"]))
    con.execute(
        "INSERT INTO case_leads (case_id, from_id, to_id, by_id, at, reason) "
        "VALUES (?, NULL, ?, ?, ?, 'first')",
        (s.cases[7]["id"], s.cases[7]["lead"], supervisor_id, iso(yesterday_noon)),
    )
    # 王芳's chat lost two reminders yesterday; 陈静 blocked the bot.
    for inst in [i for i in s.instalments if i["status"] == "open"][:2]:
        con.execute(
            "INSERT INTO reminders (instalment_id, kind, due_at, status, collector_id, "
            "created_at, done_at) VALUES (?, 'due', ?, 'dead', ?, ?, ?)",
            (inst["id"], iso(yesterday_noon), ids[1], created, iso(yesterday_noon)),
        )
    s.dead[ids[1]] = 2
    # Three reminders came due while the bot was down and were too old to send ('late').
    for inst, kind in zip([i for i in s.instalments if i["status"] == "open"][:3],
                          ["follow_up", "follow_up", "heads_up"], strict=False):  # fmt: skip
        con.execute(
            "INSERT INTO reminders (instalment_id, kind, due_at, status, created_at, done_at) "
            "VALUES (?, ?, ?, 'late', ?, ?)",
            (inst["id"], kind, iso(yesterday_noon), created, iso(yesterday_noon)),
        )
        s.late += 1
    con.execute("UPDATE users SET blocked_at = ? WHERE id = ?", (iso(yesterday_noon), ids[2]))
    s.blocked.add(ids[2])
    # Issue 16: a promise due yesterday, answered "missed" at 09:00 today (the supervisor was
    # told at 09:00): this evening's digest must count and list it. The largest amount, so it
    # heads the broken list.
    k = s.commitments[0]
    broken_today = {"commitment": k["id"], "case": k["case"], "due_on": TODAY - timedelta(days=1),
                    "amount": 9_990_000, "paid": 0, "status": "broken",
                    "settled_at": local(TODAY, 9), "reason": "no_money"}  # fmt: skip
    cur = con.execute(
        "INSERT INTO instalments (commitment_id, seq, due_on, amount, paid, status, settled_at, "
        "miss_reason) VALUES (?, 9, ?, ?, 0, 'broken', ?, 'no_money')",
        (k["id"], broken_today["due_on"].isoformat(), broken_today["amount"],
         iso(broken_today["settled_at"])),
    )  # fmt: skip
    broken_today["id"] = cur.lastrowid
    s.instalments.append(broken_today)
    con.commit()
    return s


# -- the same figures, counted from the seed ------------------------------------------------


def expected_lines(
    s: Seed, untouched_days: int = 14, now: datetime = DIGEST_AT + timedelta(seconds=5)
) -> dict[str, list[str]]:
    """The digest's lines as the supervisor must read them (English), from the seed alone.

    What happened is counted since the previous digest up to ``now`` (issue 16); this is the
    supervisor's first, so from the start of yesterday. The rates' 7 and 30 days end there too,
    today so far included (a promise broken this morning is in the evening's rate).
    """
    yesterday = TODAY - timedelta(days=1)
    y0, t0 = local(yesterday, 0), local(TODAY, 0)
    d7, d30 = local(TODAY - timedelta(days=6), 0), local(TODAY - timedelta(days=29), 0)
    name = {v: k for k, v in s.collectors.items()}
    by_case = {c["id"]: c for c in s.cases}
    paid_y = [p for p in s.payments if y0 <= p["recorded_at"] < now and p["amount"] > 0]
    collected = sum(p["amount"] for p in paid_y)
    on_spot = sum(p["amount"] for p in paid_y if p["source"] != "reminder")
    share = f", {(200 * on_spot + collected) // (2 * collected)}% on the spot" if collected else ""
    live = [i for i in s.instalments if i["status"] in ("open", "partial")]
    due_today = [i for i in live if i["due_on"] == TODAY]
    due_week = [i for i in live if TODAY <= i["due_on"] <= TODAY + timedelta(days=6)]

    def rest(items):
        return sum(i["amount"] - i["paid"] for i in items)

    def settled_in(i, start, end=t0):
        return i["settled_at"] is not None and start <= i["settled_at"] < end

    def count(status, start):
        return sum(1 for i in s.instalments if i["status"] == status and settled_in(i, start, now))

    def rate(items, start):
        window = [i for i in items if i["status"] in SETTLED and settled_in(i, start, now)]
        return pct(sum(i["status"] == "kept" for i in window), len(window))

    lines = {
        "head": [
            f"💰 Since Mon, Nov 30 00:00: {money(collected)} in {len(paid_y)} "
            f"payment{'' if len(paid_y) == 1 else 's'}{share}",
            f"📅 Due today: {len(due_today)} ({money(rest(due_today))})"
            f" · next 7 days: {len(due_week)} ({money(rest(due_week))})",
            f"🤝 Since then: {count('kept', y0)} kept · {count('broken', y0)} broken · "
            f"{count('unconfirmed', y0)} unconfirmed",
            f"📈 Kept rate: 7 days {rate(s.instalments, d7)} · 30 days {rate(s.instalments, d30)}",
        ]
    }  # fmt: skip
    broken = [i for i in s.instalments if i["status"] == "broken" and settled_in(i, y0, now)]
    lines["broken"] = [f"❌ Broken since Mon, Nov 30 00:00 ({len(broken)})"] if broken else []
    pending = [a for a in s.approvals if a["status"] == "pending"]
    lines["approvals"] = [f"🔒 Waiting for your answer ({len(pending)})"] + [
        f"{n}. {by_case[a['case']]['borrower']} · {by_case[a['case']]['contract']} · "
        f"asked by {name[a['by']]}"
        for n, a in enumerate(pending, 1)
    ]
    last_agreed: dict[int, datetime] = {}
    for k in s.commitments:
        last_agreed[k["case"]] = max(last_agreed.get(k["case"], k["agreed_at"]), k["agreed_at"])
    stalled = Counter(
        m["case"] for m in s.meetings
        if by_case[m["case"]]["status"] in OPEN and m["agreement"] == 0
        and m["at"] > last_agreed.get(m["case"], datetime.min.replace(tzinfo=UTC))
    )  # fmt: skip
    stalled_cases = [c for c, n in stalled.items() if n >= 3]
    lines["stalled"] = (
        [f"🔁 Three or more meetings, no agreement ({len(stalled_cases)})"] if stalled_cases else []
    )
    cutoff = DIGEST_AT - timedelta(days=untouched_days)
    untouched = [
        c for c in s.cases
        if c["status"] in OPEN
        and datetime.fromisoformat(c["last_contact"] or iso(DIGEST_AT - timedelta(days=60)))
        < cutoff
    ]  # fmt: skip
    lines["untouched"] = [f"⏳ Untouched for {untouched_days} days or more ({len(untouched)})"]
    prepared = {p["case"] for p in s.preps}
    urgent = [
        c for c in s.cases
        if c["status"] in OPEN and c["id"] not in prepared
        and (c["overdue_since"] <= (TODAY - timedelta(days=90)).isoformat()
             or c["deterioration"] == "assets_moving")
    ]  # fmt: skip
    lines["unprepared"] = [f"🚨 Urgent, never prepared ({len(urgent)})"] if urgent else []
    changes = len(s.leads) + sum(1 for p in s.preps if p["previous"])
    lines["changes"] = [f"🔀 Changes since Mon, Nov 30 00:00 ({changes})"]
    lines["unreachable"] = [
        "📵 Cannot be reached",
        *sorted(
            f"· {name[uid]}: "
            + ", ".join(
                (["blocked the bot"] if uid in s.blocked else [])
                + ([f"{s.dead[uid]} reminders not delivered"] if s.dead.get(uid) else [])
            )
            for uid in s.blocked | set(s.dead)
        ),
    ]
    # Reminders missed while the bot was down: their own heading, not "Cannot be reached".
    lines["late"] = [
        f"⏰ Reminders not sent: {s.late} payment reminders came due while the bot was "
        "offline and were too old to send when it started again: check those payments with "
        "the collectors.",
    ]
    people = []
    for cname, uid in sorted(s.collectors.items()):
        mine = {c["id"] for c in s.cases if c["lead"] == uid}
        got = sum(p["amount"] for p in paid_y if p["case"] in mine)
        r = rate([i for i in s.instalments if i["case"] in mine], d30)
        met = sum(1 for m in s.meetings if m["author"] == uid and y0 <= m["at"] < now)
        opened = sum(1 for c in s.cases if c["lead"] == uid and c["status"] in OPEN)
        people.append(
            f"{cname}: {money(got)} · {r} · {format_decimal(met, locale='en')} · {opened}"
        )
    lines["collectors"] = people
    return lines


# -- the tests ------------------------------------------------------------------------------


async def test_a_week_of_activity_gives_a_digest_whose_every_figure_matches_the_seed(
    world, bot, clock, settings, emulator
):
    boss = await lead(world, clock, "李娜")
    await boss.expect_next()
    people = {n: await world.member(Role.COLLECTOR, n) for n in NAMES}
    for p in people.values():
        await p.send("/whoami")
        await p.expect_next()
    sup = world.members[boss.id]
    team_id = sup.team_id
    seed = seed_week(settings.db_path, team_id,
                     {n: world.members[p.id].id for n, p in people.items()}, sup.id)  # fmt: skip

    clock.set(DIGEST_AT - timedelta(minutes=1))
    assert await run_job(bot, DIGEST_JOB) == 0  # 17:59: not yet
    clock.set(DIGEST_AT + timedelta(seconds=5))
    assert await run_job(bot, DIGEST_JOB) == 1
    assert await run_job(bot, DIGEST_JOB) == 0  # the next tick finds today's run
    await world.tick()

    chart = await boss.expect_next()
    assert chart.photo, chart
    assert "东城" in (chart.caption or "")
    text = await boss.expect_next("东城")
    approvals = [await boss.expect_next("🔒") for _ in range(2)]
    plain = text.text
    want = expected_lines(seed)
    for section, lines in want.items():
        for line in lines:
            assert line in plain, f"{section}: {line!r} not in the digest:\n{plain}"
    # The promise broken at 09:00 today heads the broken list, and the late reminders are not
    # under "Cannot be reached".
    newest = next(i for i in seed.instalments if i["amount"] == 9_990_000)
    first_broken = plain.split("❌ Broken since", 1)[1].split("\n")[1]
    assert seed.cases[[c["id"] for c in seed.cases].index(newest["case"])]["borrower"] in (
        first_broken
    ), plain
    unreachable = plain.split("📵 Cannot be reached", 1)[1].split("\n\n", 1)[0]
    assert "offline" not in unreachable
    assert plain.count("\n") <= 45  # a team of three on one phone screen
    # The chart: a real PNG, drawn with the CJK font, not blank.
    file_id = max(chart.photo, key=lambda p: p["width"])["file_id"]
    png = emulator.bot().files[file_id].data
    from matplotlib import image

    pixels = image.imread(io.BytesIO(png), format="png")
    assert pixels.shape[:2] == (960, 720)
    assert len({tuple(p) for p in (pixels[::7, ::7, :3] * 255).astype("uint8").reshape(-1, 3)}) > 20
    assert cjk_font() in ("Noto Sans SC", "Noto Sans CJK SC")

    # Drill-down: the untouched cases, then a case card from the list; the broken promises;
    # one collector's open cases.
    labels = [t for row in text.buttons for t, _ in row]
    await boss.press(next(t for t in labels if t.startswith("⏳")), text)
    listed = await boss.expect_next("Untouched for 14 days or more")
    first = listed.buttons[0][0][0]
    await boss.press(first, listed)
    await boss.expect_next(first.split(" · ")[1])  # the case card
    if want["broken"]:
        await boss.press(next(t for t in labels if t.startswith("❌ Broken")), text)
        await boss.expect_next(want["broken"][0])
    await boss.press("👤 张伟", text)
    mine = sum(
        1 for c in seed.cases if c["lead"] == seed.collectors["张伟"] and c["status"] in OPEN
    )
    await boss.expect_next(f"张伟: open cases ({mine})")
    # An approval answered from the digest: its own message becomes the answer.
    await boss.press(approvals[0].buttons[0][0][0], approvals[0])
    await boss.expect_next()  # the request, edited into the answer
    await people["张伟"].expect("approved")  # the collector who asked is told

    # /digest on demand shows the same, and writes no second run.
    await boss.send("/digest")
    again = [await boss.expect_next() for _ in range(3)]
    assert again[0].photo
    # Since the digest just sent: the span the next scheduled one would show.
    assert "💰 Since Tue, Dec 1 18:00: CN¥0.00 in 0 payments" in again[1].text
    assert "🤝 Since then: 0 kept · 0 broken · 0 unconfirmed" in again[1].text
    await boss.ignore_unread()
    assert len(await world.storage.digest_runs(sup.id)) == 1


async def test_each_digest_counts_since_the_previous_one_not_calendar_yesterday(
    world, bot, clock, settings
):
    """Issue 16: "昨日：守约0 · 违约0" in the evening of a day whose 09:00 promise was broken.

    Promises answered "missed" on Sunday 12:00, Monday 19:00 (after Monday's digest) and
    Tuesday 09:00. Monday's digest (her first: since the start of Sunday) has Sunday's;
    Tuesday's, since Monday's digest was made, has Monday evening's and Tuesday morning's —
    calendar yesterday would have missed the 09:00 one. The broken list's button, pressed a day
    later, still lists the span of the digest it is under."""
    boss = await lead(world, clock, "李娜")
    await boss.expect_next()
    zhang = await world.member(Role.COLLECTOR, "张伟")
    team_id = world.members[boss.id].team_id
    monday, tuesday = TODAY - timedelta(days=1), TODAY
    created = iso(local(monday - timedelta(days=30), 9))
    with connect_file(settings.db_path) as con:
        case = con.execute(
            "INSERT INTO cases (contract_no, team_id, lead_id, status, borrower_name, "
            "principal_outstanding, overdue_principal, overdue_since, ledger_hash, created_at, "
            "imported_at) VALUES ('DC2026-7001', ?, ?, 'open', '赵铁柱', 5000000, 1000000, ?, "
            "'h', ?, ?)",
            (team_id, world.members[zhang.id].id, (monday - timedelta(days=40)).isoformat(),
             created, created),
        ).lastrowid  # fmt: skip
        k = con.execute(
            "INSERT INTO commitments (case_id, created_by, created_at, money_today, total, plan, "
            "status, agreed_at) VALUES (?, ?, ?, 0, 0, '{}', 'agreed', ?)",
            (case, world.members[zhang.id].id, created, created),
        ).lastrowid
        for seq, settled in enumerate(
            [local(monday - timedelta(days=1), 12), local(monday, 19), local(tuesday, 9)], 1
        ):
            con.execute(
                "INSERT INTO instalments (commitment_id, seq, due_on, amount, paid, status, "
                "settled_at, miss_reason) VALUES (?, ?, ?, 100000, 0, 'broken', ?, 'no_money')",
                (k, seq, (settled - timedelta(days=1)).date().isoformat(), iso(settled)),
            )
        con.commit()

    async def digest_at(moment: datetime):
        clock.set(moment)
        assert await run_job(bot, DIGEST_JOB) == 1
        await world.tick()
        await boss.expect_next()  # the chart
        return await boss.expect_next("东城")

    first = await digest_at(local(monday, 18) + timedelta(seconds=5))
    assert "💰 Since Sun, Nov 29 00:00: " in first.text
    assert "🤝 Since then: 0 kept · 1 broken · 0 unconfirmed" in first.text
    assert "❌ Broken since Sun, Nov 29 00:00 (1)" in first.text
    second = await digest_at(local(tuesday, 18) + timedelta(seconds=5))
    assert "💰 Since Mon, Nov 30 18:00: CN¥0.00 in 0 payments" in second.text
    assert "🤝 Since then: 0 kept · 2 broken · 0 unconfirmed" in second.text
    assert "❌ Broken since Mon, Nov 30 18:00 (2)" in second.text
    clock.set(local(tuesday + timedelta(days=1), 10))
    await boss.press("❌ Broken (2)", second)
    listed = await boss.expect_next("❌ Broken since Mon, Nov 30 18:00 (2)")
    assert listed.text.count("赵铁柱") == 2
    await boss.ignore_unread()


async def test_settings_own_time_and_weekend_mute(world, bot, clock):
    boss = await lead(world, clock, "李娜")
    await boss.expect_next()
    await boss.send("/settings")
    shown = await boss.expect_next("Your settings")
    assert "18:00 (the cooperative's time)" in shown.text
    await boss.press(next(t for row in shown.buttons for t, _ in row if "Change" in t), shown)
    await boss.expect_next("When should the daily digest come?")
    await boss.send("25:00")
    await boss.expect("is not a time of day")
    await boss.send("20:15")
    await boss.expect_next("Saved.")
    await boss.send("/settings")
    shown = await boss.expect_next("20:15")
    await boss.press(next(t for row in shown.buttons for t, _ in row if "weekends" in t), shown)
    await boss.expect_next("No digest on Saturdays and Sundays.")
    # Tuesday 18:05: not yet for her; 20:15: now. Saturday 20:30: muted.
    clock.set(DIGEST_AT + timedelta(minutes=5))
    assert await run_job(bot, DIGEST_JOB) == 0
    clock.set(local(TODAY, 20, 15))
    assert await run_job(bot, DIGEST_JOB) == 1
    clock.set(local(date(2026, 12, 5), 20, 30))
    assert await run_job(bot, DIGEST_JOB) == 0
    await world.tick()
    await boss.expect("💰")
    await boss.ignore_unread()
    await world.assert_silent(boss)


async def lives(settings, clock, moments: list[datetime]) -> list[int]:
    """Start the bot at each moment (a new process' worth: its own storage connection), run
    the digest job as its first tick would, deliver, stop. How many digests each life queued."""
    queued = []
    for moment in moments:
        clock.set(moment)
        app = build_application(settings, clock=clock)
        async with running(app, poll_timeout=1):
            queued.append(await run_job(app, DIGEST_JOB))
            queued[-1] += await run_job(app, DIGEST_JOB)  # a second tick in the same life
            await run_job(app, OUTBOX_JOB)
    return queued


async def digests_received(person) -> list[str]:
    return [m.text for m in await person.ignore_unread() if "💰" in m.text]


async def two_teams(world, clock):
    east = await lead(world, clock, "李娜", team="东城")
    west = await lead(world, clock, "周强", team="西城")
    admin = await lead(world, clock, "王主任", role=Role.ADMIN, team=None)
    await world.member(Role.COLLECTOR, "张伟", team="东城")
    return east, west, admin


async def test_restarts_around_the_digest_time_send_one_digest_per_supervisor(
    world, clock, settings
):
    east, west, admin = await two_teams(world, clock)
    moments = [
        DIGEST_AT - timedelta(minutes=2),  # before
        DIGEST_AT,  # at
        DIGEST_AT + timedelta(seconds=30),  # just after
        DIGEST_AT + timedelta(minutes=3),
        local(TODAY, 23, 59),  # late the same evening
    ]
    assert await lives(settings, clock, moments) == [0, 3, 0, 0, 0]
    # Down at digest time the next day, up again at 21:00: sent at start-up, once.
    tomorrow = TODAY + timedelta(days=1)
    assert await lives(settings, clock, [local(tomorrow, 17), local(tomorrow, 21)]) == [0, 3]
    for person in (east, west):
        got = await digests_received(person)
        assert len(got) == 2, got
        assert "Dec 1" in got[0]
        assert "Dec 2" in got[1]
    cooperative = [m for m in await admin.ignore_unread() if "All teams" in m.text]
    assert len(cooperative) == 2
    assert "东城" in cooperative[0].text
    assert "西城" in cooperative[0].text
    for person in (east, west, admin):
        runs = await world.storage.digest_runs(world.members[person.id].id)
        assert [d for d, _ in runs] == [TODAY, tomorrow]


@pytest.mark.parametrize(
    ("at", "moments", "day"),
    [
        # Spring forward, Sunday 29 March 2026: 02:00 → 03:00, so 02:30 never happens.
        (time(2, 30), [(date(2026, 3, 29), 1, 50, 0), (date(2026, 3, 29), 3, 0, 0),
                       (date(2026, 3, 29), 3, 1, 0), (date(2026, 3, 29), 23, 0, 0)],
         date(2026, 3, 29)),
        # Fall back, Sunday 25 October 2026: 02:30 happens twice.
        (time(2, 30), [(date(2026, 10, 25), 2, 20, 0), (date(2026, 10, 25), 2, 30, 0),
                       (date(2026, 10, 25), 2, 45, 0), (date(2026, 10, 25), 2, 30, 1),
                       (date(2026, 10, 25), 2, 45, 1), (date(2026, 10, 25), 18, 0, 0)],
         date(2026, 10, 25)),
    ],
    ids=["spring-forward", "fall-back"],
)  # fmt: skip
async def test_a_dst_change_day_in_berlin_also_gets_exactly_one(
    world, clock, settings, at, moments, day
):
    berlin = dataclasses.replace(settings, tz=BERLIN, digest_time=at)
    east, west, admin = await two_teams(world, clock)
    instants = [
        datetime.combine(d, time(h, m), tzinfo=BERLIN).replace(fold=f).astimezone(UTC)
        for d, h, m, f in moments
    ]
    queued = await lives(berlin, clock, instants)
    assert sum(queued) == 3, queued
    assert queued[0] == 0  # before the time, nothing
    for person in (east, west):
        assert len(await digests_received(person)) == 1
    await admin.ignore_unread()
    for person in (east, west, admin):
        runs = await world.storage.digest_runs(world.members[person.id].id)
        assert [d for d, _ in runs] == [day]


async def test_a_team_of_300_collectors_splits_into_messages_telegram_accepts(
    world, bot, clock, settings
):
    boss = await lead(world, clock, "李娜")
    await boss.expect_next()
    sup = world.members[boss.id]
    for n in range(300):
        await world.storage.add_user(
            telegram_id=9_000_000 + n, name=f"清收员{n:03d}号·{'东西南北'[n % 4]}城片区",
            role=Role.COLLECTOR, team_id=sup.team_id, now=clock.now(),
        )  # fmt: skip
    clock.set(DIGEST_AT)
    assert await run_job(bot, DIGEST_JOB) == 1
    await world.tick()
    await boss.expect_next()  # the chart
    parts = [m for m in await boss.ignore_unread() if not m.photo]
    assert len(parts) >= 3  # the emulator refused none of them (it checks Telegram's limits)
    lines = [line for m in parts for line in m.text.splitlines()]
    for n in range(300):
        name = f"清收员{n:03d}号·{'东西南北'[n % 4]}城片区"
        assert sum(1 for line in lines if line.startswith(f"{name}: ")) == 1
    assert all(len(m.text) <= 4096 for m in parts)
    assert parts[-1].buttons  # the drill-down and the first collectors under the last part
