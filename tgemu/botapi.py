"""The Bot API methods the emulator implements, each as strict as the real server.

A handler receives a :class:`Call` whose parameters were already coerced according to the
vendored spec (form-encoded strings become ints/bools/JSON objects), and either returns the
``result`` object or raises :class:`~tgemu.errors.ApiError` with Telegram's wording.
Methods present in the spec but missing from :data:`HANDLERS` are refused visibly by the
server ("method not supported by the local emulator"), never silently accepted.
"""

from __future__ import annotations

import json
import mimetypes
import re
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from tgemu.core import EmulatorCore
from tgemu.errors import ApiError, bad_request, forbidden
from tgemu.formatting import (
    MAX_CAPTION_UTF16,
    MAX_TEXT_UTF16,
    EntityParseError,
    parse_text,
    utf16_len,
)
from tgemu.markup import validate_reply_markup
from tgemu.media import image_size
from tgemu.spec import FieldSpec, MethodSpec
from tgemu.state import JSON, BotState, Chat, StoredFile, StoredMessage
from tgemu.webhook import WebhookDelivery, is_loopback_url
from tgemu.webhook import describe as describe_webhook

CONFLICT_WEBHOOK = ApiError(
    409,
    "Conflict: can't use getUpdates method while webhook is active; "
    "use deleteWebhook to delete the webhook first",
)
CONFLICT_POLL = ApiError(
    409,
    "Conflict: terminated by other getUpdates request; "
    "make sure that only one bot instance is running",
)
NOT_MODIFIED = (
    "message is not modified: specified new message content and reply markup are exactly the "
    "same as a current content and reply markup of the message"
)
#: "A message can only be deleted if it was sent less than 48 hours ago."
DELETE_WINDOW_SECONDS = 48 * 3600
QUERY_TOO_OLD = "query is too old and response timeout expired or query ID is invalid"
CHAT_ACTIONS = frozenset(
    {
        "typing",
        "upload_photo",
        "record_video",
        "upload_video",
        "record_voice",
        "upload_voice",
        "upload_document",
        "choose_sticker",
        "find_location",
        "record_video_note",
        "upload_video_note",
    }
)
_REQUIRED_WORDING = {
    "text": "message text is empty",
    "chat_id": "chat_id is empty",
    "message_id": "message identifier is not specified",
    "photo": "there is no photo in the request",
    "document": "there is no document in the request",
    "action": "wrong parameter action in request",
    "file_id": "invalid file_id",
    "callback_query_id": QUERY_TOO_OLD,
}


@dataclass(slots=True)
class Upload:
    """A file part of a multipart request."""

    filename: str | None
    content_type: str | None
    data: bytes


@dataclass(slots=True)
class Call:
    """One Bot API request after routing and parameter coercion."""

    core: EmulatorCore
    bot: BotState
    method: MethodSpec
    params: dict[str, Any]
    uploads: dict[str, Upload] = field(default_factory=dict)

    def get(self, name: str, default: Any = None) -> Any:
        """A parameter, treating the empty string as absent like Telegram does."""
        value = self.params.get(name, default)
        return default if value == "" else value


Handler = Callable[[Call], Awaitable[Any]]


# --------------------------------------------------------------------------------------------
# Parameter coercion


def coerce_params(method: MethodSpec, raw: dict[str, Any]) -> dict[str, Any]:
    """Convert raw (mostly string) values to the types the spec declares."""
    result: dict[str, Any] = {}
    for name, value in raw.items():
        spec = method.fields.get(name)
        result[name] = value if spec is None else _coerce(spec, value)
    return result


