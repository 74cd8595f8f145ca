"""qingshou (清收): a Telegram assistant for collectors of overdue loans."""

import os

# Opt into python-telegram-bot's announced behaviour (time periods as timedelta) now, so that
# reading RetryAfter.retry_after does not raise its deprecation warning.
os.environ.setdefault("PTB_TIMEDELTA", "true")
