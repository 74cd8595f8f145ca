"""Errors that reach a user: a machine-readable ``code`` plus ``params``, never a sentence.

The UI layer looks ``code`` up in its gettext catalogue (English / 简体中文 / 繁體中文) and fills
the template with ``params``. ``str(error)`` is the code itself, so logs stay readable.
"""

from __future__ import annotations

from collections.abc import Mapping


class DomainError(ValueError):
    """Base of every user-facing domain error.

    ``code`` is a dotted identifier such as ``"amount.negative"``; ``params`` are the values a
    message template may interpolate (always strings, so templates never format numbers
    themselves by accident).
    """

    code: str
    params: dict[str, str]

    def __init__(self, code: str, params: Mapping[str, str] | None = None) -> None:
        super().__init__(code)
        self.code = code
        self.params = dict(params or {})

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.code!r}, {self.params!r})"
