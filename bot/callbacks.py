"""Callback data: one codec, one registry of prefixes.

Telegram hands back whatever a button carried, and anyone can forge it (a modified client sends
any 1–64 bytes). So no handler splits ``query.data`` itself: each kind of button is a
:class:`Route` declared once (a short prefix and typed fields), :meth:`Route.data` builds the
string, and :func:`decode` gives back typed values or ``None``. Decoding is strict: ASCII digits
only (``str.isdigit`` accepts ``²`` and ``٣``), bounded numbers (SQLite integers are 64-bit), the
exact number of fields, values from a fixed set. What does not decode is a stale or forged
button, answered as such by the router; it never reaches a handler or the database.

Authorisation is not the codec's job: a decoded case id is only a claim, and the handler loads
the case with the presser as viewer.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

#: Telegram's limit for callback_data, in bytes.
MAX_BYTES = 64
SEP = ":"
#: Ids are SQLite rowids or Telegram ids: positive and well inside 64 bits.
MAX_ID = 2**53
_DIGITS = re.compile(r"0|[1-9][0-9]{0,15}")
_PREFIX = re.compile(r"[a-z][a-z0-9]{0,5}(\.[a-z0-9]{1,6})?")


class CallbackDataError(ValueError):
    """A button that cannot be built: a programming error, caught by tests."""


@dataclass(frozen=True, slots=True)
class Slot:
    """An id the storage fills in inside the transaction that creates it: the buttons of an
    outbox row written beside a new approval carry that approval's id (``{approval_id}``,
    see :data:`bot.storage.APPROVAL_ID`). Only for :class:`Int` fields; the length check
    counts it as the longest id."""

    text: str


class Field:
    """One typed part of callback data."""

    def encode(self, value: Any) -> str:  # pragma: no cover - interface
        raise NotImplementedError

    def decode(self, text: str) -> Any:
        """The value, or raise ``ValueError``."""
        raise NotImplementedError  # pragma: no cover - interface


@dataclass(frozen=True, slots=True)
class Int(Field):
    """A non-negative integer written in ASCII digits, at most ``maximum``."""

    maximum: int = MAX_ID

    def encode(self, value: Any) -> str:
        if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value <= self.maximum:
            raise CallbackDataError(f"{value!r} is not an integer in 0..{self.maximum}")
        return str(value)

    def decode(self, text: str) -> int:
        if not _DIGITS.fullmatch(text):
            raise ValueError(text)
        value = int(text)
        if value > self.maximum:
            raise ValueError(text)
        return value


@dataclass(frozen=True, slots=True)
class Choice(Field):
    """One of a fixed set of short ASCII words."""

    values: tuple[str, ...]

    def encode(self, value: Any) -> str:
        if value not in self.values:
            raise CallbackDataError(f"{value!r} is not one of {self.values}")
        return str(value)

    def decode(self, text: str) -> str:
        if text not in self.values:
            raise ValueError(text)
        return text


@dataclass(frozen=True, slots=True)
class Route:
    """A kind of button: ``prefix`` then one value per field, joined by ``:``."""

    prefix: str
    fields: tuple[Field, ...]

    def data(self, *values: Any) -> str:
        """The callback data for these values (raises if they do not fit)."""
        if len(values) != len(self.fields):
            raise CallbackDataError(f"{self.prefix}: {len(self.fields)} values, got {len(values)}")
        parts, widest = [self.prefix], [self.prefix]
        for f, v in zip(self.fields, values, strict=True):
            if isinstance(v, Slot):
                if not isinstance(f, Int):
                    raise CallbackDataError(f"{self.prefix}: a slot stands only for an id")
                parts.append(v.text)
                widest.append(str(f.maximum))
            else:
                parts.append(f.encode(v))
                widest.append(parts[-1])
        text = SEP.join(parts)
        if len(SEP.join(widest).encode()) > MAX_BYTES:
            raise CallbackDataError(f"{text!r} is longer than {MAX_BYTES} bytes")
        return text

    def matches(self, data: object) -> bool:
        """For PTB's ``CallbackQueryHandler(pattern=...)``: is this button of this route?"""
        return isinstance(data, str) and data.split(SEP, 1)[0] == self.prefix

    def decode(self, data: str) -> tuple[Any, ...] | None:
        """The typed values, or ``None`` for anything malformed."""
        parts = data.split(SEP)
        if parts[0] != self.prefix or len(parts) != len(self.fields) + 1:
            return None
        try:
            return tuple(f.decode(p) for f, p in zip(self.fields, parts[1:], strict=True))
        except ValueError:
            return None


_ROUTES: dict[str, Route] = {}


def route(prefix: str, *fields: Field) -> Route:
    """Declare a kind of button; each prefix exists once in the whole bot."""
    if not _PREFIX.fullmatch(prefix):
        raise CallbackDataError(f"bad prefix {prefix!r}")
    if prefix in _ROUTES:
        raise CallbackDataError(f"prefix {prefix!r} is declared twice")
    declared = Route(prefix, tuple(fields))
    _ROUTES[prefix] = declared
    return declared


def routes() -> Sequence[Route]:
    """Every declared route (tests check that each has a handler)."""
    return tuple(_ROUTES.values())


def decode(data: str | None) -> tuple[Route, tuple[Any, ...]] | None:
    """Find the route of ``data`` and decode it; ``None`` when it is not a valid button."""
    if not data or len(data.encode()) > MAX_BYTES:
        return None
    found = _ROUTES.get(data.split(SEP, 1)[0])
    if found is None:
        return None
    values = found.decode(data)
    return None if values is None else (found, values)
