"""When reminders are due: the reminder hour is local, the stored instant UTC, DST-correct.

Read like a calendar: Shanghai has no DST (UTC+8 all year); Berlin springs forward on Sunday
29 March 2026 (02:00 → 03:00) and falls back on Sunday 25 October 2026 (03:00 → 02:00).
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from bot.config import Settings
from bot.domain.reminders import ReminderKind, ReminderPolicy, local_instant

SHANGHAI = ZoneInfo("Asia/Shanghai")
BERLIN = ZoneInfo("Europe/Berlin")
H, D, F = ReminderKind.HEADS_UP, ReminderKind.DUE, ReminderKind.FOLLOW_UP


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


def test_an_instalment_due_on_tuesday_is_announced_monday_due_tuesday_and_followed_up_wednesday():
    policy = ReminderPolicy(SHANGHAI)  # 09:00, one day ahead
    assert policy.schedule(date(2026, 12, 1)) == [
        (H, utc(2026, 11, 30, 1, 0)),  # Mon 30 Nov 09:00 in Shanghai
        (D, utc(2026, 12, 1, 1, 0)),
        (F, utc(2026, 12, 2, 1, 0)),
    ]


def test_no_heads_up_when_it_is_switched_off_and_more_days_ahead_when_asked():
    assert [
        k for k, _ in ReminderPolicy(SHANGHAI, heads_up_days=0).schedule(date(2026, 12, 1))
    ] == [
        D,
        F,
    ]
    three = ReminderPolicy(SHANGHAI, heads_up_days=3).schedule(date(2026, 12, 4))
    assert three[0] == (H, utc(2026, 12, 1, 1, 0))


def test_the_policy_comes_from_the_settings():
    settings = Settings(tz=BERLIN, remind_time=time(8, 30), heads_up_days=2)
    assert ReminderPolicy.from_settings(settings) == ReminderPolicy(BERLIN, time(8, 30), 2)


def test_spring_forward_day_gets_one_due_reminder_at_nine_local():
    policy = ReminderPolicy(BERLIN)
    due = [at for kind, at in policy.schedule(date(2026, 3, 29)) if kind is D]
    assert due == [utc(2026, 3, 29, 7, 0)]  # 09:00 CEST (UTC+2)
    assert due[0].astimezone(BERLIN).time() == time(9, 0)
    # The day before is still winter time: 09:00 CET (UTC+1).
    (heads_up,) = [at for kind, at in policy.schedule(date(2026, 3, 29)) if kind is H]
    assert heads_up == utc(2026, 3, 28, 8, 0)


def test_fall_back_day_gets_one_due_reminder_at_nine_local():
    policy = ReminderPolicy(BERLIN)
    schedule = policy.schedule(date(2026, 10, 25))
    due = [at for kind, at in schedule if kind is D]
    assert due == [utc(2026, 10, 25, 8, 0)]  # 09:00 CET (UTC+1)
    assert due[0].astimezone(BERLIN).time() == time(9, 0)
    # Saturday's heads-up is still summer time, Monday's follow-up winter time.
    assert dict(schedule)[H] == utc(2026, 10, 24, 7, 0)
    assert dict(schedule)[F] == utc(2026, 10, 26, 8, 0)


def test_a_reminder_hour_inside_the_spring_gap_falls_after_it_and_a_doubled_one_is_the_first():
    # 02:30 does not exist on 29 March in Berlin: it is read as 03:30 CEST (01:30 UTC).
    assert local_instant(date(2026, 3, 29), time(2, 30), BERLIN) == utc(2026, 3, 29, 1, 30)
    # 02:30 happens twice on 25 October: the first one (CEST, 00:30 UTC), once.
    assert local_instant(date(2026, 10, 25), time(2, 30), BERLIN) == utc(2026, 10, 25, 0, 30)
    for day in (date(2026, 3, 29), date(2026, 10, 25)):
        kinds = [k for k, _ in ReminderPolicy(BERLIN, time(2, 30)).schedule(day)]
        assert kinds.count(D) == 1


def test_every_day_of_a_dst_year_has_its_due_reminder_at_the_local_hour():
    policy = ReminderPolicy(BERLIN, time(9, 0))
    day = date(2026, 1, 1)
    while day.year == 2026:
        (due,) = [at for kind, at in policy.schedule(day) if kind is D]
        local = due.astimezone(BERLIN)
        assert (local.date(), local.time()) == (day, time(9, 0)), day
        day += timedelta(days=1)


def test_rows_skip_a_heads_up_already_past():
    policy = ReminderPolicy(SHANGHAI)
    # Monday 30 Nov, 10:00 in Shanghai: Monday's 09:00 heads-up for Tuesday is gone.
    now = utc(2026, 11, 30, 2, 0)
    assert [k for k, _ in policy.rows(date(2026, 12, 1), now)] == [D, F]
    # At 08:00 it is still ahead.
    early = utc(2026, 11, 30, 0, 0)
    assert [k for k, _ in policy.rows(date(2026, 12, 1), early)] == [H, D, F]


def test_a_plan_agreed_this_afternoon_for_today_is_reminded_at_once_not_counted_overdue():
    policy = ReminderPolicy(SHANGHAI)
    now = utc(2026, 11, 30, 7, 0)  # 15:00 local
    rows = dict(policy.rows(date(2026, 11, 30), now))
    assert rows[D] == now
    assert rows[F] == utc(2026, 12, 1, 1, 0)
    assert H not in rows


def test_an_old_instalment_written_back_keeps_its_times():
    policy = ReminderPolicy(SHANGHAI)
    now = utc(2026, 11, 30, 2, 0)
    rows = dict(policy.rows(date(2026, 11, 20), now))
    assert rows == {D: utc(2026, 11, 20, 1, 0), F: utc(2026, 11, 21, 1, 0)}
