"""The flows that matter most, end to end through the emulator, with the bot on PostgreSQL
(issue 18): a note, /commit with the supervisor's approval, reminders (the poller's message
and its buttons, after downtime), the digest; the legal clocks on /today and the papers
(an agreement and a notice, their signed copies filed); replicas (a restarted one takes back
what it held, a dead one's updates swept up, one send window shared: in
test_replicas_on_postgresql.py, with that module's fixtures), one chat's flood control, and
webhook mode (test_webhook_on_postgresql.py). The same test functions as on SQLite: this
module's ``storage`` fixture is a fresh database on the throwaway cluster
(tests/pg_cluster.py); skipped, with the reason, where PostgreSQL's binaries are missing."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from bot.storage import Storage, open_storage
from tests.e2e.conftest import START

# Re-collected here, so they run with this module's storage (pytest's fixture override).
from tests.e2e.test_cases import (
    test_note_button_waits_for_the_next_message_in_the_database as test_pg_note,
)
from tests.e2e.test_commit import (
    test_a_concession_goes_to_the_supervisor_who_approves_and_the_collector_goes_on as test_pg_commit_approved,  # noqa: E501
)
from tests.e2e.test_digest import (
    test_settings_own_time_and_weekend_mute as test_pg_digest,
)
from tests.e2e.test_flood_per_chat import (
    test_a_429_for_one_chat_holds_that_chat_and_no_one_else as test_pg_flood_one_chat,
)
from tests.e2e.test_legal import (
    test_a_guarantor_ten_days_from_the_end_is_on_today_until_the_signed_notice_is_filed as test_pg_legal_today,  # noqa: E501
)
from tests.e2e.test_papers import (
    test_a_commitment_brings_its_agreement_and_its_signed_photo_restarts_the_clock as test_pg_agreement_signed,  # noqa: E501
)
from tests.e2e.test_papers import (
    test_a_notice_to_the_guarantor_then_its_signed_receipt_records_the_claim as test_pg_notice_signed,  # noqa: E501
)
from tests.e2e.test_reminders import (
    test_after_downtime_each_collector_gets_one_catch_up_summary as test_pg_reminders_downtime,
)
from tests.e2e.test_reminders import (
    test_the_pollers_message_is_answered_with_its_own_buttons as test_pg_reminder_buttons,
)

__all__ = [
    "test_pg_agreement_signed",
    "test_pg_commit_approved",
    "test_pg_digest",
    "test_pg_flood_one_chat",
    "test_pg_legal_today",
    "test_pg_note",
    "test_pg_notice_signed",
    "test_pg_reminder_buttons",
    "test_pg_reminders_downtime",
]


@pytest.fixture
async def storage(pg_cluster) -> AsyncIterator[Storage]:
    s = await open_storage(pg_cluster.fresh_url(), now=START)
    yield s
    await s.close()