def _coerce(spec: FieldSpec, value: Any) -> Any:
    types = set(spec.types)
    name = spec.name
    if not isinstance(value, str):
        if types == {"String"} and isinstance(value, int | float) and not isinstance(value, bool):
            return str(value)
        return value
    if value == "":
        return value
    if "Integer" in types and "String" in types:
        return int(value) if re.fullmatch(r"-?\d+", value.strip()) else value
    if types == {"Integer"}:
        if not re.fullmatch(r"-?\d+", value.strip()):
            raise bad_request(f"invalid {name} specified")
        return int(value)
    if types & {"Float", "Float number"} and not types & {"String"}:
        try:
            return float(value)
        except ValueError:
            raise bad_request(f"invalid {name} specified") from None
    if types == {"Boolean"}:
        lowered = value.strip().lower()
        if lowered in ("true", "1"):
            return True
        if lowered in ("false", "0"):
            return False
        raise bad_request(f"invalid {name} specified")
    if types & {"String", "InputFile"}:
        return value
    if name == "reply_markup":
        return value  # validated (with its own wording) by markup.validate_reply_markup
    try:
        return json.loads(value)
    except ValueError:
        if name in ("entities", "caption_entities"):
            raise bad_request("can't parse entities JSON object") from None
        raise bad_request(f"can't parse {name} JSON object") from None


def check_required(call: Call) -> None:
    """Refuse a call missing a field the spec marks required."""
    for name in call.method.required_fields:
        value = call.params.get(name)
        if (value is None or value == "") and name not in call.uploads:
            raise bad_request(_REQUIRED_WORDING.get(name, f'parameter "{name}" is required'))


# --------------------------------------------------------------------------------------------
# Shared helpers


def _chat(call: Call, *, for_sending: bool = True) -> Chat:
    """Resolve ``chat_id`` to a private chat the bot may write to."""
    chat_id = call.get("chat_id")
    if chat_id is None:
        raise bad_request("chat_id is empty")
    if not isinstance(chat_id, int):
        raise bad_request("chat not found")
    chat = call.bot.chats.get(chat_id)
    if chat is None or not chat.started:
        raise bad_request("chat not found")
    if for_sending and chat.user.deactivated:
        raise forbidden("user is deactivated")
    if for_sending and chat.blocked:
        raise forbidden("bot was blocked by the user")
    return chat


def _text(
    call: Call,
    text: Any,
    parse_mode_field: str,
    entities_field: str,
    *,
    caption: bool = False,
) -> tuple[str, list[JSON]]:
    """Parse text or caption, enforcing Telegram's emptiness and length limits."""
    raw = "" if text is None else str(text)
    try:
        plain, entities = parse_text(
            raw,
            call.get(parse_mode_field),
            call.get(entities_field),
            strict_entities=call.core.config.strict_html_entities,
        )
    except EntityParseError as exc:
        raise bad_request(f"can't parse entities: {exc}") from None
    except ValueError:
        raise bad_request(f"unsupported parse_mode {call.get(parse_mode_field)!r}") from None
    if caption:
        if utf16_len(plain) > MAX_CAPTION_UTF16:
            raise bad_request("message caption is too long")
    else:
        if not plain:
            raise bad_request("message text is empty")
        if utf16_len(plain) > MAX_TEXT_UTF16:
            raise bad_request("message is too long")
    return plain, entities


def _reply_to(call: Call, chat: Chat) -> int | None:
    params = call.get("reply_parameters")
    if params is None:
        return None
    if not isinstance(params, dict) or not isinstance(params.get("message_id"), int):
        raise bad_request("can't parse reply parameters JSON object")
    target = chat.messages.get(params["message_id"])
    if target is None or target.deleted:
        if params.get("allow_sending_without_reply"):
            return None
        raise bad_request("message to be replied not found")
    return target.message_id


def _rate(call: Call, chat: Chat) -> None:
    if call.core.config.rate_limits:
        call.bot.rate.acquire(chat.id)


def _sent(chat: Chat, message: StoredMessage) -> JSON:
    chat.record("message", message=message.snapshot())
    return message.to_api(chat)


