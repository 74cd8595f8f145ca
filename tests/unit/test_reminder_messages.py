"""The poller's messages (reminders/due.py build_batches): one per collector, the later kind
wins for one instalment, the buttons, dedupe keys, and long lists split at Telegram's limits
(4 096 characters, 100 buttons) in every language, never inside an item."""

from __future__ import annotations

import pytest

from bot.domain.reminders import ReminderKind
from bot.i18n import SUPPORTED_LOCALES
from tests.unit.reminder_template_samples import (
    CATCHUP,
    LONG,
    MIXED,
    RENDERER,
    SINGLE,
    TODAY,
    batches,
    due,
)
from tgemu import parse_html, utf16_len


def test_one_message_per_collector_and_the_later_kind_wins_for_one_instalment():
    rows = [*MIXED, due(9, ReminderKind.DUE, TODAY, collector=2, locale="zh_Hans")]
    made = batches(rows)
    assert [b.collector_id for b in made] == [1, 2]
    assert made[0].template == "reminders/due"
    assert [i["kind"] for i in made[0].params["items"]] == ["due", "follow_up", "heads_up",
                                                             "heads_up"]  # fmt: skip
    assert made[0].follow_ups == (2,)
    # Catch-up: an instalment's heads-up and due-day rows are one item, oldest instalment first.
    (summary,) = batches(CATCHUP)
    assert summary.template == "reminders/catchup"
    assert [i["instalment_id"] for i in summary.params["items"]] == [6, 7, 1007]
    assert summary.reminder_ids == (6, 7, 1007)


def test_the_buttons_carry_the_instalment_and_the_case_card():
    (made,) = batches(SINGLE)
    rows = made.markup["inline_keyboard"]  # two a row: four in one were cut on a phone
    assert [[b["text"] for b in row] for row in rows] == [["1 ✅ Paid in full", "◐ Partial"],
                                                          ["✖ Missed", "📂 Open case"]]  # fmt: skip
    assert [b["callback_data"] for row in rows for b in row] == [
        "ri:5:paid", "ri:5:partial", "ri:5:missed", "cs.o:5",
    ]  # fmt: skip


def test_a_repeat_of_the_same_rows_has_the_same_dedupe_key_and_other_rows_another():
    assert batches(SINGLE)[0].dedupe_key == batches(SINGLE)[0].dedupe_key
    assert batches(SINGLE)[0].dedupe_key != batches(MIXED)[0].dedupe_key


@pytest.mark.parametrize("locale", SUPPORTED_LOCALES)
def test_a_long_list_is_split_within_telegrams_limits_never_inside_an_item(locale):
    rows = [due(r.id, ReminderKind.DUE, TODAY, name=r.borrower, locale=locale) for r in LONG]
    made = batches(rows, locale)
    assert len(made) >= 3
    seen: list[int] = []
    for part, batch in enumerate(made, start=1):
        buttons = sum(len(r) for r in batch.markup["inline_keyboard"])
        assert buttons <= 100
        assert buttons == 4 * len(batch.params["items"])
        text, _ = parse_html(RENDERER.render(locale, batch.template, **batch.params))
        assert utf16_len(text) <= 4096
        assert len(RENDERER.render_parts(locale, batch.template, **batch.params)) == 1
        assert (batch.params["part"], batch.params["parts"]) == (part, len(made))
        seen += [i["instalment_id"] for i in batch.params["items"]]
        assert batch.group_key == made[0].group_key is not None
    assert seen == [r.id for r in rows]  # every item once, in order
    assert len({b.dedupe_key for b in made}) == len(made)


def test_a_process_polls_on_across_a_moved_clock_but_not_across_a_real_gap():
    """Issue 16: "missed while the bot was down" is what came due before this process began
    polling. A clock moved a week between two ticks a second apart is no gap; ten real minutes
    without a tick (the host slept) is one, and so is a clock moved back."""
    from datetime import UTC, datetime, timedelta

    from reminders.due import POLLING_GAP, polling_since

    tick = timedelta(seconds=2)
    monday = datetime(2026, 11, 30, 1, tzinfo=UTC)
    first = polling_since(None, now=monday, real=1000.0, tick=tick)
    assert first.since == monday
    week_on = polling_since(first, now=monday + timedelta(days=7), real=1002.0, tick=tick)
    assert week_on.since == monday
    slept = POLLING_GAP.total_seconds() + 1
    after_sleep = polling_since(week_on, now=monday + timedelta(days=8), real=1002 + slept,
                                tick=tick)  # fmt: skip
    assert after_sleep.since == monday + timedelta(days=8)
    back = polling_since(after_sleep, now=monday, real=1003 + slept, tick=tick)
    assert back.since == monday
