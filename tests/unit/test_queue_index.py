"""The queue from an index (issue 17), against the database: for random case sets (payments,
promises due, late, kept and broken, meetings, preps, deterioration, contact, leads, closed
cases), the order the database pages by its stored keys is the domain's order
(``rank_queue`` over every case), for every viewer, on several days, and again after random
writes made by plain SQL (the triggers, not the storage's verbs, must notice them)."""

from __future__ import annotations

import random
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from bot.domain.queue import rank_queue, select_today
from bot.storage import open_storage
from bot.storage.testing import connect_file, rows

TZ = ZoneInfo("Asia/Shanghai")
NOW = datetime(2026, 12, 7, 2, tzinfo=UTC)
TODAY = date(2026, 12, 7)
STAMP = NOW.isoformat(timespec="microseconds")
LATER = (NOW + timedelta(hours=1)).isoformat(timespec="microseconds")
FLAGS = ["", "", "", "assets_moving", "business_sliding", "unreachable,other_creditors"]
STATUSES = ["open", "open", "negotiating", "under_agreement", "legal", "settled", "written_off"]


def _day(rng: random.Random, spread: int) -> str:
    return (TODAY + timedelta(days=rng.randint(-spread, spread))).isoformat()


def _at(rng: random.Random, spread: int) -> str:
    return (NOW - timedelta(days=rng.randint(-2, spread), hours=rng.randint(0, 23))).isoformat(
        timespec="microseconds"
    )