def _editable(call: Call) -> tuple[Chat, StoredMessage]:
    if call.get("inline_message_id") is not None:
        raise bad_request("MESSAGE_ID_INVALID")
    chat = _chat(call, for_sending=True)
    message_id = call.get("message_id")
    if message_id is None:
        raise bad_request("message identifier is not specified")
    message = chat.messages.get(message_id)
    if message is None or message.deleted:
        raise bad_request("message to edit not found")
    if message.sender != "bot":
        raise bad_request("message can't be edited")
    return chat, message


def _apply_edit(call: Call, chat: Chat, message: StoredMessage, **changes: Any) -> JSON:
    before = message.content_key()
    previous = {
        "text": message.text,
        "entities": message.entities,
        "caption": message.caption,
        "reply_markup": message.reply_markup,
        "edit_date": message.edit_date,
    }
    candidate = StoredMessage(
        message.message_id,
        message.sender,
        message.date,
        text=changes.get("text", message.text),
        entities=changes.get("entities", message.entities),
        caption=changes.get("caption", message.caption),
        caption_entities=changes.get("caption_entities", message.caption_entities),
        reply_markup=changes.get("reply_markup", message.reply_markup),
    )
    if candidate.content_key() == before:
        raise bad_request(NOT_MODIFIED)
    _rate(call, chat)
    message.history.append(previous)
    for key, value in changes.items():
        setattr(message, key, value)
    message.edit_date = call.core.now_ts()
    chat.record("edit", message=message.snapshot())
    return message.to_api(chat)


def _upload(call: Call, field_name: str) -> Upload | str | None:
    value = call.params.get(field_name)
    if isinstance(value, str) and value.startswith("attach://"):
        part = call.uploads.get(value[len("attach://") :])
        if part is None:
            raise bad_request(f"wrong HTTP URL specified: can't find attached file {value!r}")
        return part
    if field_name in call.uploads:
        return call.uploads[field_name]
    return value if isinstance(value, str) and value else None


def _existing_file(call: Call, reference: str, folder: str) -> StoredFile:
    if reference.lower().startswith(("http://", "https://")):
        raise bad_request(
            "failed to get HTTP URL content (the local emulator has no network access)"
        )
    stored = call.bot.files.get(reference)
    if stored is None:
        raise bad_request("wrong file identifier/HTTP URL specified")
    if not stored.file_path.startswith(folder + "/"):
        kind = "Photo" if folder == "photos" else "Document"
        actual = "Photo" if stored.file_path.startswith("photos/") else "Document"
        raise bad_request(f"can't use file of type {actual} as {kind}")
    return stored


# --------------------------------------------------------------------------------------------
# Methods


async def get_me(call: Call) -> JSON:
    """getMe."""
    return call.bot.get_me()


async def ok_true(call: Call) -> bool:
    """close / logOut: accepted, nothing to do locally."""
    return True


async def get_updates(call: Call) -> list[JSON]:
    """getUpdates with Telegram's offset confirmation, long polling and allowed_updates."""
    bot = call.bot
    if bot.webhook["url"]:
        raise CONFLICT_WEBHOOK
    offset = call.get("offset")
    limit = call.get("limit", 100)
    limit = min(max(int(limit), 1), 100)
    timeout = min(max(float(call.get("timeout", 0)), 0.0), call.core.config.max_poll_timeout)
    allowed = call.get("allowed_updates")
    if allowed is not None:
        if not isinstance(allowed, list) or not all(isinstance(a, str) for a in allowed):
            raise bad_request("can't parse allowed_updates JSON object")
        bot.set_allowed_updates(allowed)
    if offset is not None:
        offset = int(offset)
        if offset < 0:
            bot.updates = bot.updates[offset:] if -offset < len(bot.updates) else bot.updates
        else:
            bot.updates = [(uid, upd) for uid, upd in bot.updates if uid >= offset]
    bot.poll_generation += 1
    generation = bot.poll_generation
    bot.update_signal.fire()  # an older pending getUpdates must end with 409
    deadline = time.monotonic() + timeout
    while True:
        if bot.poll_generation != generation:
            raise CONFLICT_POLL
        if bot.updates:
            return [update for _uid, update in bot.updates[:limit]]
        remaining = deadline - time.monotonic()
        if remaining <= 0 or call.core.closing:
            return []
        await bot.update_signal.wait(remaining)


