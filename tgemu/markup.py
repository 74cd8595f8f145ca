"""Validation of ``reply_markup`` the way Telegram validates it.

Inline keyboards are where bots most often break in production: ``callback_data`` longer than
64 bytes, a button without an action, more than 100 buttons.  Each rule here mirrors a refusal
the real Bot API gives, with its wording, so the bot's tests fail the same way Telegram would.
"""

from __future__ import annotations

import json
from typing import Any

from tgemu.errors import ApiError, bad_request
from tgemu.formatting import normalize_url

MAX_INLINE_BUTTONS = 100
MAX_CALLBACK_DATA_BYTES = 64
_INLINE_ACTIONS = (
    "url",
    "callback_data",
    "web_app",
    "login_url",
    "switch_inline_query",
    "switch_inline_query_current_chat",
    "switch_inline_query_chosen_chat",
    "copy_text",
    "callback_game",
    "pay",
)


def _button_error(detail: str) -> ApiError:
    return bad_request(f"can't parse inline keyboard button: {detail}")


def parse_markup_json(raw: Any) -> Any:
    """Decode a form-encoded ``reply_markup`` string (PTB sends JSON text)."""
    if isinstance(raw, str):
        try:
            return json.loads(raw)
        except ValueError:
            raise bad_request("can't parse reply keyboard markup JSON object") from None
    return raw


def validate_reply_markup(raw: Any, *, inline_only: bool = False) -> dict[str, Any] | None:
    """Return the normalised markup dict, or raise the ApiError Telegram would send."""
    if raw is None or raw == "":
        return None
    markup = parse_markup_json(raw)
    if not isinstance(markup, dict):
        raise bad_request("can't parse reply keyboard markup JSON object")
    if "inline_keyboard" in markup:
        return {"inline_keyboard": _validate_inline(markup["inline_keyboard"])}
    if inline_only:
        raise bad_request("inline keyboard expected")
    if "keyboard" in markup:
        rows = markup["keyboard"]
        if not isinstance(rows, list) or not all(isinstance(r, list) for r in rows):
            raise bad_request('field "keyboard" of the ReplyKeyboardMarkup must be an Array')
        for row in rows:
            for button in row:
                text = button if isinstance(button, str) else (button or {}).get("text")
                if not isinstance(text, str) or not text:
                    raise bad_request("can't parse keyboard button: Text must be non-empty")
        return dict(markup)
    if markup.get("remove_keyboard") is True or markup.get("force_reply") is True:
        return dict(markup)
    raise bad_request("can't parse reply keyboard markup JSON object")


def _validate_inline(rows: Any) -> list[list[dict[str, Any]]]:
    if not isinstance(rows, list) or not all(isinstance(r, list) for r in rows):
        raise bad_request('field "inline_keyboard" of the InlineKeyboardMarkup must be an Array')
    total = sum(len(r) for r in rows)
    if total > MAX_INLINE_BUTTONS:
        raise bad_request("REPLY_MARKUP_TOO_LONG")
    result: list[list[dict[str, Any]]] = []
    for row in rows:
        checked_row: list[dict[str, Any]] = []
        for button in row:
            if not isinstance(button, dict):
                raise _button_error("InlineKeyboardButton must be an Object")
            text = button.get("text")
            if not isinstance(text, str):
                raise _button_error('Field "text" must be of type String')
            if not text.strip():
                raise bad_request("BUTTON_TEXT_INVALID")
            actions = [a for a in _INLINE_ACTIONS if button.get(a) is not None]
            if not actions:
                raise _button_error("Text buttons are unallowed in the inline keyboard")
            if "callback_data" in actions:
                data = button["callback_data"]
                if not isinstance(data, str):
                    raise _button_error('Field "callback_data" must be of type String')
                size = len(data.encode("utf-8"))
                if size == 0 or size > MAX_CALLBACK_DATA_BYTES:
                    raise bad_request("BUTTON_DATA_INVALID")
            if "url" in actions:
                url = button["url"]
                if not isinstance(url, str) or normalize_url(url) is None:
                    raise bad_request("BUTTON_URL_INVALID")
                if url.lower().startswith("tg://user?id="):
                    raise bad_request("BUTTON_USER_PRIVACY_RESTRICTED")
            checked_row.append(dict(button))
        result.append(checked_row)
    return result
