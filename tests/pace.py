"""Telegram's pace, and the fast one the tests run at unless they are marked ``real_pace``.

Telegram takes about one message a second to one chat (after a burst of three) and 30 a second
overall; both the emulator and the bot's own rate limiter keep that pace. A test that only
follows a conversation would spend most of its time waiting on it, so the fixtures that start
the emulator and the bot give both the fast pace below, always the same one to both (the bot
never has to hear a 429 it would not hear from Telegram; a bot process started by
``tests/e2e/process.py`` takes its emulator's pace through its environment). A test that
checks the pacing itself (no 429 under a burst, the 30 msg/s fan-out, per-chat order under the
pace) is marked ``@pytest.mark.real_pace`` and gets Telegram's numbers.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest


@dataclass(frozen=True, slots=True)
class Pace:
    """One pace, for the emulator's flood control and the bot's limiter alike."""

    per_chat_per_second: float
    per_chat_burst: int
    overall_per_second: int

    def emulator_config(self) -> dict[str, Any]:
        """Keyword arguments of ``EmulatorConfig``."""
        return {
            "per_chat_rate": self.per_chat_per_second,
            "per_chat_burst": self.per_chat_burst,
            "global_per_second": self.overall_per_second,
        }

    def settings(self) -> dict[str, Any]:
        """Keyword arguments of ``Settings``."""
        return {
            "per_chat_per_second": self.per_chat_per_second,
            "per_chat_burst": self.per_chat_burst,
            "overall_per_second": float(self.overall_per_second),
        }


#: Telegram's own numbers (the defaults of ``EmulatorConfig`` and ``Settings``).
REAL = Pace(per_chat_per_second=1.0, per_chat_burst=3, overall_per_second=30)
#: Fast enough that no conversation waits on it; still a limit, still the same on both sides.
FAST = Pace(per_chat_per_second=50.0, per_chat_burst=3, overall_per_second=1000)


def pace_of(node: pytest.Item | pytest.Collector) -> Pace:
    """The pace a test runs at: Telegram's when it is marked ``real_pace``, else fast."""
    return REAL if node.get_closest_marker("real_pace") else FAST