async def delete_webhook(call: Call) -> bool:
    """deleteWebhook (optionally dropping pending updates): delivery stops, getUpdates works."""
    bot = call.bot
    await _stop_delivery(bot)
    bot.webhook["url"] = ""
    bot.webhook.pop("secret_token", None)
    if call.get("drop_pending_updates"):
        bot.updates.clear()
    return True


async def _stop_delivery(bot: BotState) -> None:
    delivery, bot.delivery = bot.delivery, None
    if delivery is not None:
        await delivery.stop()


async def set_webhook(call: Call) -> bool:
    """setWebhook: validated, stored, and (to a loopback host) delivered as Telegram does —
    see :mod:`tgemu.webhook`. Plain HTTP only to a loopback host (the local Bot API server's
    rule); updates to any other host stay pending, the emulator never leaves the machine."""
    bot = call.bot
    url = str(call.get("url", "") or "")
    secret = call.get("secret_token")
    if secret is not None and not re.fullmatch(r"[A-Za-z0-9_-]{1,256}", str(secret)):
        raise bad_request("secret token contains unallowed characters")
    plain_local = url.lower().startswith("http://") and is_loopback_url(url)
    if url and not url.lower().startswith("https://") and not plain_local:
        raise bad_request("bad webhook: An HTTPS URL must be provided for webhook")
    max_connections = call.get("max_connections", 40)
    try:
        max_connections = int(max_connections)
    except (TypeError, ValueError):
        raise bad_request("bad webhook: max_connections must be a number") from None
    if not 1 <= max_connections <= 100:
        raise bad_request("bad webhook: max_connections must be between 1 and 100")
    allowed = call.get("allowed_updates")
    if allowed is not None:
        if not isinstance(allowed, list) or not all(isinstance(a, str) for a in allowed):
            raise bad_request("can't parse allowed_updates JSON object")
        # One filter for both ways of receiving (and "if not specified, the previous one").
        bot.set_allowed_updates(allowed)
    await _stop_delivery(bot)
    if call.get("drop_pending_updates"):
        bot.updates.clear()
    hook = bot.webhook
    if hook.get("url") != url:
        hook.pop("last_error_date", None)
        hook.pop("last_error_message", None)
    hook["url"] = url
    hook["allowed_updates"] = allowed if allowed is not None else hook.get("allowed_updates")
    hook["max_connections"] = max_connections
    hook["secret_token"] = str(secret) if secret else None
    if url:
        config = call.core.config
        bot.delivery = WebhookDelivery(
            bot,
            url=url,
            secret=hook["secret_token"],
            max_connections=max_connections,
            timeout=config.webhook_timeout,
            backoff=config.webhook_backoff,
            max_delay=config.webhook_max_delay,
        )
        bot.delivery.start()
    return True


async def get_webhook_info(call: Call) -> JSON:
    """getWebhookInfo: the URL, pending updates, the last delivery error."""
    return describe_webhook(call.bot)


_SCOPES = frozenset(
    {
        "default",
        "all_private_chats",
        "all_group_chats",
        "all_chat_administrators",
        "chat",
        "chat_administrators",
        "chat_member",
    }
)


def _command_key(call: Call) -> tuple[str, str]:
    scope = call.get("scope") or {"type": "default"}
    if not isinstance(scope, dict) or scope.get("type") not in _SCOPES:
        raise bad_request("can't parse BotCommandScope JSON object")
    language = call.get("language_code") or ""
    if language and not re.fullmatch(r"[a-z]{2}", str(language)):
        raise bad_request("invalid language code specified")
    return json.dumps(scope, sort_keys=True), str(language)


