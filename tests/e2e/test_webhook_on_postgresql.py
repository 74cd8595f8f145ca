"""Webhook mode end to end with the bot on PostgreSQL (issue 18): Telegram posts, the bot
answers after the inbox commit; a forged secret stores nothing. The same tests as
tests/e2e/test_webhook.py, on a fresh database of the throwaway cluster."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from bot.storage import Storage, open_storage
from tests.e2e.conftest import START

# Re-collected here with the module's own fixtures, so they run on this module's storage.
from tests.e2e.test_webhook import settings
from tests.e2e.test_webhook import (
    test_a_request_without_the_right_secret_gets_403_and_stores_nothing as test_pg_forged_secret,
)
from tests.e2e.test_webhook import (
    test_in_webhook_mode_telegram_posts_and_the_bot_answers as test_pg_webhook,
)

__all__ = ["settings", "test_pg_forged_secret", "test_pg_webhook"]


@pytest.fixture
async def storage(pg_cluster) -> AsyncIterator[Storage]:
    s = await open_storage(pg_cluster.fresh_url(), now=START)
    yield s
    await s.close()