def _seed(con, rng: random.Random, n: int) -> None:
    con.execute("INSERT INTO teams (id, name, created_at) VALUES (1, 'A', ?), (2, 'B', ?)",
                (STAMP, STAMP))  # fmt: skip
    con.executemany(
        "INSERT INTO users (id, telegram_id, name, role, team_id, created_at) "
        "VALUES (?, ?, ?, ?, ?, ?)",
        [
            (1, 101, "admin", "admin", None, STAMP),
            (2, 102, "boss A", "supervisor", 1, STAMP),
            (3, 103, "c1", "collector", 1, STAMP),
            (4, 104, "c2", "collector", 1, STAMP),
            (5, 105, "c3", "collector", 2, STAMP),
        ],
    )
    for i in range(1, n + 1):
        team = rng.choice([1, 1, 2])
        lead = rng.choice([None, 3, 4] if team == 1 else [None, 5])
        owed = rng.choice([0, rng.randint(1, 10**7), rng.randint(10**7, 2 * 10**8)])
        con.execute(
            "INSERT INTO cases (id, contract_no, team_id, lead_id, status, borrower_name, "
            "principal_outstanding, overdue_principal, overdue_interest, overdue_since, "
            "guarantees, collateral_description, collateral_value, previous_overdue_amount, "
            "deterioration, strong_guarantor, high_default_cost, last_contact_at, ledger_gaps, "
            "ledger_hash, created_at, imported_at) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'h', ?, ?)",
            (
                i, f"HT{i}", team, lead, rng.choice(STATUSES), f"借款人{i}", owed * 2,
                owed, rng.choice([0, 5000]), _day(rng, 300),
                rng.choice(["", "担保人甲"]), rng.choice([None, "房产"]),
                rng.choice([None, 0, owed // 3, owed * 2]),
                rng.choice([None, 0, owed, owed // 2, owed * 2]), rng.choice(FLAGS),
                int(rng.random() < 0.2), int(rng.random() < 0.2),
                rng.choice([None, _at(rng, 45)]), rng.choice(["", "", "collateral"]),
                STAMP, STAMP,
            ),
        )  # fmt: skip
        if rng.random() < 0.3:
            con.execute(
                "INSERT INTO case_parties (case_id, role, name, created_at) "
                "VALUES (?, 'guarantor', ?, ?)",
                (i, f"保{i}", STAMP),
            )
        for _ in range(rng.randint(0, 2)):
            con.execute(
                "INSERT INTO meetings (case_id, author_id, at, held_on) VALUES (?, 3, ?, ?)",
                (i, STAMP, _day(rng, 20)),
            )
        if rng.random() < 0.3:
            con.execute(
                "INSERT INTO preps (case_id, author_id, at, answers, approach) "
                "VALUES (?, 3, ?, '{}', 'pressure')",
                (i, STAMP),
            )
        if rng.random() < 0.5:
            status = rng.choice(["agreed", "agreed", "cancelled", "pending_approval"])
            k = con.execute(
                "INSERT INTO commitments (case_id, created_by, created_at, money_today, total, "
                "plan, status) VALUES (?, 3, ?, 0, 0, '{}', ?)",
                (i, STAMP, status),
            ).lastrowid
            for seq in range(1, rng.randint(1, 4) + 1):
                con.execute(
                    "INSERT INTO instalments (commitment_id, seq, due_on, amount, status) "
                    "VALUES (?, ?, ?, 1000, ?)",
                    (k, seq, _day(rng, 12),
                     rng.choice(["open", "open", "unconfirmed", "kept", "broken", "partial"])),
                )  # fmt: skip
        for _ in range(rng.choice([0, 0, 1, 2])):
            con.execute(
                "INSERT INTO payments (case_id, amount, received_on, recorded_at, source) "
                "VALUES (?, ?, ?, ?, 'outcome')",
                (i, rng.randint(0, 3) * 100_000, _day(rng, 10), _at(rng, 10)),
            )


def _write(con, rng: random.Random, n: int) -> None:
    """A few random writes of the kinds the bot makes, straight in SQL."""
    for _ in range(rng.randint(3, 12)):
        case = rng.randint(1, n)
        kind = rng.randrange(7)
        if kind == 0:  # paid in full (or half): the amount, its bands and growth move
            con.execute(
                "INSERT INTO payments (case_id, amount, received_on, recorded_at, source) "
                "SELECT id, (overdue_principal + overdue_interest) / ?, ?, ?, 'reminder' "
                "FROM cases WHERE id = ?",
                (rng.choice([1, 2]), TODAY.isoformat(), LATER, case),
            )
            con.execute(
                "INSERT OR IGNORE INTO case_parties (case_id, role, name, created_at) "
                "VALUES (?, 'guarantor', '新保', ?)",
                (case, STAMP),
            )
        elif kind == 1:
            con.execute(
                "UPDATE instalments SET status = ? WHERE id = "
                "(SELECT id FROM instalments ORDER BY random() LIMIT 1)",
                (rng.choice(["kept", "broken", "partial", "open"]),),
            )
        elif kind == 2:
            con.execute("UPDATE cases SET lead_id = ? WHERE id = ? AND team_id = 1",
                        (rng.choice([None, 3, 4]), case))  # fmt: skip
        elif kind == 3:
            con.execute("UPDATE cases SET status = ? WHERE id = ?", (rng.choice(STATUSES), case))
        elif kind == 4:
            con.execute("UPDATE cases SET deterioration = ?, last_contact_at = ? WHERE id = ?",
                        (rng.choice(FLAGS), _at(rng, 40), case))  # fmt: skip
        elif kind == 5:
            con.execute(
                "UPDATE cases SET overdue_principal = overdue_principal + ?, "
                "previous_overdue_amount = overdue_principal WHERE id = ?",
                (rng.randint(0, 10**6), case),
            )
        else:
            k = con.execute(
                "INSERT INTO commitments (case_id, created_by, created_at, money_today, total, "
                "plan, status) VALUES (?, 3, ?, 0, 0, '{}', 'agreed')",
                (case, STAMP),
            ).lastrowid
            con.execute(
                "INSERT INTO instalments (commitment_id, seq, due_on, amount) VALUES (?, 1, ?, 1)",
                (k, _day(rng, 3)),
            )


async def _all_pages(s, viewer, day: date, *, today_only: bool = False) -> tuple[list[int], int]:
    first = await s.queue_page(viewer, today=day, tz=TZ, today_only=today_only, size=7)
    ids = [c.id for c in first.items]
    for number in range(1, first.count):
        page = await s.queue_page(viewer, today=day, tz=TZ, number=number, today_only=today_only,
                                  size=7)  # fmt: skip
        assert (page.total, page.count, page.number) == (first.total, first.count, number)
        ids += [c.id for c in page.items]
    return ids, first.total


@pytest.mark.parametrize("seed", range(6))
async def test_the_database_pages_cases_in_the_domains_order(tmp_path, seed):
    rng = random.Random(seed)
    path = tmp_path / "q.db"
    s = await open_storage(f"sqlite:///{path}", now=NOW)
    n = 90
    try:
        with connect_file(path) as con:
            _seed(con, rng, n)
        viewers = [await s.get_user_by_telegram_id(t) for t in (101, 102, 103, 104, 105)]
        day = TODAY
        for _round in range(5):
            for viewer in viewers:
                assert viewer is not None
                ranked = rank_queue(await s.list_cases(viewer), day, TZ)
                ids, total = await _all_pages(s, viewer, day)
                assert ids == [r.case.id for r in ranked]
                assert total == len(ranked)
                today_ids, today_total = await _all_pages(s, viewer, day, today_only=True)
                assert today_ids == [r.case.id for r in select_today(ranked)]
                assert today_total == len(today_ids)
                # A page read its scores for the rows shown only, and they are the domain's.
                page = await s.queue_page(viewer, today=day, tz=TZ)
                assert [c.id for c in page.items] == [r.case.id for r in ranked[:10]]
            with connect_file(path) as con:
                _write(con, rng, n)
            day += timedelta(days=rng.choice([0, 1, 1, 3, 13, 30]))
    finally:
        await s.close()


@pytest.mark.parametrize("batch", [2000, 7])
async def test_the_daily_refresh_rewrites_only_the_keys_whose_day_came(
    tmp_path, monkeypatch, batch
):
    # In batches of its own transactions (the lock let go between them): all the same keys.
    monkeypatch.setattr("bot.storage.stores.queue.REFRESH_BATCH", batch)
    path = tmp_path / "q.db"
    s = await open_storage(f"sqlite:///{path}", now=NOW)
    try:
        with connect_file(path) as con:
            _seed(con, random.Random(7), 60)
        open_cases = len(await rows(s, "SELECT id FROM cases WHERE status NOT IN "
                                       "('settled', 'written_off')"))  # fmt: skip
        assert await s.refresh_queue(today=TODAY, tz=TZ) == open_cases  # new rows: all
        assert await s.refresh_queue(today=TODAY, tz=TZ) == 0  # nothing changed since
        tomorrow = TODAY + timedelta(days=1)
        due = await rows(
            s,
            "SELECT COUNT(*) FROM cases WHERE status NOT IN ('settled', 'written_off') "
            "AND q_until <= ?",
            (tomorrow.isoformat(),),
        )
        assert 0 < due[0][0] < open_cases
        assert await s.refresh_queue(today=tomorrow, tz=TZ) == due[0][0]
        # A payment written in the bot's transaction marks its case at once.
        with connect_file(path) as con:
            con.execute(
                "INSERT INTO payments (case_id, amount, received_on, recorded_at, source) "
                "VALUES (1, 100, ?, ?, 'outcome')",
                (TODAY.isoformat(), STAMP),
            )
        assert await rows(s, "SELECT q_until FROM cases WHERE id = 1") == [("",)]
    finally:
        await s.close()


async def test_counts_follow_leads_statuses_and_urgency(tmp_path):
    path = tmp_path / "q.db"
    s = await open_storage(f"sqlite:///{path}", now=NOW)
    try:
        with connect_file(path) as con:
            _seed(con, random.Random(3), 80)
            _write(con, random.Random(4), 80)
        await s.refresh_queue(today=TODAY, tz=TZ)
        kept = await rows(
            s, "SELECT team_id, lead_id, cases, urgent FROM queue_counts WHERE cases > 0 "
            "ORDER BY 1, 2"
        )  # fmt: skip
        counted = await rows(
            s,
            "SELECT team_id, COALESCE(lead_id, 0), COUNT(*), SUM(q_urgent) FROM cases "
            "WHERE status NOT IN ('settled', 'written_off') GROUP BY 1, 2 ORDER BY 1, 2",
        )
        assert kept == counted
    finally:
        await s.close()