async def set_my_commands(call: Call) -> bool:
    """setMyCommands with Telegram's command syntax rules."""
    commands = call.get("commands")
    if not isinstance(commands, list):
        raise bad_request("can't parse commands JSON object")
    if len(commands) > 100:
        raise bad_request("BOT_COMMANDS_TOO_MUCH")
    checked: list[JSON] = []
    for item in commands:
        if not isinstance(item, dict):
            raise bad_request("can't parse BotCommand JSON object")
        command = str(item.get("command", "")).lstrip("/")
        description = str(item.get("description", ""))
        if not re.fullmatch(r"[a-z0-9_]{1,32}", command):
            raise bad_request("BOT_COMMAND_INVALID")
        if not 1 <= len(description.strip()) <= 256:
            raise bad_request("command description must be non-empty")
        checked.append({"command": command, "description": description})
    call.bot.commands[_command_key(call)] = checked
    return True


async def get_my_commands(call: Call) -> list[JSON]:
    """getMyCommands for exactly the given scope and language (no fallback, like Telegram)."""
    return list(call.bot.commands.get(_command_key(call), []))


async def delete_my_commands(call: Call) -> bool:
    """deleteMyCommands."""
    call.bot.commands.pop(_command_key(call), None)
    return True


def _description_setter(kind: str, limit: int) -> Handler:
    async def handler(call: Call) -> bool:
        value = str(call.get(kind) or "")
        if utf16_len(value) > limit:
            raise bad_request(f"{kind.replace('_', ' ')} is too long")
        call.bot.descriptions[(kind, str(call.get("language_code") or ""))] = value
        return True

    handler.__doc__ = f"set{kind}: stored per language."
    return handler


def _description_getter(kind: str) -> Handler:
    async def handler(call: Call) -> JSON:
        language = str(call.get("language_code") or "")
        value = call.bot.descriptions.get((kind, language))
        if value is None:
            value = call.bot.descriptions.get((kind, ""), "")
        if kind == "name" and not value:
            value = call.bot.first_name
        return {kind: value}

    handler.__doc__ = f"get{kind}: falls back to the default language."
    return handler


async def send_message(call: Call) -> JSON:
    """sendMessage."""
    chat = _chat(call)
    text, entities = _text(call, call.get("text"), "parse_mode", "entities")
    markup = validate_reply_markup(call.get("reply_markup"))
    reply_to = _reply_to(call, chat)
    _rate(call, chat)
    message = chat.new_message(
        "bot", text=text, entities=entities, reply_markup=markup, reply_to=reply_to
    )
    return _sent(chat, message)


async def edit_message_text(call: Call) -> JSON:
    """editMessageText; omitting reply_markup removes the inline keyboard, as in Telegram."""
    chat, message = _editable(call)
    if call.get("text") is None:
        raise bad_request("message text is empty")
    if message.text is None:
        raise bad_request("there is no text in the message to edit")
    text, entities = _text(call, call.get("text"), "parse_mode", "entities")
    markup = validate_reply_markup(call.get("reply_markup"), inline_only=True)
    return _apply_edit(call, chat, message, text=text, entities=entities, reply_markup=markup)


async def edit_message_caption(call: Call) -> JSON:
    """editMessageCaption."""
    chat, message = _editable(call)
    if message.photo is None and message.document is None:
        raise bad_request("there is no caption in the message to edit")
    caption, entities = _text(
        call, call.get("caption"), "parse_mode", "caption_entities", caption=True
    )
    markup = validate_reply_markup(call.get("reply_markup"), inline_only=True)
    return _apply_edit(
        call,
        chat,
        message,
        caption=caption or None,
        caption_entities=entities,
        reply_markup=markup,
    )


async def edit_message_reply_markup(call: Call) -> JSON:
    """editMessageReplyMarkup."""
    chat, message = _editable(call)
    markup = validate_reply_markup(call.get("reply_markup"), inline_only=True)
    return _apply_edit(call, chat, message, reply_markup=markup)


