"""Callback routes carried by the reminder messages (see reminders/due.py).

Declared here, apart from the poller, so the answer handlers can import the route without
importing the job: ``INSTALMENT`` carries (instalment id, answer). The "Open case" button of a
reminder uses the case card's own route, ``handlers.cases.OPEN_CASE``.
"""

from __future__ import annotations

from bot import callbacks
from bot.callbacks import Choice, Int

#: The answers a collector gives on a reminder's instalment row.
ANSWERS = ("paid", "partial", "missed")

#: "Paid in full" / "Partial" / "Missed" on a reminder: (instalment id, answer).
INSTALMENT = callbacks.route("ri", Int(), Choice(ANSWERS))
