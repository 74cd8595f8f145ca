"""The one exception type every Bot API handler raises to refuse a call.

Telegram answers every failed call with ``{"ok": false, "error_code": N, "description": ...}``
and HTTP status ``N``; python-telegram-bot picks its exception class from the status code and
its message from ``description`` (``parameters.retry_after`` becomes ``RetryAfter``).  Keeping
the refusal in one type means the HTTP layer renders them all identically.
"""

from __future__ import annotations

from typing import Any


class ApiError(Exception):
    """A refusal to send back to the client exactly as the real Bot API would word it."""

    def __init__(
        self, code: int, description: str, parameters: dict[str, Any] | None = None
    ) -> None:
        super().__init__(description)
        self.code = code
        self.description = description
        self.parameters = parameters

    def payload(self) -> dict[str, Any]:
        """The JSON body Telegram sends for this error."""
        body: dict[str, Any] = {
            "ok": False,
            "error_code": self.code,
            "description": self.description,
        }
        if self.parameters:
            body["parameters"] = self.parameters
        return body


def bad_request(detail: str) -> ApiError:
    """``400 Bad Request: <detail>`` — the most common refusal."""
    return ApiError(400, f"Bad Request: {detail}")


def forbidden(detail: str) -> ApiError:
    """``403 Forbidden: <detail>`` — e.g. the user blocked the bot."""
    return ApiError(403, f"Forbidden: {detail}")


def too_many_requests(retry_after: int) -> ApiError:
    """``429`` with ``parameters.retry_after`` so clients back off like with real flood control."""
    retry_after = max(1, int(retry_after))
    return ApiError(
        429, f"Too Many Requests: retry after {retry_after}", {"retry_after": retry_after}
    )


NOT_FOUND = ApiError(404, "Not Found")
UNAUTHORIZED = ApiError(401, "Unauthorized")