async def delete_message(call: Call) -> bool:
    """deleteMessage: either side's messages in a private chat, if sent less than 48 h ago
    (by the bot's clock when a sandbox attached one)."""
    chat = _chat(call, for_sending=False)
    message = chat.messages.get(call.get("message_id"))
    if message is None or message.deleted:
        raise bad_request("message to delete not found")
    if call.core.now_ts() - message.date > DELETE_WINDOW_SECONDS:
        raise bad_request("message can't be deleted")
    message.deleted = True
    chat.record("delete", message_id=message.message_id)
    return True


async def answer_callback_query(call: Call) -> bool:
    """answerCallbackQuery: each query once, within the timeout, toast ≤ 200 characters."""
    pending = call.bot.callbacks.get(str(call.get("callback_query_id")))
    too_old = (
        pending is not None
        and time.monotonic() - pending.created > call.core.config.callback_timeout
    )
    if pending is None or pending.answered or too_old:
        raise bad_request(QUERY_TOO_OLD)
    text = call.get("text")
    if text is not None and utf16_len(str(text)) > 200:
        raise bad_request("MESSAGE_TOO_LONG")
    pending.answered = True
    chat = call.bot.chats[pending.chat_id]
    chat.record(
        "callback_answer",
        callback_id=pending.id,
        message_id=pending.message_id,
        text=text,
        show_alert=bool(call.get("show_alert", False)),
        url=call.get("url"),
    )
    return True


async def send_photo(call: Call) -> JSON:
    """sendPhoto: uploads must be real images within Telegram's size and ratio limits."""
    chat = _chat(call)
    source = _upload(call, "photo")
    if source is None:
        raise bad_request("there is no photo in the request")
    caption, caption_entities = _text(
        call, call.get("caption"), "parse_mode", "caption_entities", caption=True
    )
    markup = validate_reply_markup(call.get("reply_markup"))
    reply_to = _reply_to(call, chat)
    if isinstance(source, str):
        stored = _existing_file(call, source, "photos")
        size = image_size(stored.data)
        if size is None:
            raise bad_request("IMAGE_PROCESS_FAILED")
    else:
        if len(source.data) > call.core.config.photo_max_bytes:
            raise bad_request("file is too big")
        size = image_size(source.data)
        if size is None:
            raise bad_request("IMAGE_PROCESS_FAILED")
        width, height = size
        if width + height > 10000 or max(width, height) > 20 * max(1, min(width, height)):
            raise bad_request("PHOTO_INVALID_DIMENSIONS")
        _rate(call, chat)
        stored = call.bot.store_file(
            source.data, folder="photos", extension="jpg", mime="image/jpeg", name=None
        )
    if isinstance(source, str):
        _rate(call, chat)
    width, height = size
    sizes: list[JSON] = []
    if max(width, height) > 320:
        scale = 320 / max(width, height)
        sizes.append(
            {
                "file_id": stored.file_id + "_s",
                "file_unique_id": stored.file_unique_id + "s",
                "width": max(1, round(width * scale)),
                "height": max(1, round(height * scale)),
                "file_size": stored.size,
            }
        )
        call.bot.files.setdefault(stored.file_id + "_s", stored)
    sizes.append(
        {
            "file_id": stored.file_id,
            "file_unique_id": stored.file_unique_id,
            "width": width,
            "height": height,
            "file_size": stored.size,
        }
    )
    message = chat.new_message(
        "bot",
        photo=sizes,
        caption=caption or None,
        caption_entities=caption_entities,
        reply_markup=markup,
        reply_to=reply_to,
    )
    return _sent(chat, message)


async def send_document(call: Call) -> JSON:
    """sendDocument: ≤ 50 MB uploads, or a file_id the bot already knows."""
    chat = _chat(call)
    source = _upload(call, "document")
    if source is None:
        raise bad_request("there is no document in the request")
    caption, caption_entities = _text(
        call, call.get("caption"), "parse_mode", "caption_entities", caption=True
    )
    markup = validate_reply_markup(call.get("reply_markup"))
    reply_to = _reply_to(call, chat)
    if isinstance(source, str):
        stored = _existing_file(call, source, "documents")
        _rate(call, chat)
    else:
        if not source.data:
            raise bad_request("file must be non-empty")
        if len(source.data) > call.core.config.document_max_bytes:
            raise bad_request("file is too big")
        _rate(call, chat)
        name = source.filename or "document"
        mime = (
            source.content_type
            if source.content_type and source.content_type != "application/octet-stream"
            else mimetypes.guess_type(name)[0]
        ) or "application/octet-stream"
        extension = name.rsplit(".", 1)[-1] if "." in name else "bin"
        stored = call.bot.store_file(
            source.data, folder="documents", extension=extension, mime=mime, name=name
        )
    document: JSON = {
        "file_id": stored.file_id,
        "file_unique_id": stored.file_unique_id,
        "file_size": stored.size,
    }
    if stored.file_name:
        document["file_name"] = stored.file_name
    if stored.mime_type:
        document["mime_type"] = stored.mime_type
    message = chat.new_message(
        "bot",
        document=document,
        caption=caption or None,
        caption_entities=caption_entities,
        reply_markup=markup,
        reply_to=reply_to,
    )
    return _sent(chat, message)


async def get_file(call: Call) -> JSON:
    """getFile: bots may download files up to 20 MB."""
    stored = call.bot.files.get(str(call.get("file_id")))
    if stored is None:
        raise bad_request("invalid file_id")
    if stored.size > call.core.config.download_max_bytes:
        raise bad_request("file is too big")
    return {
        "file_id": str(call.get("file_id")),
        "file_unique_id": stored.file_unique_id,
        "file_size": stored.size,
        "file_path": stored.file_path,
    }


async def send_chat_action(call: Call) -> bool:
    """sendChatAction ("typing..." and friends)."""
    chat = _chat(call)
    action = call.get("action")
    if action not in CHAT_ACTIONS:
        raise bad_request("wrong parameter action in request")
    chat.record("chat_action", action=action)
    return True


async def get_chat(call: Call) -> JSON:
    """getChat for a private chat (ChatFullInfo with the fields PTB requires)."""
    chat = _chat(call, for_sending=False)
    info = chat.user.chat_api()
    info.update(
        {
            "accent_color_id": 0,
            "max_reaction_count": 11,
            "accepted_gift_types": {
                "unlimited_gifts": False,
                "limited_gifts": False,
                "unique_gifts": False,
                "premium_subscription": False,
                "gifts_from_channels": False,
            },
        }
    )
    return info


HANDLERS: dict[str, Handler] = {
    "getMe": get_me,
    "logOut": ok_true,
    "close": ok_true,
    "getUpdates": get_updates,
    "deleteWebhook": delete_webhook,
    "setWebhook": set_webhook,
    "getWebhookInfo": get_webhook_info,
    "setMyCommands": set_my_commands,
    "getMyCommands": get_my_commands,
    "deleteMyCommands": delete_my_commands,
    "setMyDescription": _description_setter("description", 512),
    "getMyDescription": _description_getter("description"),
    "setMyShortDescription": _description_setter("short_description", 120),
    "getMyShortDescription": _description_getter("short_description"),
    "setMyName": _description_setter("name", 64),
    "getMyName": _description_getter("name"),
    "sendMessage": send_message,
    "editMessageText": edit_message_text,
    "editMessageCaption": edit_message_caption,
    "editMessageReplyMarkup": edit_message_reply_markup,
    "deleteMessage": delete_message,
    "answerCallbackQuery": answer_callback_query,
    "sendPhoto": send_photo,
    "sendDocument": send_document,
    "getFile": get_file,
    "sendChatAction": send_chat_action,
    "getChat": get_chat,
}
